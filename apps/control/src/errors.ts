// Control's refusals: the machine-readable codes and the one JSON shape every error leaves in.
// A client's mistake is a 4xx with a code and a message for people, never a stack.
import type { Context } from 'hono';

/** Machine-readable reasons a request was refused; clients branch on these, never on messages. */
export type ErrorCode =
  | 'bad_request'
  | 'missing_authorization'
  | 'bad_nip98'
  | 'bad_signature'
  | 'url_mismatch'
  | 'method_mismatch'
  | 'stale_event'
  | 'payload_mismatch'
  | 'replayed_event'
  | 'pubkey_not_allowed'
  | 'scope_denied'
  | 'session_unknown'
  | 'session_revoked'
  | 'invalid_token'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'rate_limited'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal';

export type FailureStatus = 400 | 401 | 403 | 404 | 413 | 415 | 429 | 500;

/** A refusal carried from a check to the HTTP layer. */
export interface Failure {
  ok: false;
  status: FailureStatus;
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

export function failure(status: FailureStatus, code: ErrorCode, message: string): Failure {
  return { ok: false, status, code, message };
}

/** Hono environment of the service: the failure code is kept for the request log line. */
export interface ControlEnv {
  Variables: { failureCode: ErrorCode };
}

/** Every failure leaves the service in the same JSON shape. */
export function respondWithFailure(c: Context<ControlEnv>, refusal: Failure): Response {
  if (refusal.retryAfterSeconds !== undefined) c.header('Retry-After', String(refusal.retryAfterSeconds));
  c.set('failureCode', refusal.code);
  return c.json({ error: { code: refusal.code, message: refusal.message } }, refusal.status);
}
