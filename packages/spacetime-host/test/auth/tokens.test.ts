import { beforeAll, describe, expect, it } from 'vitest';
import { CompactSign, decodeJwt, decodeProtectedHeader, type CryptoKey } from 'jose';
import {
  AuthReason,
  CLOCK_SKEW_SECONDS,
  TokenAuthority,
  identityFromIssuerSubject,
  identityHex,
  loadOrCreateSigningKey,
  type SigningKey,
  type TokenValidationResult,
} from '../../src/auth';

const START_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const START_S = START_MS / 1000;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let hostKey: SigningKey;
let strangerKey: SigningKey;
beforeAll(async () => {
  hostKey = await loadOrCreateSigningKey();
  strangerKey = await loadOrCreateSigningKey();
});

/** An authority with a settable clock. */
function authorityAt(startMs = START_MS) {
  const clock = { ms: startMs };
  const authority = new TokenAuthority({ signingKey: hostKey, trustedIssuers: [], now: () => clock.ms });
  return { authority, clock };
}

/** Signs arbitrary payload text, to build tokens the authority would never mint itself. */
function signRaw(payloadText: string, key: CryptoKey, header: Record<string, unknown> = { typ: 'JWT', alg: 'ES256' }): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadText)).setProtectedHeader(header as { alg: string }).sign(key);
}
function signClaims(claims: Record<string, unknown>, key: CryptoKey = hostKey.privateKey): Promise<string> {
  return signRaw(JSON.stringify(claims), key);
}

function expectFailure(result: TokenValidationResult, status: 400 | 401, reason: string): void {
  expect(result).toMatchObject({ ok: false, status, reason });
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');

describe('mintAnonymous (spec §3.3)', () => {
  it('mints a localhost ES256 token whose claims give its identity', async () => {
    const { authority } = authorityAt();
    const minted = await authority.mintAnonymous();

    expect(decodeProtectedHeader(minted.token)).toEqual({ typ: 'JWT', alg: 'ES256' });
    const claims = decodeJwt(minted.token);
    expect(Object.keys(claims)).toEqual(['hex_identity', 'sub', 'iss', 'aud', 'iat']);
    expect(claims.sub).toMatch(UUID_V4);
    expect(claims).toMatchObject({ iss: 'localhost', aud: ['spacetimedb'], iat: START_S, hex_identity: minted.identityHex });
    expect(minted.identity).toBe(identityFromIssuerSubject('localhost', claims.sub as string));
    expect(minted.identityHex).toBe(identityHex(minted.identity));
    expect(minted.identityHex.startsWith('c200')).toBe(true);
  });

  it('gives a new identity each time and uses the configured local issuer', async () => {
    const authority = new TokenAuthority({ signingKey: hostKey, localIssuer: 'dev-host', trustedIssuers: [] });
    const [a, b] = [await authority.mintAnonymous(), await authority.mintAnonymous()];
    expect(a.identity).not.toBe(b.identity);
    expect(decodeJwt(a.token).iss).toBe('dev-host');
  });
});

describe('validate: locally signed tokens (spec §3.4)', () => {
  it('accepts a minted token and derives the same identity, keeping the exact payload text', async () => {
    const { authority, clock } = authorityAt();
    const minted = await authority.mintAnonymous();
    clock.ms += 365 * 24 * 3600 * 1000; // no exp: still valid a year later
    const result = await authority.validate(minted.token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.identity).toBe(minted.identity);
    expect(result.identityHex).toBe(minted.identityHex);
    expect(result.claims).toEqual(decodeJwt(minted.token));
    expect(result.payloadJson).toBe(Buffer.from(minted.token.split('.')[1]!, 'base64url').toString('utf8'));
  });

  it('accepts tokens from another authority sharing the key (e.g. after a restart)', async () => {
    const minted = await authorityAt().authority.mintAnonymous();
    const restarted = new TokenAuthority({ signingKey: hostKey, trustedIssuers: [] });
    expect(await restarted.validate(minted.token)).toMatchObject({ ok: true, identity: minted.identity });
  });

  it('accepts a locally signed token whatever its issuer (re-signed third-party claims)', async () => {
    const { authority } = authorityAt();
    const token = await signClaims({ iss: 'https://not-trusted.example', sub: 'u', iat: START_S });
    const result = await authority.validate(token);
    expect(result).toMatchObject({ ok: true, identity: identityFromIssuerSubject('https://not-trusted.example', 'u') });
  });

  it('treats exp: null as "no expiry" and accepts aud as a plain string', async () => {
    const { authority } = authorityAt();
    const token = await signClaims({ iss: 'localhost', sub: 'carol', iat: START_S, exp: null, aud: 'spacetimedb' });
    expect(await authority.validate(token)).toMatchObject({ ok: true, identity: identityFromIssuerSubject('localhost', 'carol') });
  });

  it('accepts an upper-case hex_identity that names the right identity', async () => {
    const { authority } = authorityAt();
    const hex = identityHex(identityFromIssuerSubject('localhost', 'dave')).toUpperCase();
    const token = await signClaims({ hex_identity: hex, iss: 'localhost', sub: 'dave', iat: START_S });
    expect((await authority.validate(token)).ok).toBe(true);
  });

  it('rejects a token signed by another key that claims the local issuer', async () => {
    const { authority } = authorityAt();
    const forged = await signClaims({ iss: 'localhost', sub: 'alice', iat: START_S }, strangerKey.privateKey);
    expectFailure(await authority.validate(forged), 401, AuthReason.notSignedLocally);
  });

  it('rejects a minted token whose signature was tampered with', async () => {
    const { authority } = authorityAt();
    const { token } = await authority.mintAnonymous();
    const [header, , signature] = token.split('.');
    const otherPayload = b64url(JSON.stringify({ ...decodeJwt(token), sub: 'someone-else' }));
    expectFailure(await authority.validate(`${header}.${otherPayload}.${signature}`), 401, AuthReason.notSignedLocally);
  });

  it('rejects a token without iat', async () => {
    const { authority } = authorityAt();
    const token = await signClaims({ iss: 'localhost', sub: 'alice' });
    expectFailure(await authority.validate(token), 401, AuthReason.missingIssuedAt);
    const stringIat = await signClaims({ iss: 'localhost', sub: 'alice', iat: String(START_S) });
    expectFailure(await authority.validate(stringIat), 401, AuthReason.missingIssuedAt);
  });

  it('rejects a hex_identity that does not match iss and sub', async () => {
    const { authority } = authorityAt();
    const wrongHex = identityHex(identityFromIssuerSubject('localhost', 'mallory'));
    const token = await signClaims({ hex_identity: wrongHex, iss: 'localhost', sub: 'alice', iat: START_S });
    expectFailure(await authority.validate(token), 401, AuthReason.identityMismatch);
    const nonString = await signClaims({ hex_identity: 42, iss: 'localhost', sub: 'alice', iat: START_S });
    expectFailure(await authority.validate(nonString), 401, AuthReason.identityMismatch);
  });

  it('enforces non-empty iss/sub of at most 128 UTF-8 bytes', async () => {
    const { authority } = authorityAt();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ iss: 'localhost', iat: START_S }, AuthReason.invalidSubject],
      [{ iss: 'localhost', sub: '', iat: START_S }, AuthReason.invalidSubject],
      [{ iss: 'localhost', sub: 7, iat: START_S }, AuthReason.invalidSubject],
      [{ iss: 'localhost', sub: 'é'.repeat(65), iat: START_S }, AuthReason.invalidSubject], // 130 bytes, 65 chars
      [{ iss: '', sub: 'alice', iat: START_S }, AuthReason.invalidIssuer],
      [{ sub: 'alice', iat: START_S }, AuthReason.invalidIssuer],
      [{ iss: 'x'.repeat(129), sub: 'alice', iat: START_S }, AuthReason.invalidIssuer],
    ];
    for (const [claims, reason] of cases) {
      const result = await authority.validate(await signClaims(claims));
      expect(result, `claims ${JSON.stringify(claims)}`).toMatchObject({ ok: false, status: 401, reason });
    }
    const atLimit = await signClaims({ iss: 'i'.repeat(128), sub: 'é'.repeat(64), iat: START_S });
    expect((await authority.validate(atLimit)).ok).toBe(true);
  });

  it('rejects a non-numeric exp and an aud that is neither string nor string array', async () => {
    const { authority } = authorityAt();
    const badExp = await signClaims({ iss: 'localhost', sub: 'a', iat: START_S, exp: 'tomorrow' });
    expectFailure(await authority.validate(badExp), 401, AuthReason.invalidExpiry);
    const badAud = await signClaims({ iss: 'localhost', sub: 'a', iat: START_S, aud: ['ok', 3] });
    expectFailure(await authority.validate(badAud), 401, AuthReason.invalidAudience);
  });

  it('applies the 30 s clock skew (trust model) to exp', async () => {
    const { authority, clock } = authorityAt();
    const token = await signClaims({ iss: 'localhost', sub: 'a', iat: START_S, exp: START_S + 10 });
    clock.ms = (START_S + 10 + CLOCK_SKEW_SECONDS) * 1000;
    expect((await authority.validate(token)).ok).toBe(true);
    clock.ms = (START_S + 10 + CLOCK_SKEW_SECONDS + 1) * 1000;
    expectFailure(await authority.validate(token), 401, AuthReason.expired);
  });

  it('refuses iat or nbf more than the clock skew in the future, and a non-numeric nbf', async () => {
    const { authority } = authorityAt();
    const at = (claims: Record<string, unknown>) => signClaims({ iss: 'localhost', sub: 'a', iat: START_S, ...claims });
    expect((await authority.validate(await at({ iat: START_S + CLOCK_SKEW_SECONDS }))).ok).toBe(true);
    expectFailure(await authority.validate(await at({ iat: START_S + CLOCK_SKEW_SECONDS + 1 })), 401, AuthReason.notYetValid);
    expect((await authority.validate(await at({ nbf: START_S + CLOCK_SKEW_SECONDS }))).ok).toBe(true);
    expectFailure(await authority.validate(await at({ nbf: START_S + CLOCK_SKEW_SECONDS + 1 })), 401, AuthReason.notYetValid);
    expectFailure(await authority.validate(await at({ nbf: 'soon' })), 401, AuthReason.invalidNotBefore);
  });

  it('answers 400 "malformed" for strings that are not JWTs', async () => {
    const { authority } = authorityAt();
    const validHeader = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }));
    const validPayload = b64url(JSON.stringify({ iss: 'localhost', sub: 'a', iat: START_S }));
    const malformed: Record<string, string> = {
      empty: '',
      'one segment': 'abc',
      'two segments': `${validHeader}.${validPayload}`,
      'empty signature': `${validHeader}.${validPayload}.`,
      'four segments': `${validHeader}.${validPayload}.c2ln.c2ln`,
      'non-base64url characters': `${validHeader}.${validPayload}.si+g/==`,
      'header not JSON': `${b64url('{not json')}.${validPayload}.c2ln`,
      'header without alg': `${b64url('{"typ":"JWT"}')}.${validPayload}.c2ln`,
      'numeric kid': `${b64url('{"alg":"ES256","kid":5}')}.${validPayload}.c2ln`,
      'payload not JSON': `${validHeader}.${b64url('hello')}.c2ln`,
      'payload a JSON array': `${validHeader}.${b64url('[1,2]')}.c2ln`,
      'bearer prefix left in': `Bearer ${validHeader}.${validPayload}.c2ln`,
    };
    for (const [description, token] of Object.entries(malformed)) {
      const result = await authority.validate(token);
      expect(result, description).toMatchObject({ ok: false, status: 400, reason: AuthReason.malformed });
    }
  });

  it('rejects tokens from an issuer that is not trusted, without contacting it', async () => {
    let fetches = 0;
    const authority = new TokenAuthority({
      signingKey: hostKey,
      trustedIssuers: ['https://trusted.example'],
      fetch: async () => {
        fetches += 1;
        throw new Error('an untrusted issuer must not be fetched');
      },
    });
    const token = await signClaims({ iss: 'https://evil.example', sub: 'a', iat: START_S }, strangerKey.privateKey);
    const result = await authority.validate(token);
    expectFailure(result, 401, AuthReason.untrustedIssuer);
    expect(result.ok ? '' : result.detail).toContain('https://evil.example');
    expect(fetches).toBe(0);
  });
});

describe('websocketToken (spec §3.5)', () => {
  it('re-signs validated claims with a fresh iat and a 60 s expiry, keeping identity and extra claims', async () => {
    const { authority, clock } = authorityAt();
    const minted = await authority.mintAnonymous();
    clock.ms += 5_000;
    const longLived = await authority.validate(minted.token);
    if (!longLived.ok) throw new Error(`minted token rejected: ${longLived.reason}`);

    const short = await authority.websocketToken(longLived.claims);
    expect(decodeProtectedHeader(short)).toEqual({ typ: 'JWT', alg: 'ES256' });
    const onSocket = await authority.validate(short);
    if (!onSocket.ok) throw new Error(`websocket token rejected: ${onSocket.reason}`);
    expect(onSocket.identity).toBe(minted.identity);
    const { iat, exp, ...rest } = onSocket.claims;
    expect(iat).toBe(START_S + 5);
    expect(exp).toBe(START_S + 5 + 60);
    const { iat: _originalIat, ...originalRest } = longLived.claims;
    expect(rest).toEqual(originalRest);
  });

  it('carries third-party claims (issuer, audience, extras) and adds hex_identity', async () => {
    const { authority } = authorityAt();
    const claims = { iss: 'https://auth.example.com', sub: 'user-1', aud: 'my-app', iat: START_S - 100, email: 'u@example.com', roles: ['a'] };
    const short = await authority.websocketToken(claims);
    const onSocket = await authority.validate(short);
    expect(onSocket).toMatchObject({
      ok: true,
      identityHex: 'c2008acc5c3458231fe297e178b75c5ac86196c9097e82d680e7a7cfc2f75173',
      claims: { ...claims, iat: START_S, exp: START_S + 60, hex_identity: 'c2008acc5c3458231fe297e178b75c5ac86196c9097e82d680e7a7cfc2f75173' },
    });
  });

  it('expires after 60 s plus the clock skew', async () => {
    const { authority, clock } = authorityAt();
    const short = await authority.websocketToken({ iss: 'localhost', sub: 'a', iat: START_S });
    clock.ms = START_MS + (60 + CLOCK_SKEW_SECONDS) * 1000;
    expect((await authority.validate(short)).ok).toBe(true);
    clock.ms = START_MS + (60 + CLOCK_SKEW_SECONDS + 1) * 1000;
    expectFailure(await authority.validate(short), 401, AuthReason.expired);
  });

  it('never expires after the token it renews', async () => {
    const { authority } = authorityAt();
    const short = await authority.websocketToken({ iss: 'localhost', sub: 'a', iat: START_S, exp: START_S + 10 });
    expect(decodeJwt(short).exp).toBe(START_S + 10);
  });

  it('renewForWebsocket refuses a token past its exp, with no leeway', async () => {
    const { authority, clock } = authorityAt();
    const token = await signClaims({ iss: 'localhost', sub: 'a', iat: START_S, exp: START_S + 10 });
    clock.ms = (START_S + 10) * 1000;
    expect(await authority.renewForWebsocket(token)).toMatchObject({ ok: true });
    clock.ms = (START_S + 11) * 1000;
    expectFailure((await authority.renewForWebsocket(token)) as TokenValidationResult, 401, AuthReason.expired);
    expect((await authority.validate(token)).ok).toBe(true); // a connect still allows the skew
  });

  it('refuses claims without string iss and sub', async () => {
    const { authority } = authorityAt();
    await expect(authority.websocketToken({ sub: 'a' })).rejects.toThrow(/string iss and sub/);
  });
});
