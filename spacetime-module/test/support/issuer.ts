// A minimal OpenID issuer for tests: a real HTTP server publishing discovery and a JWKS, and an
// ES256 key minting tokens with exactly the claims a test needs (legacy `sub = pubkey` tokens, the
// new `sub = pubkey:session` ones, service tokens), which the real control does not all mint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { spacetimeIdentityHex } from '../../../apps/control/src/identity';

export interface TestIssuer {
  issuer: string;
  /** Signs `claims` (iss, aud, iat, exp and hex_identity are filled in unless given). */
  mint(claims: Record<string, unknown>): Promise<string>;
  /** A user token: sub `<pubkey>:<session>` (or `<pubkey>` with legacy), every user scope. */
  user(
    pubkey: string,
    session: string,
    opts?: { legacy?: boolean; device?: string; scopes?: readonly string[]; iat?: number },
  ): Promise<string>;
  close(): Promise<void>;
}

export const USER_SCOPES = ['world:join', 'comms:write', 'compute:request', 'compute:provide', 'files:write', 'bridge:publish'] as const;

export async function startIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((request, response) => {
    const body =
      request.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/.well-known/jwks.json` }
        : request.url === '/.well-known/jwks.json'
          ? { keys: [jwk] }
          : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mint: TestIssuer['mint'] = (claims) => {
    const now = Math.floor(Date.now() / 1000);
    const sub = String(claims['sub']);
    const full = {
      iss: issuer,
      aud: ['spacetimedb'],
      iat: now,
      exp: now + 3600,
      hex_identity: spacetimeIdentityHex(issuer, sub),
      ...claims,
    };
    return new SignJWT(full).setProtectedHeader({ alg: 'ES256', kid: 'test-key', typ: 'JWT' }).sign(privateKey);
  };
  return {
    issuer,
    mint,
    user(pubkey, session, opts = {}) {
      const now = opts.iat ?? Math.floor(Date.now() / 1000);
      return mint({
        sub: opts.legacy ? pubkey : `${pubkey}:${session}`,
        iat: now,
        nbf: now,
        nostr_pubkey: pubkey,
        device_id: opts.device ?? 'device-1',
        session_id: session,
        org: 'test',
        scopes: [...(opts.scopes ?? USER_SCOPES)],
        control_exp: now + 3600,
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
