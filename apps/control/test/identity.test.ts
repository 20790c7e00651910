import { describe, expect, it } from 'vitest';
import { spacetimeIdentityHex } from '../src/identity';

describe('spacetimeIdentityHex', () => {
  it('matches the identities SpacetimeDB derives (spec §3.1 vectors)', () => {
    expect(spacetimeIdentityHex('localhost', 'alice')).toBe('c20035600353a2e93544d898c6ed0eac323e200c0468300f22958f8b472a265d');
    expect(spacetimeIdentityHex('https://auth.example.com', 'user-1')).toBe('c2008acc5c3458231fe297e178b75c5ac86196c9097e82d680e7a7cfc2f75173');
  });

  it('depends on both issuer and subject', () => {
    const base = spacetimeIdentityHex('http://127.0.0.1:1', 'a'.repeat(64));
    expect(spacetimeIdentityHex('http://127.0.0.1:2', 'a'.repeat(64))).not.toBe(base);
    expect(spacetimeIdentityHex('http://127.0.0.1:1', 'b'.repeat(64))).not.toBe(base);
    expect(base).toMatch(/^c200[0-9a-f]{60}$/);
  });
});
