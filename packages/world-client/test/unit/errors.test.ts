// The client branches on the module's refusal code, never on its wording: rewording a refusal
// must not change what the client does, and text that merely looks like a code must not act as one.
import { formatWorldError, WORLD_ERROR_CODES } from '@autopilot/world-module/errors';
import { InternalError, SenderError } from 'spacetimedb';
import { describe, expect, it } from 'vitest';
import { classifyCallError, FATAL_REFUSALS, REFUSAL_OUTCOMES, RETRYABLE_CODES } from '../../src/index';

describe('classifyCallError', () => {
  it('classifies by the code alone: the same code with other words classifies identically', () => {
    for (const code of WORLD_ERROR_CODES) {
      const a = classifyCallError(new SenderError(formatWorldError(code, 'publish_message denied: token expired: log in again')));
      const b = classifyCallError(new SenderError(formatWorldError(code, 'something else entirely, reworded')));
      expect({ code: b.code, refusal: b.refusal }, code).toEqual({ code: a.code, refusal: a.refusal });
      expect(a.refusal).toBe(code);
      expect(a.code).toBe(REFUSAL_OUTCOMES[code]);
    }
  });

  it('re-authenticates and retries on token_expired whatever the words', () => {
    const outcome = classifyCallError(new SenderError(formatWorldError('token_expired', 'the pass ran out')));
    expect(outcome.code).toBe('token_expired');
    expect(RETRYABLE_CODES.has(outcome.code)).toBe(true);
  });

  it('does not treat text that merely mentions an expired token or a denial as that code', () => {
    for (const text of ['publish_message denied: token expired: log in again and reconnect', 'not joined; call join_world first', 'world not configured']) {
      const outcome = classifyCallError(new SenderError(text));
      expect(outcome, text).toEqual({ code: 'rejected', message: text });
      expect(RETRYABLE_CODES.has(outcome.code)).toBe(false);
    }
    // A code the module does not define is no code at all.
    expect(classifyCallError(new SenderError('[token_expiredd] token expired')).code).toBe('rejected');
  });

  it('keeps the whole text for people, and reports internal errors as internal', () => {
    const text = formatWorldError('not_member', 'open_channel denied: not a member of workspace 3');
    expect(classifyCallError(new SenderError(text))).toEqual({ code: 'denied', refusal: 'not_member', message: text });
    expect(classifyCallError(new InternalError('boom')).code).toBe('internal');
    expect(classifyCallError('odd').code).toBe('internal');
  });

  it('gives up joining only on refusals no retry can fix', () => {
    expect([...FATAL_REFUSALS].sort()).toEqual(['missing_scope', 'no_token', 'untrusted_issuer']);
    for (const code of FATAL_REFUSALS) expect(REFUSAL_OUTCOMES[code]).toBe('denied');
  });
});
