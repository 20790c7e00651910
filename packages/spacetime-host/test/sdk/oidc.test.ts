// Tokens minted by our control service (NIP-98 login → ES256 JWT) are validated by the host
// through the control's OIDC discovery + JWKS; other issuers, expired and tampered tokens are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startControl } from '@autopilot/control';
import { createNip98AuthHeader, deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import { DbConnection } from '../fixtures/chat/module_bindings/index';
import type { RunningHost } from '../../src/index';
import { connectSdk, fixture, withHost } from './helpers';

type Control = Awaited<ReturnType<typeof startControl>>;
const silent = pino({ level: 'silent' });
let control: Control;
let stranger: Control;
let host: RunningHost;

async function login(svc: Control, nowMs = Date.now()): Promise<{ token: string; identity: string; expires_at: number }> {
  const keys = deriveIdentity(generateMnemonic());
  const url = `${svc.url}/v1/auth/token`;
  const body = JSON.stringify({ device_id: 'dev-1' });
  const authorization = createNip98AuthHeader({ url, method: 'POST', body, privateKeyHex: keys.privateKeyHex, createdAt: Math.floor(nowMs / 1000) });
  const res = await fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; identity: string; expires_at: number };
}

const connect = (token: string) => connectSdk(DbConnection, host.url, 'chat', { token });

beforeAll(async () => {
  control = await startControl({ port: 0, logger: silent });
  stranger = await startControl({ port: 0, logger: silent });
  host = await withHost({ module: fixture('chat'), name: 'chat', trustedIssuers: [control.issuer] });
});
afterAll(async () => {
  await host?.close();
  await control?.close();
  await stranger?.close();
});

describe('control-issued tokens', () => {
  it('a control token connects as the identity the control service announced', async () => {
    const { token, identity } = await login(control);
    const { conn, identity: id } = await connect(token);
    expect(id.toHexString()).toBe(identity);
    conn.disconnect();
  });

  it('refuses a token from an issuer the host does not trust', async () => {
    const { token } = await login(stranger);
    await expect(connect(token)).rejects.toThrow(/Failed to verify token|not trusted/);
  });

  it('refuses a tampered token and an expired one', async () => {
    const { token } = await login(control);
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.scopes = [...claims.scopes, 'admin'];
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await expect(connect(tampered)).rejects.toThrow();

    const past = Date.now() - 3 * 3600_000;
    const oldControl = await startControl({ port: 0, logger: silent, now: () => past });
    const oldHost = await withHost({ module: fixture('chat'), name: 'chat', trustedIssuers: [oldControl.issuer] });
    try {
      const { token: expired } = await login(oldControl, past);
      const res = await fetch(`${oldHost.url}/v1/identity/websocket-token`, { method: 'POST', headers: { authorization: `Bearer ${expired}` } });
      expect(res.status).toBe(401);
      expect(await res.text()).toMatch(/expired/);
    } finally {
      await oldHost.close();
      await oldControl.close();
    }
  });
});
