// Revocation in the world (docs/trust-model.md). Control calls revoke_sessions over the world's
// HTTP API with its service token (scope world:revoke) after a user signs a session, a device or
// everything out; a world admin may call it too. Afterwards reducers refuse the session
// (session_revoked), client_connected refuses its connections, every sender view returns nothing
// for it, and my_session_status tells its client to close and sign in again.
import { t } from 'spacetimedb/server';
import { configOf, isWorldAdmin, readServiceClaims, type Ctx } from './auth';
import { Limits, NodeStatus, Scope, SessionStatus } from './constants';
import { bindingKey, bindingOf, isRevoked, me, principalOf, type BindingRow } from './identity';
import { refuse } from './refuse';
import spacetimedb from './schema';
import { isHex64, utf8Length } from './validate';

/**
 * session_ids: sessions to revoke. pubkey + issued_before_micros (> 0): every token of that user
 * (of `device_id` only, unless "") issued before that time. Either part may be empty; repeats
 * are no-ops. The signature is the contract with control: keep it exactly.
 */
export const revoke_sessions = spacetimedb.reducer(
  { session_ids: t.array(t.string()), pubkey: t.string(), device_id: t.string(), issued_before_micros: t.u64() },
  (ctx, args) => {
    requireRevoker(ctx);
    if (args.session_ids.length > Limits.participants)
      throw refuse('limit_exceeded', `revoke_sessions: at most ${Limits.participants} session_ids`);
    for (const id of args.session_ids) {
      if (id.length === 0 || utf8Length(id) > 128)
        throw refuse('invalid_argument', 'revoke_sessions: session_ids entries must be 1-128 bytes');
    }
    if (args.pubkey !== '' && !isHex64(args.pubkey))
      throw refuse('invalid_argument', 'revoke_sessions: pubkey must be "" or 64 lowercase hex characters');
    if (utf8Length(args.device_id) > 128) throw refuse('invalid_argument', 'revoke_sessions: device_id must be at most 128 bytes');
    if (args.issued_before_micros > 0n && args.pubkey === '')
      throw refuse('invalid_argument', 'revoke_sessions: issued_before_micros needs a pubkey');
    if (args.session_ids.length === 0 && args.issued_before_micros === 0n) {
      throw refuse('invalid_argument', 'revoke_sessions: name session_ids, or a pubkey with issued_before_micros');
    }

    for (const id of args.session_ids) {
      if (!ctx.db.session_revocation.session_id.find(id))
        ctx.db.session_revocation.insert({ session_id: id, revoked_by: ctx.sender, revoked_at: ctx.timestamp });
    }
    if (args.issued_before_micros > 0n) {
      let known = false;
      for (const mark of ctx.db.principal_revocation.nostr_pubkey.filter(args.pubkey)) {
        if (mark.device_id === args.device_id && mark.issued_before_micros >= args.issued_before_micros) known = true;
      }
      if (!known) {
        ctx.db.principal_revocation.insert({
          revocation_id: 0n,
          nostr_pubkey: args.pubkey,
          device_id: args.device_id,
          issued_before_micros: args.issued_before_micros,
          revoked_by: ctx.sender,
          revoked_at: ctx.timestamp,
        });
      }
    }
    endRevokedSessions(ctx, args.session_ids, args.pubkey);
  },
);

/** The caller's own session: `active`, or `revoked` once control revoked it (then close and sign in again). */
const SessionStatusRow = t.row('SessionStatusRow', { session_id: t.string(), status: t.string() });

export const my_session_status = spacetimedb.view({ public: true }, t.array(SessionStatusRow), (ctx) => {
  const binding = bindingOf(ctx.db, ctx.sender);
  if (!binding) return [];
  return [
    { session_id: binding.session_id, status: isRevoked(ctx.db, bindingKey(binding)) ? SessionStatus.revoked : SessionStatus.active },
  ];
});

function requireRevoker(ctx: Ctx): void {
  if (isWorldAdmin(ctx, ctx.sender) || isWorldAdmin(ctx, me(ctx))) return;
  const service = readServiceClaims(ctx, configOf(ctx));
  if (!service.ok) throw refuse(service.code, `revoke_sessions denied: ${service.reason}`);
  if (!service.scopes.includes(Scope.worldRevoke))
    throw refuse('missing_scope', `revoke_sessions denied: token lacks scope ${Scope.worldRevoke}`);
}

/** Marks the revoked sessions' rows revoked, and their nodes offline when no session is left. */
function endRevokedSessions(ctx: Ctx, sessionIds: readonly string[], pubkey: string): void {
  const bindings = new Map<string, BindingRow>();
  for (const id of sessionIds)
    for (const binding of ctx.db.session_binding.session_id.filter(id)) bindings.set(binding.sender.toHexString(), binding);
  if (pubkey !== '') {
    for (const binding of ctx.db.session_binding.principal.filter(principalOf(pubkey))) bindings.set(binding.sender.toHexString(), binding);
  }
  const touched = new Map<string, BindingRow>();
  for (const key of [...bindings.keys()].sort()) {
    const binding = bindings.get(key)!;
    if (!isRevoked(ctx.db, bindingKey(binding))) continue;
    const session = ctx.db.autopilot_session.session_id.find(binding.session_id);
    if (session && session.status === SessionStatus.active) {
      ctx.db.autopilot_session.session_id.update({
        ...session,
        status: SessionStatus.revoked,
        connection_id: undefined,
        ended_at: ctx.timestamp,
      });
    }
    touched.set(binding.principal.toHexString(), binding);
  }
  for (const key of [...touched.keys()].sort()) {
    const principal = touched.get(key)!.principal;
    const node = ctx.db.autopilot_node.node_id.find(principal);
    if (!node || node.status === NodeStatus.offline) continue;
    let active = false;
    for (const session of ctx.db.autopilot_session.node_id.filter(principal)) if (session.status === SessionStatus.active) active = true;
    if (!active) ctx.db.autopilot_node.node_id.update({ ...node, status: NodeStatus.offline });
  }
}
