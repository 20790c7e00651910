// Who may call what. Every reducer starts with one of these checks; they throw SenderError with a
// reason before anything is written. Claims come from the caller's JWT (ctx.senderAuth.jwt),
// minted by the control service whose issuer the admin trusted with configure_world.
import type { Identity } from 'spacetimedb';
import { type Infer, type InferSchema, type ReducerCtx, type ViewCtx } from 'spacetimedb/server';
import { CLOCK_SKEW_SECONDS, CONFIG_ROW_ID, Scope, type Capability } from './constants';
import spacetimedb, { autopilot_node, workspace_member, world_config } from './schema';
import { isHex64 } from './validate';
import type { WorldErrorCode } from './errors';
import { bindCaller, isRevoked, me } from './identity';
import { refuse } from './refuse';

export type Ctx = ReducerCtx<InferSchema<typeof spacetimedb>>;
/** Read-only table access, as views get it (reducer contexts satisfy it too). */
export type ReadDb = ViewCtx<InferSchema<typeof spacetimedb>>['db'];
export type ConfigRow = Infer<typeof world_config.rowType>;
export type NodeRow = Infer<typeof autopilot_node.rowType>;
export type MemberRow = Infer<typeof workspace_member.rowType>;

export const NOT_CONFIGURED = 'world not configured: no trusted control issuer';

export interface WorldClaims {
  issuer: string;
  subject: string;
  nostrPubkey: string;
  deviceId: string;
  sessionId: string;
  org: string;
  scopes: string[];
  /** `control_exp` claim: the control token's expiry, seconds since the epoch. */
  expiresAt: bigint;
  /** When control issued the token (control_iat, else nbf, else iat), seconds since the epoch; 0 when absent. */
  issuedAt: bigint;
}

export interface Caller {
  claims: WorldClaims;
  config: ConfigRow;
  /** The user's principal (src/identity.ts): what every ownership column holds. */
  principal: Identity;
}

export type ClaimsResult = { ok: true; claims: WorldClaims } | { ok: false; code: WorldErrorCode; reason: string };

export function configOf(ctx: Ctx): ConfigRow {
  const config = ctx.db.world_config.config_id.find(CONFIG_ROW_ID);
  // init always writes the row; its absence means the database was not created by this module.
  if (!config) throw new Error('world_config row is missing');
  return config;
}

/** Reads and checks the caller's token claims against the config, without throwing. */
export function readClaims(ctx: Ctx, config: ConfigRow): ClaimsResult {
  if (!config.configured || config.trusted_issuers.length === 0) return { ok: false, code: 'not_configured', reason: NOT_CONFIGURED };
  const jwt = ctx.senderAuth.jwt;
  if (!jwt) return { ok: false, code: 'no_token', reason: 'no token: connect with a token from the control service' };
  const payload = jwt.fullPayload;
  const issuer = jwt.issuer;
  if (typeof issuer !== 'string' || !config.trusted_issuers.includes(issuer)) {
    return { ok: false, code: 'untrusted_issuer', reason: `token issuer ${JSON.stringify(issuer)} is not trusted by this world` };
  }
  const subject = jwt.subject;
  const nostrPubkey = payload['nostr_pubkey'];
  if (typeof nostrPubkey !== 'string' || !isHex64(nostrPubkey)) return { ok: false, code: 'invalid_claims', reason: 'token has no valid nostr_pubkey claim' };
  const sessionId = payload['session_id'];
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 128) {
    return { ok: false, code: 'invalid_claims', reason: 'token has no valid session_id claim' };
  }
  // `<pubkey>:<session_id>` (one connection identity per session) or, from older controls, `<pubkey>`.
  if (subject !== nostrPubkey && subject !== `${nostrPubkey}:${sessionId}`) {
    return { ok: false, code: 'invalid_claims', reason: 'token sub does not match its nostr_pubkey claim' };
  }
  const deviceId = payload['device_id'];
  if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > 128) {
    return { ok: false, code: 'invalid_claims', reason: 'token has no valid device_id claim' };
  }
  const org = payload['org'];
  const scopes = payload['scopes'];
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) {
    return { ok: false, code: 'invalid_claims', reason: 'token has no valid scopes claim' };
  }
  // `control_exp`, not `exp`: a host re-signs each connection's token with a 60 s `exp` of its own
  // and keeps the other claims, so only this claim says when the control token really expires.
  const exp = payload['control_exp'];
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return { ok: false, code: 'invalid_claims', reason: 'token has no valid control_exp claim' };
  const expiresAt = BigInt(exp);
  if (expiresAt * 1_000_000n <= ctx.timestamp.microsSinceUnixEpoch) {
    return { ok: false, code: 'token_expired', reason: 'token expired: log in again and reconnect' };
  }
  // A token minted in the future (a control clock far ahead, or a forged iat to outlive a
  // revocation watermark) is refused beyond the allowed skew.
  const latest = ctx.timestamp.microsSinceUnixEpoch + BigInt(CLOCK_SKEW_SECONDS) * 1_000_000n;
  for (const claim of ['iat', 'nbf'] as const) {
    const value = payload[claim];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, code: 'invalid_claims', reason: `token has no valid ${claim} claim` };
    if (BigInt(Math.floor(value)) * 1_000_000n > latest) {
      return { ok: false, code: 'token_not_yet_valid', reason: `token ${claim} lies more than ${CLOCK_SKEW_SECONDS} s in the future: check the clocks` };
    }
  }
  return {
    ok: true,
    claims: {
      issuer,
      subject,
      nostrPubkey,
      deviceId,
      sessionId,
      org: typeof org === 'string' ? org : '',
      scopes: scopes as string[],
      expiresAt,
      issuedAt: issuedAtOf(payload),
    },
  };
}

export type ServiceClaimsResult = { ok: true; subject: string; scopes: string[] } | { ok: false; code: WorldErrorCode; reason: string };

/**
 * A control service's own token (docs/trust-model.md): trusted issuer, `sub = "control:<key id>"`,
 * no nostr_pubkey (it acts for no user), scopes, and not expired (control_exp, else exp).
 */
export function readServiceClaims(ctx: Ctx, config: ConfigRow): ServiceClaimsResult {
  if (!config.configured || config.trusted_issuers.length === 0) return { ok: false, code: 'not_configured', reason: NOT_CONFIGURED };
  const jwt = ctx.senderAuth.jwt;
  if (!jwt) return { ok: false, code: 'no_token', reason: 'no token: call with a control service token' };
  const payload = jwt.fullPayload;
  if (typeof jwt.issuer !== 'string' || !config.trusted_issuers.includes(jwt.issuer)) {
    return { ok: false, code: 'untrusted_issuer', reason: `token issuer ${JSON.stringify(jwt.issuer)} is not trusted by this world` };
  }
  const subject = jwt.subject;
  if (typeof subject !== 'string' || !/^control:[A-Za-z0-9._-]{1,128}$/.test(subject) || payload['nostr_pubkey'] !== undefined) {
    return { ok: false, code: 'missing_scope', reason: 'not a control service token (sub "control:<key id>", no nostr_pubkey)' };
  }
  const scopes = payload['scopes'];
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) {
    return { ok: false, code: 'invalid_claims', reason: 'token has no valid scopes claim' };
  }
  const exp = payload['control_exp'] ?? payload['exp'];
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return { ok: false, code: 'invalid_claims', reason: 'token has no valid exp claim' };
  if (BigInt(exp) * 1_000_000n <= ctx.timestamp.microsSinceUnixEpoch) return { ok: false, code: 'token_expired', reason: 'token expired' };
  const iat = payload['iat'];
  if (typeof iat === 'number' && BigInt(Math.floor(iat)) * 1_000_000n > ctx.timestamp.microsSinceUnixEpoch + BigInt(CLOCK_SKEW_SECONDS) * 1_000_000n) {
    return { ok: false, code: 'token_not_yet_valid', reason: `token iat lies more than ${CLOCK_SKEW_SECONDS} s in the future: check the clocks` };
  }
  return { ok: true, subject, scopes: scopes as string[] };
}

/**
 * When control issued the token, for revocation watermarks. A host re-signs each connection's
 * token with a fresh `iat` but keeps the other claims, so `control_iat` (if control sends it) or
 * `nbf` (control sets it to its iat) say it; a bare `iat` is the last resort.
 */
function issuedAtOf(payload: Record<string, unknown>): bigint {
  for (const claim of ['control_iat', 'nbf', 'iat']) {
    const value = payload[claim];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return BigInt(Math.floor(value));
  }
  return 0n;
}

/**
 * The caller's checked claims. Every client-facing reducer needs a trusted token carrying
 * world:join, plus `scope` when given.
 */
export function authorize(ctx: Ctx, action: string, scope?: Scope): Caller {
  const config = configOf(ctx);
  const result = readClaims(ctx, config);
  if (!result.ok) throw refuse(result.code, `${action} denied: ${result.reason}`);
  if (isRevoked(ctx.db, result.claims)) {
    throw refuse('session_revoked', `${action} denied: session ${result.claims.sessionId} was revoked: sign in again`);
  }
  for (const needed of scope && scope !== Scope.join ? [Scope.join, scope] : [Scope.join]) {
    if (!result.claims.scopes.includes(needed)) throw refuse('missing_scope', `${action} denied: token lacks scope ${needed}`);
  }
  const principal = bindCaller(ctx, result.claims);
  return { claims: result.claims, config, principal };
}

/** authorize + the caller must have joined the world (have a node row). */
export function authorizeNode(ctx: Ctx, action: string, scope?: Scope): Caller & { node: NodeRow } {
  const caller = authorize(ctx, action, scope);
  const node = ctx.db.autopilot_node.node_id.find(caller.principal);
  if (!node) throw refuse('not_joined', `${action} denied: not joined; call join_world first`);
  return { ...caller, node };
}

export function isWorldAdmin(ctx: Ctx, who: Identity): boolean {
  return ctx.db.world_admin.admin.find(who) !== null;
}

export function requireWorldAdmin(ctx: Ctx, action: string): void {
  // The publisher is an admin by its own identity; users are made admins by their principal.
  if (!isWorldAdmin(ctx, ctx.sender) && !isWorldAdmin(ctx, me(ctx))) throw refuse('not_admin', `${action} denied: only a world admin may do this`);
}

/** Scheduled reducers run as the database itself; clients calling them directly are refused. */
export function requireScheduler(ctx: Ctx, action: string): void {
  if (!ctx.sender.isEqual(ctx.databaseIdentity)) throw refuse('scheduler_only', `${action} denied: runs only on its schedule`);
}

export function membershipOf(ctx: Ctx, workspaceId: bigint, who: Identity): MemberRow | undefined {
  for (const row of ctx.db.workspace_member.by_workspace_member.filter([workspaceId, who])) return row;
  return undefined;
}

/** The caller's membership in an existing workspace, holding `capability` when given. */
export function requireMember(ctx: Ctx, action: string, workspaceId: bigint, capability?: Capability): MemberRow {
  if (!ctx.db.workspace.workspace_id.find(workspaceId)) throw refuse('not_found', `${action} denied: no workspace ${workspaceId}`);
  const member = membershipOf(ctx, workspaceId, me(ctx));
  if (!member) throw refuse('not_member', `${action} denied: not a member of workspace ${workspaceId}`);
  if (capability && !member.capabilities.includes(capability)) {
    throw refuse('lacks_capability', `${action} denied: role ${member.role} in workspace ${workspaceId} lacks ${capability}`);
  }
  return member;
}
