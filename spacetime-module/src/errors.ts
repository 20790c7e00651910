// The world's refusal codes: one closed list shared by the module (which puts a code into every
// refusal) and every client (which branches on the code, never on the wording). Pure: no
// spacetimedb imports, so clients import it through `@autopilot/world-module/errors`.
//
// Wire form: SpacetimeDB carries a reducer's refusal as one string, so the code leads it in
// brackets: `[token_expired] publish_message denied: token expired: log in again`. The text after
// the code is for people and may be reworded at any time; the code may not change meaning.

export const WORLD_ERROR_CODES = [
  /** configure_world has not been called: no trusted control issuer yet. */
  'not_configured',
  /** The caller connected without a token from a trusted control service. */
  'no_token',
  /** The token's issuer is not one this world trusts. */
  'untrusted_issuer',
  /** A claim the world needs is missing or malformed. */
  'invalid_claims',
  /** The control token's expiry (control_exp) has passed: log in again. */
  'token_expired',
  /** The token's nbf/iat lie in the future beyond the allowed clock skew. */
  'token_not_yet_valid',
  /** Control revoked this session (or all of the user's or device's sessions). */
  'session_revoked',
  /** The token lacks a scope the call needs. */
  'missing_scope',
  /** The caller has not called join_world yet. */
  'not_joined',
  /** Only a world admin may do this. */
  'not_admin',
  /** Only the database's own schedule may call this reducer. */
  'scheduler_only',
  /** The caller is not a member / participant of the workspace or channel. */
  'not_member',
  /** The caller's role lacks the capability. */
  'lacks_capability',
  /** The row belongs to someone else. */
  'not_owner',
  /** No such row (or not one the caller may see). */
  'not_found',
  /** An argument is malformed or out of range. */
  'invalid_argument',
  /** The row is in a state that does not allow the call (closed, already completed, …). */
  'invalid_state',
  /** An idempotency key or op id was already used for something else. */
  'duplicate_key',
  /** expected_base_version is ahead of the head, or another version rule failed. */
  'stale_version',
  /** A size or count limit was hit. */
  'limit_exceeded',
  /** Too many calls in too short a time. */
  'rate_limited',
] as const;

export type WorldErrorCode = (typeof WORLD_ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(WORLD_ERROR_CODES);
const WIRE = /^\[([a-z_]+)\] ([\s\S]*)$/;

export function isWorldErrorCode(value: unknown): value is WorldErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** The wire text of a refusal: the code in brackets, then the text for people. */
export function formatWorldError(code: WorldErrorCode, message: string): string {
  return `[${code}] ${message}`;
}

/**
 * Splits a refusal into code and text. A message without a known code (an older module, a host
 * error) gives `code: undefined`, so callers must decide what an unknown refusal means.
 */
export function parseWorldError(text: string): { code: WorldErrorCode | undefined; message: string } {
  const match = WIRE.exec(text);
  if (match && isWorldErrorCode(match[1])) return { code: match[1], message: match[2] ?? '' };
  return { code: undefined, message: text };
}
