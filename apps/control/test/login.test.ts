// Login end to end against a running control: the claims minted, NIP-98 checks (URL, method, payload,
// freshness, replay), the clock skew on bearer tokens, and sessions (refresh, revoke).
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spacetimeIdentityHex, USER_SCOPES, type LoginResponse } from '../src/index';
import { JSON_TYPE, errorCodeOf, login, newUser, nip98Header, startTestService, type TestService } from './helpers';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({
    config: { org: 'acme', transport: { nostrFallbackAllowed: true, relays: ['wss://relay.example.com'] } },
  });
});
afterAll(async () => {
  await service.control.close();
});

describe('successful login', () => {
  it('answers a token whose claims describe the pubkey, device, session and scopes', async () => {
    const user = newUser();
    const response = await login(service, user, { device_id: 'laptop-1' });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as LoginResponse;
    const now = service.clock.seconds();

    expect(service.control.issuer).toBe(service.control.url);
    expect(answer.expires_at).toBe(now + 900);
    // One identity per session: sub is '<pubkey>:<session_id>', the pubkey is in nostr_pubkey.
    expect(answer.identity).toBe(spacetimeIdentityHex(service.control.issuer, `${user.pubkey}:${answer.session_id}`));
    expect(answer.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.claims).toEqual({
      iss: service.control.issuer,
      sub: `${user.pubkey}:${answer.session_id}`,
      aud: ['spacetimedb'],
      iat: now,
      nbf: now,
      exp: now + 900,
      hex_identity: answer.identity,
      nostr_pubkey: user.pubkey,
      device_id: 'laptop-1',
      session_id: answer.session_id,
      org: 'acme',
      scopes: [...USER_SCOPES],
      control_exp: now + 900,
    });
  });

  it('signs an ES256 JWT that verifies through the served discovery document and JWKS', async () => {
    const answer = (await (await login(service, newUser())).json()) as LoginResponse;

    const discovery = (await (await fetch(`${service.control.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(service.control.issuer);
    expect(discovery.jwks_uri).toBe(`${service.control.url}/.well-known/jwks.json`);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256']);

    const header = decodeProtectedHeader(answer.token);
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: { kid: string; kty: string; crv: string; d?: string }[] };
    expect(header).toEqual({ alg: 'ES256', kid: jwks.keys[0]?.kid, typ: 'JWT' });
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.d, 'the JWKS must never publish the private part').toBeUndefined();

    const { payload } = await jwtVerify(answer.token, createRemoteJWKSet(new URL(discovery.jwks_uri as string)), {
      issuer: service.control.issuer,
      audience: 'spacetimedb',
      algorithms: ['ES256'],
      currentDate: new Date(service.clock.now()),
    });
    expect(payload).toEqual(answer.claims);
  });

  it('serves the transport policy to a bearer of a minted token, and refuses others', async () => {
    const answer = (await (await login(service, newUser())).json()) as LoginResponse;
    const policyUrl = `${service.control.url}/v1/policy/transport`;

    const allowed = await fetch(policyUrl, { headers: { Authorization: `Bearer ${answer.token}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({
      primary: 'spacetime',
      nostr: { fallbackAllowed: true, mirrorAllowed: false, relays: ['wss://relay.example.com'] },
    });

    const anonymous = await fetch(policyUrl);
    expect(anonymous.status).toBe(401);
    expect(await errorCodeOf(anonymous)).toBe('missing_authorization');

    const [head, payload] = answer.token.split('.');
    const forged = `${head}.${payload}.${'A'.repeat(86)}`;
    const forgedResponse = await fetch(policyUrl, { headers: { Authorization: `Bearer ${forged}` } });
    expect(forgedResponse.status).toBe(401);
    expect(await errorCodeOf(forgedResponse)).toBe('invalid_token');
  });

  it('dates tokens with nbf = iat, and refuses tokens dated beyond the 30 s clock skew', async () => {
    // Mint at a clock 31 s ahead (as a control with a fast clock would), then verify at the real time.
    service.clock.advanceSeconds(31);
    const ahead = (await (await login(service, newUser())).json()) as LoginResponse;
    service.clock.advanceSeconds(-31);
    expect(ahead.claims.nbf).toBe(ahead.claims.iat);
    const policyUrl = `${service.control.url}/v1/policy/transport`;
    const refused = await fetch(policyUrl, { headers: { Authorization: `Bearer ${ahead.token}` } });
    expect(refused.status).toBe(401);
    expect(await errorCodeOf(refused)).toBe('token_not_yet_valid');

    // 30 s ahead is within the skew and accepted.
    service.clock.advanceSeconds(30);
    const withinSkew = (await (await login(service, newUser())).json()) as LoginResponse;
    service.clock.advanceSeconds(-30);
    expect((await fetch(policyUrl, { headers: { Authorization: `Bearer ${withinSkew.token}` } })).status).toBe(200);
  });

  it('refuses an expired bearer token with token_expired', async () => {
    const answer = (await (await login(service, newUser())).json()) as LoginResponse;
    service.clock.advanceSeconds(901);
    try {
      const response = await fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${answer.token}` } });
      expect(response.status).toBe(401);
      expect(await errorCodeOf(response)).toBe('token_expired');
    } finally {
      service.clock.advanceSeconds(-901);
    }
  });
});

describe('NIP-98 checks', () => {
  it('refuses a login without Authorization', async () => {
    const response = await fetch(service.tokenUrl, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ device_id: 'd' }) });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'missing_authorization', message: expect.any(String) } });
  });

  it('refuses an Authorization that is not a Nostr event', async () => {
    for (const authorization of ['Bearer abc', 'Nostr !!!', `Nostr ${Buffer.from('{"kind":27235}').toString('base64')}`]) {
      const response = await fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: authorization, ...JSON_TYPE }, body: '{}' });
      expect(response.status, `Authorization: ${authorization}`).toBe(401);
      expect(await errorCodeOf(response), `Authorization: ${authorization}`).toBe('bad_nip98');
    }
  });

  it('refuses an event signed for another URL', async () => {
    const response = await login(service, newUser(), { device_id: 'd' }, { signedUrl: `${service.control.url}/v1/auth/other` });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('url_mismatch');
  });

  it('refuses an event signed for another method', async () => {
    const response = await login(service, newUser(), { device_id: 'd' }, { signedMethod: 'GET' });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('method_mismatch');
  });

  it('refuses events more than 60 s old or in the future, and accepts them at the edge of the window', async () => {
    const now = service.clock.seconds();
    for (const createdAt of [now - 61, now + 61]) {
      const response = await login(service, newUser(), { device_id: 'd' }, { createdAt });
      expect(response.status, `created_at = now ${createdAt - now}`).toBe(401);
      expect(await errorCodeOf(response), `created_at = now ${createdAt - now}`).toBe('stale_event');
    }
    for (const createdAt of [now - 60, now + 60]) {
      const response = await login(service, newUser(), { device_id: 'd' }, { createdAt });
      expect(response.status, `created_at = now ${createdAt - now}`).toBe(200);
    }
  });

  it('refuses a body that differs from the signed payload hash', async () => {
    const response = await login(service, newUser(), { device_id: 'd' }, { sentBody: JSON.stringify({ device_id: 'other' }) });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('payload_mismatch');
  });

  it('refuses a body sent without a payload tag', async () => {
    const authorization = nip98Header(newUser(), { url: service.tokenUrl, createdAt: service.clock.seconds() });
    const response = await fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: authorization, ...JSON_TYPE }, body: '{"device_id":"d"}' });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('payload_mismatch');
  });

  it('refuses an event whose signature does not match its content', async () => {
    const body = JSON.stringify({ device_id: 'd' });
    const signed = nip98Header(newUser(), { url: service.tokenUrl, payloadOf: body, createdAt: service.clock.seconds() });
    const event = JSON.parse(Buffer.from(signed.slice('Nostr '.length), 'base64').toString()) as { pubkey: string };
    // Claim to be someone else while keeping the original signature.
    event.pubkey = newUser().pubkey;
    const forged = `Nostr ${Buffer.from(JSON.stringify(event)).toString('base64')}`;
    const response = await fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: forged, ...JSON_TYPE }, body });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('bad_signature');
  });

  it('accepts each signed event once only', async () => {
    const body = JSON.stringify({ device_id: 'd' });
    const authorization = nip98Header(newUser(), { url: service.tokenUrl, payloadOf: body, createdAt: service.clock.seconds() });
    const send = () => fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: authorization, ...JSON_TYPE }, body });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(await errorCodeOf(replay)).toBe('replayed_event');
  });

  it('still refuses a header replayed seconds later, while it is inside the freshness window', async () => {
    const body = JSON.stringify({ device_id: 'd' });
    const authorization = nip98Header(newUser(), { url: service.tokenUrl, payloadOf: body, createdAt: service.clock.seconds() });
    const send = () => fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: authorization, ...JSON_TYPE }, body });
    expect((await send()).status).toBe(200);
    let elapsed = 0;
    for (const later of [3, 20, 59]) {
      service.clock.advanceSeconds(later - elapsed);
      elapsed = later;
      const replay = await send();
      expect(replay.status, `replayed ${later} s later`).toBe(401);
      expect(await errorCodeOf(replay), `replayed ${later} s later`).toBe('replayed_event');
    }
    // Past the window the freshness check refuses it instead, so forgetting the id is safe.
    service.clock.advanceSeconds(2);
    const stale = await send();
    expect(await errorCodeOf(stale)).toBe('stale_event');
  });

  it('refuses a malformed login body with bad_request', async () => {
    for (const body of [{}, { device_id: '' }, { device_id: 'd', scopes: 'world:join' }, { device_id: 'd', extra: 1 }]) {
      const response = await login(service, newUser(), body);
      expect(response.status, `body ${JSON.stringify(body)}`).toBe(400);
      expect(await errorCodeOf(response), `body ${JSON.stringify(body)}`).toBe('bad_request');
    }
  });
});

describe('sessions', () => {
  it('refreshes a session for the same pubkey and device, and refuses it after revoke', async () => {
    const user = newUser();
    const first = (await (await login(service, user, { device_id: 'laptop-1' })).json()) as LoginResponse;

    service.clock.advanceSeconds(5);
    const refreshed = await login(service, user, { device_id: 'laptop-1', session_id: first.session_id });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as LoginResponse;
    expect(second.session_id).toBe(first.session_id);
    // The same session keeps its connection identity across refreshes.
    expect(second.identity).toBe(first.identity);
    expect(second.claims.iat).toBe(first.claims.iat + 5);

    const otherDevice = await login(service, user, { device_id: 'laptop-2', session_id: first.session_id });
    expect(otherDevice.status).toBe(401);
    expect(await errorCodeOf(otherDevice)).toBe('session_unknown');
    const otherUser = await login(service, newUser(), { device_id: 'laptop-1', session_id: first.session_id });
    expect(otherUser.status).toBe(401);
    expect(await errorCodeOf(otherUser)).toBe('session_unknown');

    const revoke = await fetch(`${service.control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${second.token}` } });
    expect(revoke.status).toBe(204);

    // Same pubkey, body and second as the refresh above would be the same event id, i.e. a replay.
    service.clock.advanceSeconds(1);
    const afterRevoke = await login(service, user, { device_id: 'laptop-1', session_id: first.session_id });
    expect(afterRevoke.status).toBe(401);
    expect(await errorCodeOf(afterRevoke)).toBe('session_revoked');
    const policy = await fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${first.token}` } });
    expect(policy.status).toBe(401);
    expect(await errorCodeOf(policy)).toBe('session_revoked');

    const fresh = await login(service, user, { device_id: 'laptop-1' });
    expect(fresh.status).toBe(200);
    const freshAnswer = (await fresh.json()) as LoginResponse;
    expect(freshAnswer.session_id).not.toBe(first.session_id);
    // A new session is a new identity (so a revoked session's identity stays refused), same pubkey.
    expect(freshAnswer.identity).not.toBe(first.identity);
    expect(freshAnswer.claims.nostr_pubkey).toBe(first.claims.nostr_pubkey);
  });

  it('answers session_unknown for a session id it never issued', async () => {
    const response = await login(service, newUser(), { device_id: 'd', session_id: '00000000-0000-4000-8000-000000000000' });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('session_unknown');
  });

  it('refuses revoke without a valid token', async () => {
    const response = await fetch(`${service.control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: 'Bearer not.a.token' } });
    expect(response.status).toBe(401);
    expect(await errorCodeOf(response)).toBe('invalid_token');
  });
});
