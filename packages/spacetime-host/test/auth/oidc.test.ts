import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthReason,
  OIDC_KEYS_EXPIRE_AFTER_MS,
  OIDC_KEYS_REFRESH_AFTER_MS,
  OIDC_REFETCH_COOLDOWN_MS,
  TokenAuthority,
  identityFromIssuerSubject,
  loadOrCreateSigningKey,
  type SigningKey,
} from '../../src/auth';
import { LocalOidcIssuer, makeIssuerKey, type IssuerSigningKey } from './local-oidc-issuer';

const START_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const START_S = START_MS / 1000;

let hostKey: SigningKey;
let ecKey: IssuerSigningKey;
let rsaKey: IssuerSigningKey;
let rotatedKey: IssuerSigningKey;
let unpublishedKey: IssuerSigningKey;
beforeAll(async () => {
  hostKey = await loadOrCreateSigningKey();
  [ecKey, rsaKey, rotatedKey, unpublishedKey] = await Promise.all([
    makeIssuerKey('ES256', 'ec-1'),
    makeIssuerKey('RS256', 'rsa-1'),
    makeIssuerKey('ES256', 'ec-2'),
    makeIssuerKey('ES256', 'ec-1'), // same kid as ecKey, different key material
  ]);
});

let issuer: LocalOidcIssuer;
const clock = { ms: START_MS };
beforeEach(async () => {
  issuer = await LocalOidcIssuer.start();
  issuer.published = [ecKey, rsaKey];
  clock.ms = START_MS;
});
afterEach(async () => {
  await issuer.close();
});

function authorityTrusting(...trustedIssuers: string[]): TokenAuthority {
  return new TokenAuthority({ signingKey: hostKey, trustedIssuers, now: () => clock.ms });
}

const userClaims = { sub: 'user-42', iat: START_S, email: 'user42@example.com' };

describe('validate: OIDC issuers (spec §3.4)', () => {
  it('accepts a token whose kid is in the JWKS, with identity from (iss, sub) and extra claims kept', async () => {
    const authority = authorityTrusting(issuer.url);
    for (const key of [ecKey, rsaKey]) {
      const result = await authority.validate(await issuer.sign(key, userClaims));
      expect(result, `signed with ${key.alg}`).toMatchObject({
        ok: true,
        identity: identityFromIssuerSubject(issuer.url, 'user-42'),
        claims: { ...userClaims, iss: issuer.url },
      });
    }
  });

  it('trusts an issuer configured with a trailing slash', async () => {
    const authority = authorityTrusting(`${issuer.url}/`);
    expect((await authority.validate(await issuer.sign(ecKey, userClaims))).ok).toBe(true);
  });

  it('applies the claim rules to OIDC tokens too', async () => {
    const authority = authorityTrusting(issuer.url);
    const { iat: _iat, ...withoutIat } = userClaims;
    expect(await authority.validate(await issuer.sign(ecKey, withoutIat))).toMatchObject({ ok: false, status: 401, reason: AuthReason.missingIssuedAt });
    const expired = await issuer.sign(ecKey, { ...userClaims, exp: START_S - 61 });
    expect(await authority.validate(expired)).toMatchObject({ ok: false, status: 401, reason: AuthReason.expired });
  });

  it('rejects a token whose kid names a key with other key material', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(unpublishedKey, userClaims);
    expect(await authority.validate(token)).toMatchObject({ ok: false, status: 401, reason: AuthReason.invalidSignature });
  });

  it('on an unknown kid refetches the JWKS once (after the cooldown) and accepts the rotated key', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(rotatedKey, userClaims);

    // Just fetched and the kid is not there: no refetch within the cooldown.
    expect(await authority.validate(token)).toMatchObject({ ok: false, status: 401, reason: AuthReason.keyIdNotFound });
    expect(issuer.hits).toEqual({ discovery: 1, jwks: 1 });

    issuer.published = [ecKey, rotatedKey];
    clock.ms += OIDC_REFETCH_COOLDOWN_MS;
    const afterRotation = await authority.validate(token);
    expect(afterRotation).toMatchObject({ ok: true, identity: identityFromIssuerSubject(issuer.url, 'user-42') });
    expect(issuer.hits).toEqual({ discovery: 2, jwks: 2 });

    // A kid that stays unknown costs at most one refetch per cooldown.
    const stillUnknown = await issuer.sign({ ...rotatedKey, kid: 'never-published' }, userClaims);
    expect(await authority.validate(stillUnknown)).toMatchObject({ reason: AuthReason.keyIdNotFound });
    expect(await authority.validate(stillUnknown)).toMatchObject({ reason: AuthReason.keyIdNotFound });
    expect(issuer.hits).toEqual({ discovery: 2, jwks: 2 });
  });

  it('without a kid tries every published key', async () => {
    const authority = authorityTrusting(issuer.url);
    issuer.published = [rsaKey, ecKey, rotatedKey];
    const signedByLastKey = await issuer.sign(rotatedKey, userClaims, false);
    expect(await authority.validate(signedByLastKey)).toMatchObject({ ok: true, claims: { sub: 'user-42' } });
    const signedByUnpublished = await issuer.sign(unpublishedKey, userClaims, false);
    expect(await authority.validate(signedByUnpublished)).toMatchObject({ ok: false, status: 401, reason: AuthReason.invalidSignature });
  });

  it('rejects a token whose iss differs from the issuer named by discovery', async () => {
    issuer.advertisedIssuer = 'https://someone-else.example';
    const authority = authorityTrusting(issuer.url);
    const result = await authority.validate(await issuer.sign(ecKey, userClaims));
    expect(result).toMatchObject({ ok: false, status: 401, reason: AuthReason.issuerMismatch });
    expect(result.ok ? '' : result.detail).toContain('https://someone-else.example');
  });

  it('rejects a token claiming the local issuer even when signed by a trusted issuer key', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(ecKey, { ...userClaims, iss: 'localhost' });
    expect(await authority.validate(token)).toMatchObject({ ok: false, status: 401, reason: AuthReason.notSignedLocally });
    expect(issuer.hits).toEqual({ discovery: 0, jwks: 0 });
  });

  it('refuses HMAC tokens for OIDC issuers', async () => {
    const authority = authorityTrusting(issuer.url);
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ ...userClaims, iss: issuer.url })).toString('base64url');
    expect(await authority.validate(`${header}.${payload}.c2lnbmF0dXJl`)).toMatchObject({
      ok: false,
      status: 401,
      reason: AuthReason.unsupportedAlgorithm,
    });
  });

  it('reports an unreachable issuer', async () => {
    issuer.failWithStatus = 503;
    const authority = authorityTrusting(issuer.url);
    const result = await authority.validate(await issuer.sign(ecKey, userClaims));
    expect(result).toMatchObject({ ok: false, status: 401, reason: AuthReason.issuerUnreachable });
    expect(result.ok ? '' : result.detail).toContain('HTTP 503');
  });

  it('websocketToken of OIDC claims validates locally to the same identity without contacting the issuer again', async () => {
    const authority = authorityTrusting(issuer.url);
    const longLived = await authority.validate(await issuer.sign(ecKey, userClaims));
    if (!longLived.ok) throw new Error(`OIDC token rejected: ${longLived.reason}`);
    const hitsBefore = { ...issuer.hits };

    const onSocket = await authority.validate(await authority.websocketToken(longLived.claims));
    expect(onSocket).toMatchObject({ ok: true, identity: longLived.identity, claims: { iss: issuer.url, email: 'user42@example.com' } });
    expect(issuer.hits).toEqual(hitsBefore);
  });
});

describe('OIDC key caching', () => {
  it('fetches discovery and JWKS once for many validations, including concurrent ones', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(ecKey, userClaims);
    const results = await Promise.all(Array.from({ length: 5 }, () => authority.validate(token)));
    expect(results.every((result) => result.ok)).toBe(true);
    clock.ms += OIDC_KEYS_REFRESH_AFTER_MS - 1;
    expect((await authority.validate(token)).ok).toBe(true);
    expect(issuer.hits).toEqual({ discovery: 1, jwks: 1 });
  });

  it('refreshes after 5 minutes', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(ecKey, userClaims);
    await authority.validate(token);
    clock.ms += OIDC_KEYS_REFRESH_AFTER_MS;
    expect((await authority.validate(token)).ok).toBe(true);
    expect(issuer.hits).toEqual({ discovery: 2, jwks: 2 });

    // A key removed from the JWKS stops working once the cache refreshes.
    issuer.published = [rsaKey];
    expect((await authority.validate(token)).ok).toBe(true);
    clock.ms += OIDC_KEYS_REFRESH_AFTER_MS;
    expect(await authority.validate(token)).toMatchObject({ ok: false, reason: AuthReason.keyIdNotFound });
  });

  it('keeps using stale keys while the issuer is down, until they expire after 2 hours', async () => {
    const authority = authorityTrusting(issuer.url);
    const token = await issuer.sign(ecKey, userClaims);
    await authority.validate(token);

    issuer.failWithStatus = 500;
    clock.ms = START_MS + OIDC_KEYS_REFRESH_AFTER_MS + 1;
    expect((await authority.validate(token)).ok).toBe(true);
    clock.ms = START_MS + OIDC_KEYS_EXPIRE_AFTER_MS - 1;
    expect((await authority.validate(token)).ok).toBe(true);
    clock.ms = START_MS + OIDC_KEYS_EXPIRE_AFTER_MS;
    // Far past the token's iat is fine: without exp it does not expire.
    expect(await authority.validate(token)).toMatchObject({ ok: false, status: 401, reason: AuthReason.issuerUnreachable });

    issuer.failWithStatus = undefined;
    expect((await authority.validate(token)).ok).toBe(true);
  });

  it('keeps separate caches per issuer', async () => {
    const second = await LocalOidcIssuer.start();
    try {
      second.published = [rotatedKey];
      const authority = authorityTrusting(issuer.url, second.url);
      expect((await authority.validate(await issuer.sign(ecKey, userClaims))).ok).toBe(true);
      expect((await authority.validate(await second.sign(rotatedKey, userClaims))).ok).toBe(true);
      // The first issuer's key is not valid for the second issuer.
      expect(await authority.validate(await second.sign(ecKey, userClaims))).toMatchObject({ ok: false, reason: AuthReason.keyIdNotFound });
      expect(issuer.hits).toEqual({ discovery: 1, jwks: 1 });
      expect(second.hits).toEqual({ discovery: 1, jwks: 1 });
    } finally {
      await second.close();
    }
  });
});
