import { describe, expect, it } from 'vitest';
import {
  INVALID_CONNECTION_ID,
  connectionIdHex,
  identityFromIssuerSubject,
  identityHex,
  parseConnectionIdHex,
  parseIdentityHex,
  randomConnectionId,
} from '../../src/auth';

describe('identityFromIssuerSubject (spec §3.1)', () => {
  it('matches the spec vectors', () => {
    expect(identityHex(identityFromIssuerSubject('localhost', 'alice'))).toBe(
      'c20035600353a2e93544d898c6ed0eac323e200c0468300f22958f8b472a265d',
    );
    expect(identityHex(identityFromIssuerSubject('https://auth.example.com', 'user-1'))).toBe(
      'c2008acc5c3458231fe297e178b75c5ac86196c9097e82d680e7a7cfc2f75173',
    );
  });

  it('always starts with c200 and is 32 bytes, for varied issuers and subjects', () => {
    const inputs: Array<[string, string]> = [
      ['localhost', ''],
      ['', 'x'],
      ['https://issuer.example/', 'ünïcødé-subject'],
      ['localhost', 'a'.repeat(128)],
      ...Array.from({ length: 20 }, (_, i): [string, string] => ['localhost', `user-${i}`]),
    ];
    for (const [issuer, subject] of inputs) {
      const hex = identityHex(identityFromIssuerSubject(issuer, subject));
      expect(hex, `identity of (${issuer}, ${subject})`).toMatch(/^c200[0-9a-f]{60}$/);
    }
  });

  it('depends on both parts and on the separator position', () => {
    const base = identityFromIssuerSubject('localhost', 'alice');
    expect(identityFromIssuerSubject('localhost', 'bob')).not.toBe(base);
    expect(identityFromIssuerSubject('localhost2', 'alice')).not.toBe(base);
    // Same concatenated text "a|b|c", different split: the rule hashes the text, so these collide by design.
    expect(identityFromIssuerSubject('a|b', 'c')).toBe(identityFromIssuerSubject('a', 'b|c'));
  });
});

describe('identityHex / parseIdentityHex', () => {
  it('renders big-endian, lowercase, zero padded to 64 chars', () => {
    expect(identityHex(0n)).toBe('0'.repeat(64));
    expect(identityHex(0xabn)).toBe(`${'0'.repeat(62)}ab`);
    expect(identityHex((1n << 256n) - 1n)).toBe('f'.repeat(64));
  });

  it('rejects values outside u256', () => {
    expect(() => identityHex(-1n)).toThrow(/unsigned 256-bit/);
    expect(() => identityHex(1n << 256n)).toThrow(/unsigned 256-bit/);
  });

  it('round-trips and accepts upper case', () => {
    const identity = identityFromIssuerSubject('localhost', 'alice');
    expect(parseIdentityHex(identityHex(identity))).toEqual({ ok: true, identity });
    expect(parseIdentityHex(identityHex(identity).toUpperCase())).toEqual({ ok: true, identity });
  });

  it('rejects wrong length, a 0x prefix and non-hex text with a message naming the input', () => {
    for (const bad of ['', 'c200', `0x${'0'.repeat(62)}`, 'g'.repeat(64), `${'0'.repeat(64)}0`]) {
      const result = parseIdentityHex(bad);
      expect(result.ok, `parseIdentityHex(${JSON.stringify(bad)})`).toBe(false);
      if (!result.ok) expect(result.message).toContain('expected 64 hex digits');
    }
  });
});

describe('ConnectionId (spec §3.2)', () => {
  it('renders 32 hex chars big-endian and parses back', () => {
    const id = 0x0102030405060708090a0b0c0d0e0f10n;
    expect(connectionIdHex(id)).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(parseConnectionIdHex('0102030405060708090A0B0C0D0E0F10')).toEqual({ ok: true, connectionId: id });
    expect(connectionIdHex(1n)).toBe(`${'0'.repeat(31)}1`);
  });

  it('rejects values outside u128', () => {
    expect(() => connectionIdHex(1n << 128n)).toThrow(/unsigned 128-bit/);
    expect(() => connectionIdHex(-5n)).toThrow(/unsigned 128-bit/);
  });

  it('rejects the reserved all-zero id and malformed text', () => {
    const zero = parseConnectionIdHex('0'.repeat(32));
    expect(zero).toEqual({ ok: false, message: `${INVALID_CONNECTION_ID}: the all-zero id is reserved` });
    for (const bad of ['', 'xyz', '1'.repeat(31), '1'.repeat(33), `0x${'1'.repeat(30)}`]) {
      const result = parseConnectionIdHex(bad);
      expect(result.ok, `parseConnectionIdHex(${JSON.stringify(bad)})`).toBe(false);
      if (!result.ok) expect(result.message.startsWith(INVALID_CONNECTION_ID)).toBe(true);
    }
  });

  it('randomConnectionId gives distinct non-zero u128 values', () => {
    const ids = Array.from({ length: 200 }, () => randomConnectionId());
    for (const id of ids) {
      expect(id).toBeGreaterThan(0n);
      expect(id).toBeLessThan(1n << 128n);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
