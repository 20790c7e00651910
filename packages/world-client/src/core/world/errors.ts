// What a failed world call means for the client. The module puts a code from its closed list
// (`@autopilot/world-module/errors`) into every refusal; this file maps that code, and only that
// code, to the client's own smaller set of outcomes (retry, re-authenticate, denied, rejected).
// The wording of a refusal is for people: rewording it must never change what the client does, so
// nothing here (or anywhere in the client) looks at the text.
import { parseWorldError, type WorldErrorCode as RefusalCode } from '@autopilot/world-module/errors';
import { SenderError } from 'spacetimedb';

export type { RefusalCode };

/** The client's outcome codes: the module's refusals folded into what a caller must do about them. */
export type WorldErrorCode =
  | 'invalid_argument'
  | 'offline'
  | 'disconnected'
  | 'timeout'
  | 'token_expired'
  | 'not_joined'
  | 'not_configured'
  | 'denied'
  | 'rejected'
  | 'internal'
  | 'storage_failed'
  | 'closed';

/** A failed call: the client's code, the module's refusal code when the world gave one, and text for people. */
export interface WorldFailure {
  readonly ok: false;
  readonly code: WorldErrorCode;
  /** The module's own code, for callers that need the finer reason (e.g. `missing_scope`). */
  readonly refusal?: RefusalCode;
  readonly message: string;
}

/** The result of every world call: `{ ok: true, ...value }` or a {@link WorldFailure}. */
export type WorldResult<Value extends object = object> = ({ ok: true } & Value) | WorldFailure;

/** Refusals that may succeed later unchanged: the outbox keeps them and tries again. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['offline', 'disconnected', 'timeout', 'token_expired', 'not_joined', 'not_configured', 'held']);

/**
 * Every module refusal code → the client's outcome. A `Record` over the closed list, so a code
 * added to the module does not compile here until someone decides what it means for clients.
 */
export const REFUSAL_OUTCOMES: Readonly<Record<RefusalCode, WorldErrorCode>> = {
  // Retried as they are (the outbox waits for configuration or join).
  not_configured: 'not_configured',
  not_joined: 'not_joined',
  // Retried after a fresh token.
  token_expired: 'token_expired',
  // Who the caller is does not allow the call.
  no_token: 'denied',
  untrusted_issuer: 'denied',
  invalid_claims: 'denied',
  token_not_yet_valid: 'denied',
  session_revoked: 'denied',
  missing_scope: 'denied',
  not_admin: 'denied',
  scheduler_only: 'denied',
  not_member: 'denied',
  lacks_capability: 'denied',
  not_owner: 'denied',
  // What the call asks for is not possible.
  not_found: 'rejected',
  invalid_argument: 'rejected',
  invalid_state: 'rejected',
  duplicate_key: 'rejected',
  stale_version: 'rejected',
  limit_exceeded: 'rejected',
  rate_limited: 'rejected',
};

/**
 * Refusals that mean this node may never act in this world with its current credentials: a link
 * that gets one while joining gives up instead of retrying.
 */
export const FATAL_REFUSALS: ReadonlySet<RefusalCode> = new Set(['missing_scope', 'untrusted_issuer', 'no_token']);

/**
 * What a failed reducer call means for the caller. A refusal without a known code (an older
 * module, a host error) is treated conservatively as `rejected`: never retried, never re-auth.
 */
export function classifyCallError(error: unknown): Omit<WorldFailure, 'ok'> {
  if (error instanceof SenderError || (error instanceof Error && error.name === 'SenderError')) {
    // The message stays whole (code included): it is for people and logs, not for branching.
    const { code } = parseWorldError(error.message);
    if (code === undefined) return { code: 'rejected', message: error.message };
    return { code: REFUSAL_OUTCOMES[code], refusal: code, message: error.message };
  }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
