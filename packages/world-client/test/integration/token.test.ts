// ControlTokenSource against the real control service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startControl, type ControlHandle } from '@autopilot/control';
import { createNip98AuthHeader, deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import { ControlTokenSource, signerFromPrivateKey } from '../../src/index';

const silent = pino({ level: 'silent' });
let control: ControlHandle;

beforeAll(async () => {
  control = await startControl({
    port: 0,
    logger: silent,
    config: { org: 'acme', transport: { nostrFallbackAllowed: true, relays: ['wss://relay.example.com'] } },
  });
});
afterAll(async () => {
  await control?.close();
});

function source(options: { controlUrl?: string; clock?: { now(): number }; scopes?: string[] } = {}) {
  const identity = deriveIdentity(generateMnemonic());
  const tokens = new ControlTokenSource({
    controlUrl: options.controlUrl ?? control.url,
    signer: signerFromPrivateKey(identity),
    deviceId: 'laptop-1',
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.scopes ? { scopes: options.scopes } : {}),
  });
  return { tokens, identity };
}

describe('ControlTokenSource', () => {
  it('logs in with NIP-98 and keeps the token until it is due for refresh', async () => {
    const { tokens, identity } = source({ scopes: ['world:join', 'comms:write'] });
    const before = Date.now();
    const first = await tokens.token();
    if (!first.ok) throw new Error(first.message);
    expect(first.token).toMatchObject({ pubkey: identity.publicKeyHex, deviceId: 'laptop-1', scopes: ['world:join', 'comms:write'] });
    expect(first.token.identity).toMatch(/^[0-9a-f]{64}$/);
    // 900 s from when it was minted (exp is whole seconds), however long the login took.
    expect(first.token.expiresAtMs).toBeGreaterThanOrEqual(before - 1_000 + 900_000);
    expect(tokens.refreshAt(first.token)).toBe(first.token.expiresAtMs - 60_000);
    const again = await tokens.token();
    expect(again.ok && again.token).toBe(first.token);
  });

  it('refreshes within the same session, and concurrent refreshes share one request', async () => {
    const { tokens } = source();
    const first = await tokens.login();
    if (!first.ok) throw new Error(first.message);
    const [a, b] = await Promise.all([tokens.refresh(), tokens.refresh()]);
    if (!a.ok || !b.ok) throw new Error('refresh failed');
    expect(a.token).toBe(b.token);
    expect(a.token.sessionId).toBe(first.token.sessionId);
    expect(a.token.token).not.toBe(first.token.token);
  });

  it('signs every login with a fresh nonce, so two logins in the same second both succeed', async () => {
    const fixed = Date.now();
    const { tokens, identity } = source({ clock: { now: () => fixed } });
    const first = await tokens.login();
    const second = await tokens.login();
    expect(first.ok && second.ok).toBe(true);

    // Without a nonce the same body in the same second is the same event: control refuses the replay.
    const url = `${control.url}/v1/auth/token`;
    const body = JSON.stringify({ device_id: 'laptop-1' });
    const header = () => createNip98AuthHeader({ url, method: 'POST', body, privateKeyHex: identity.privateKeyHex, createdAt: Math.floor(fixed / 1000) });
    const post = () => fetch(url, { method: 'POST', headers: { Authorization: header(), 'Content-Type': 'application/json' }, body });
    expect((await post()).status).toBe(200);
    const replay = await post();
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: { code: 'replayed_event' } });
  });

  it('fetches the transport policy with its token', async () => {
    const { tokens } = source();
    expect(await tokens.transportPolicy()).toEqual({
      ok: true,
      policy: { primary: 'spacetime', nostr: { fallbackAllowed: true, mirrorAllowed: false, relays: ['wss://relay.example.com'] } },
    });
  });

  it('a session revoked elsewhere cannot be refreshed; revoke() here forgets the token', async () => {
    const { tokens } = source();
    const first = await tokens.login();
    if (!first.ok) throw new Error(first.message);
    // Revoked by someone else holding the session's token (another device, an admin tool).
    const revoked = await fetch(`${control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${first.token.token}` } });
    expect(revoked.status).toBe(204);
    expect(await tokens.refresh()).toMatchObject({ ok: false, code: 'session_revoked', retryable: false });

    const own = source();
    await own.tokens.login();
    expect(await own.tokens.revoke()).toEqual({ ok: true });
    expect(own.tokens.current()).toBeUndefined();
  });

  it('says why a login failed and whether retrying can help', async () => {
    const strict = await startControl({ port: 0, logger: silent, config: { allowedPubkeys: [deriveIdentity(generateMnemonic()).publicKeyHex] } });
    try {
      const refused = await source({ controlUrl: strict.url }).tokens.token();
      expect(refused).toMatchObject({ ok: false, code: 'denied', retryable: false, message: expect.stringContaining('pubkey_not_allowed') });
    } finally {
      await strict.close();
    }
    const unreachable = await source({ controlUrl: 'http://127.0.0.1:9' }).tokens.token();
    expect(unreachable).toMatchObject({ ok: false, code: 'unreachable', retryable: true });
    const skewed = await source({ clock: { now: () => Date.now() - 10 * 60_000 } }).tokens.token();
    expect(skewed).toMatchObject({ ok: false, code: 'clock_skew', retryable: false });
  });

  it('logs in again when the control service forgot the session', async () => {
    const forgetful = await startControl({ port: 0, logger: silent });
    const port = Number(new URL(forgetful.url).port);
    const { tokens } = source({ controlUrl: forgetful.url });
    const first = await tokens.login();
    if (!first.ok) throw new Error(first.message);
    await forgetful.close();
    const restarted = await startControl({ port, logger: silent });
    try {
      const refreshed = await tokens.refresh();
      if (!refreshed.ok) throw new Error(refreshed.message);
      expect(refreshed.token.sessionId).not.toBe(first.token.sessionId);
    } finally {
      await restarted.close();
    }
  });

  it('refuses a bad configuration up front', () => {
    const signer = signerFromPrivateKey(deriveIdentity(generateMnemonic()));
    expect(() => new ControlTokenSource({ controlUrl: 'ftp://x', signer, deviceId: 'd' })).toThrow('control URL "ftp://x" must be http:// or https://');
    expect(() => new ControlTokenSource({ controlUrl: 'nope', signer, deviceId: 'd' })).toThrow('control URL "nope" is not a URL');
    expect(() => new ControlTokenSource({ controlUrl: control.url, signer, deviceId: 'has space' })).toThrow('deviceId must be 1-128 printable ASCII');
  });
});
