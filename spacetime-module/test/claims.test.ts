// Token claim checks, on the host's ModuleHost with hand-made claims (the real control service
// never mints most of these; the module must still refuse them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_SECONDS } from '../src/constants';
import { formatWorldError, type WorldErrorCode } from '../src/errors';
import { startDirectWorld, type DirectWorld } from './support/direct';
import { stateHash } from './support/state';

const JOIN = { display_name: 'n', version: '1', region: '' };
/** startDirectWorld's clock (seconds) plus the allowed skew: the latest iat/nbf a token may carry. */
const SKEW_EDGE = 1_750_000_000 + CLOCK_SKEW_SECONDS;

describe('token claims', () => {
  let world: DirectWorld;
  beforeAll(async () => {
    world = await startDirectWorld();
  });
  afterAll(() => world?.close());

  const cases: [string, Record<string, unknown>, WorldErrorCode | '', string][] = [
    ['an untrusted issuer', { iss: 'http://other.test' }, 'untrusted_issuer', 'token issuer "http://other.test" is not trusted by this world'],
    ['an expired control token', { control_exp: 1_000 }, 'token_expired', 'token expired: log in again and reconnect'],
    ['no control_exp claim', { control_exp: undefined }, 'invalid_claims', 'token has no valid control_exp claim'],
    // The host's 60 s connection token must not cut a session short: only control_exp counts.
    ['(accepted) a connection exp long past', { exp: 1_000, expectOk: true }, '', ''],
    ['sub that is not the nostr pubkey', { sub: 'f'.repeat(64) }, 'invalid_claims', 'token sub does not match its nostr_pubkey claim'],
    ['a malformed nostr_pubkey', { nostr_pubkey: 'npub1xyz', sub: 'npub1xyz' }, 'invalid_claims', 'token has no valid nostr_pubkey claim'],
    ['no session_id', { session_id: undefined }, 'invalid_claims', 'token has no valid session_id claim'],
    ['no device_id', { device_id: '' }, 'invalid_claims', 'token has no valid device_id claim'],
    ['scopes that are not a list', { scopes: 'world:join' }, 'invalid_claims', 'token has no valid scopes claim'],
    // Clock skew: iat/nbf up to CLOCK_SKEW_SECONDS ahead of the world's clock pass, beyond it not.
    ['(accepted) iat and nbf exactly the allowed skew ahead', { iat: SKEW_EDGE, nbf: SKEW_EDGE, expectOk: true }, '', ''],
    ['an iat beyond the allowed skew', { iat: SKEW_EDGE + 1 }, 'token_not_yet_valid', 'token iat lies more than 30 s in the future: check the clocks'],
    ['an nbf beyond the allowed skew', { nbf: SKEW_EDGE + 1 }, 'token_not_yet_valid', 'token nbf lies more than 30 s in the future: check the clocks'],
    ['an iat that is not a number', { iat: 'soon' }, 'invalid_claims', 'token has no valid iat claim'],
  ];
  cases.forEach(([label, { expectOk, ...claims }, code, reason], index) => {
    if (expectOk) {
      it(`accepts ${label}`, () => {
        const actor = world.connect(10 + index, undefined, claims);
        expect(world.call(actor, 'join_world', JOIN)).toEqual({ ok: true });
      });
      return;
    }
    it(`refuses ${label}, writing nothing`, () => {
      const actor = world.connect(10 + index, undefined, claims);
      const before = stateHash(world.module);
      expect(world.call(actor, 'join_world', JOIN)).toEqual({ ok: false, message: formatWorldError(code as WorldErrorCode, `join_world denied: ${reason}`) });
      expect(stateHash(world.module)).toBe(before);
    });
  });

  it('accepts sub "<pubkey>:<session_id>" (one connection identity per session) but no other suffix', () => {
    const pubkey = (40).toString(16).padStart(64, '0');
    const good = world.connect(40, undefined, { sub: `${pubkey}:session-40` });
    expect(world.call(good, 'join_world', JOIN)).toEqual({ ok: true });
    const bad = world.connect(40, undefined, { sub: `${pubkey}:someone-else` });
    expect(world.call(bad, 'join_world', JOIN)).toEqual({
      ok: false,
      message: formatWorldError('invalid_claims', 'join_world denied: token sub does not match its nostr_pubkey claim'),
    });
  });

  it('refuses a session id already held by another node', () => {
    const first = world.connect(1, undefined, { session_id: 'shared-session' });
    world.must(first, 'join_world', JOIN);
    const second = world.connect(2, undefined, { session_id: 'shared-session' });
    expect(world.call(second, 'join_world', JOIN)).toEqual({
      ok: false,
      message: formatWorldError('not_owner', 'join_world denied: session shared-session belongs to another node'),
    });
  });

  it('accepts the same claims once they are well formed, and a rejoin is idempotent', () => {
    const actor = world.connect(3);
    world.must(actor, 'join_world', JOIN);
    const before = stateHash(world.module);
    world.must(actor, 'join_world', JOIN);
    expect(stateHash(world.module)).toBe(before);
  });
});
