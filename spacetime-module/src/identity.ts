// Who the caller is (docs/trust-model.md). The principal is the user's Nostr key as an Identity
// whose 32 bytes are the pubkey, so moving the control service (another issuer URL) changes
// nobody's rows. A connection identity (`ctx.sender`, derived from the token's iss + sub) is bound
// to its principal and session in session_binding whenever a trusted token is seen; reducers and
// views resolve their caller there. Binding also migrates worlds written before this model: rows
// keyed by old per-issuer identities of the same pubkey move to the principal.
import { Identity } from 'spacetimedb';
import type { Ctx, ReadDb, WorldClaims } from './auth';
import { ChannelRole, NodeStatus, WorkspaceRole } from './constants';

/** The principal of a Nostr pubkey (64 lowercase hex): an Identity with exactly those bytes. */
export function principalOf(pubkeyHex: string): Identity {
  return new Identity(pubkeyHex);
}

/**
 * The caller's principal inside a reducer. authorize() binds the sender first, so after it this is
 * the principal; a sender that never showed a trusted token (the publishing admin) is itself.
 */
export function me(ctx: Ctx): Identity {
  const known = principals.get(ctx.sender);
  if (known) return known;
  const principal = ctx.db.session_binding.sender.find(ctx.sender)?.principal;
  if (!principal) return ctx.sender;
  principals.set(ctx.sender, principal);
  return principal;
}

/**
 * Memo of me() per sender object (a reducer asks many times). Safe across calls and rollbacks:
 * a sender's principal never changes, because the sender is derived from a sub that starts with
 * the pubkey the principal is made of (readClaims checks they agree).
 */
const principals = new WeakMap<Identity, Identity>();

export type BindingRow = NonNullable<ReturnType<ReadDb['session_binding']['sender']['find']>>;

/** The binding of a view's subscriber, or undefined when it never showed a trusted token. */
export function bindingOf(db: ReadDb, sender: Identity): BindingRow | undefined {
  return db.session_binding.sender.find(sender) ?? undefined;
}

/** What revocation looks at: a token's session, user, device and issue time. */
export interface SessionKey {
  sessionId: string;
  nostrPubkey: string;
  deviceId: string;
  /** `iat`, seconds since the epoch (0 when absent: older than any watermark). */
  issuedAt: bigint;
}

/** Whether control revoked this session, or all of its user's (or device's) tokens issued before it. */
export function isRevoked(db: ReadDb, key: SessionKey): boolean {
  if (db.session_revocation.session_id.find(key.sessionId)) return true;
  for (const mark of db.principal_revocation.nostr_pubkey.filter(key.nostrPubkey)) {
    if (mark.device_id !== '' && mark.device_id !== key.deviceId) continue;
    if (key.issuedAt * 1_000_000n < mark.issued_before_micros) return true;
  }
  return false;
}

export function bindingKey(binding: BindingRow): SessionKey {
  return { sessionId: binding.session_id, nostrPubkey: binding.nostr_pubkey, deviceId: binding.device_id, issuedAt: binding.issued_at };
}

/** Records (or refreshes) which principal and session stand behind ctx.sender, then migrates. */
export function bindCaller(ctx: Ctx, claims: WorldClaims): Identity {
  const principal = principalOf(claims.nostrPubkey);
  const row = {
    sender: ctx.sender,
    principal,
    nostr_pubkey: claims.nostrPubkey,
    session_id: claims.sessionId,
    device_id: claims.deviceId,
    issuer: claims.issuer,
    scopes: claims.scopes,
    issued_at: claims.issuedAt,
    bound_at: ctx.timestamp,
  };
  const existing = ctx.db.session_binding.sender.find(ctx.sender);
  if (!existing) ctx.db.session_binding.insert(row);
  else if (!sameBinding(existing, row)) ctx.db.session_binding.sender.update(row);
  migrateLegacyRows(ctx, principal, claims.nostrPubkey);
  return principal;
}

function sameBinding(a: BindingRow, b: BindingRow): boolean {
  return (
    a.principal.isEqual(b.principal) &&
    a.session_id === b.session_id &&
    a.device_id === b.device_id &&
    a.issuer === b.issuer &&
    a.issued_at === b.issued_at &&
    a.scopes.length === b.scopes.length &&
    a.scopes.every((scope, i) => scope === b.scopes[i])
  );
}

const ROLE_RANK: Record<string, number> = {
  [WorkspaceRole.owner]: 3,
  [WorkspaceRole.admin]: 2,
  [WorkspaceRole.editor]: 1,
  [WorkspaceRole.viewer]: 0,
};

/**
 * Moves every ownership and state row of node rows with this pubkey but another node id (rows
 * keyed by the old ctx.sender, one per issuer the user came through) to the principal, and merges
 * the node rows (the newest wins field by field; joined_at keeps the earliest). Hash-covered
 * history (message_event, file_op) keeps the identity it was hashed with. A no-op once migrated:
 * one index lookup per binding.
 */
export function migrateLegacyRows(ctx: Ctx, principal: Identity, pubkey: string): void {
  const legacy = [...ctx.db.autopilot_node.nostr_pubkey.filter(pubkey)].filter((node) => !node.node_id.isEqual(principal));
  if (legacy.length === 0) return;
  // Oldest first, so the newest row's fields are written last and win.
  legacy.sort((a, b) => compareMicros(a.last_heartbeat.microsSinceUnixEpoch, b.last_heartbeat.microsSinceUnixEpoch));
  let merged = ctx.db.autopilot_node.node_id.find(principal) ?? undefined;
  for (const old of legacy) {
    const newer = !merged || old.last_heartbeat.microsSinceUnixEpoch > merged.last_heartbeat.microsSinceUnixEpoch;
    const base = newer ? old : merged!;
    const joinedAt =
      merged && merged.joined_at.microsSinceUnixEpoch < old.joined_at.microsSinceUnixEpoch ? merged.joined_at : old.joined_at;
    const online = base.status !== NodeStatus.offline || (merged !== undefined && merged.status !== NodeStatus.offline);
    merged = { ...base, node_id: principal, joined_at: joinedAt, status: online ? base.status : NodeStatus.offline };
    ctx.db.autopilot_node.node_id.delete(old.node_id);
    moveRows(ctx, old.node_id, principal);
  }
  if (!merged) return;
  if (ctx.db.autopilot_node.node_id.find(principal)) ctx.db.autopilot_node.node_id.update(merged);
  else ctx.db.autopilot_node.insert(merged);
}

function moveRows(ctx: Ctx, from: Identity, to: Identity): void {
  const db = ctx.db;
  for (const row of [...db.autopilot_session.node_id.filter(from)]) db.autopilot_session.session_id.update({ ...row, node_id: to });

  for (const row of [...db.peer_link.initiator.filter(from)]) db.peer_link.link_id.update({ ...row, initiator: to });
  for (const row of [...db.peer_link.peer.filter(from)]) db.peer_link.link_id.update({ ...row, peer: to });

  for (const row of [...db.workspace.owner.filter(from)]) db.workspace.workspace_id.update({ ...row, owner: to });
  for (const row of [...db.workspace_member.member.filter(from)]) {
    let kept: typeof row | undefined;
    for (const other of db.workspace_member.by_workspace_member.filter([row.workspace_id, to])) kept = other;
    if (!kept) {
      db.workspace_member.membership_id.update({ ...row, member: to });
    } else {
      // Two seats of one user in a workspace: keep the higher role.
      db.workspace_member.membership_id.delete(row.membership_id);
      if ((ROLE_RANK[row.role] ?? 0) > (ROLE_RANK[kept.role] ?? 0)) {
        db.workspace_member.membership_id.update({ ...kept, role: row.role, capabilities: row.capabilities, updated_at: ctx.timestamp });
      }
    }
  }

  for (const row of [...db.comms_channel.created_by.filter(from)]) db.comms_channel.channel_id.update({ ...row, created_by: to });
  for (const seat of [...db.channel_participant.participant.filter(from)]) {
    let kept: typeof seat | undefined;
    for (const other of db.channel_participant.by_channel_participant.filter([seat.channel_id, to])) kept = other;
    if (!kept) {
      db.channel_participant.participation_id.update({ ...seat, participant: to });
      continue;
    }
    db.channel_participant.participation_id.delete(seat.participation_id);
    if (seat.role === ChannelRole.owner && kept.role !== ChannelRole.owner)
      db.channel_participant.participation_id.update({ ...kept, role: ChannelRole.owner });
    const channel = db.comms_channel.channel_id.find(seat.channel_id);
    if (channel) db.comms_channel.channel_id.update({ ...channel, participant_count: channel.participant_count - 1 });
  }
  for (const row of [...db.transport_checkpoint.node_id.filter(from)]) {
    let kept: typeof row | undefined;
    for (const other of db.transport_checkpoint.by_node_channel.filter([to, row.channel_id])) kept = other;
    if (!kept) {
      db.transport_checkpoint.checkpoint_id.update({ ...row, node_id: to });
      continue;
    }
    db.transport_checkpoint.checkpoint_id.delete(row.checkpoint_id);
    db.transport_checkpoint.checkpoint_id.update({
      ...kept,
      last_seen_seq: kept.last_seen_seq > row.last_seen_seq ? kept.last_seen_seq : row.last_seen_seq,
      last_acked_seq: kept.last_acked_seq > row.last_acked_seq ? kept.last_acked_seq : row.last_acked_seq,
    });
  }

  for (const ad of [...db.capability_ad.provider.filter(from)]) {
    let kept: typeof ad | undefined;
    for (const other of db.capability_ad.by_provider_workspace.filter([to, ad.workspace_id])) kept = other;
    if (!kept) db.capability_ad.ad_id.update({ ...ad, provider: to });
    else {
      db.capability_ad.ad_id.delete(ad.ad_id);
      if (ad.updated_at.microsSinceUnixEpoch > kept.updated_at.microsSinceUnixEpoch)
        db.capability_ad.ad_id.update({ ...ad, ad_id: kept.ad_id, provider: to });
    }
  }
  for (const row of [...db.compute_request.requester.filter(from)]) db.compute_request.request_id.update({ ...row, requester: to });
  for (const row of [...db.compute_request.iter()]) {
    if (row.target_provider?.isEqual(from)) db.compute_request.request_id.update({ ...row, target_provider: to });
  }
  for (const row of [...db.compute_assignment.provider.filter(from)]) db.compute_assignment.assignment_id.update({ ...row, provider: to });

  for (const row of [...db.bridge_outbox.enqueued_by.filter(from)]) db.bridge_outbox.outbox_id.update({ ...row, enqueued_by: to });
  for (const row of [...db.conflict_ticket.actor.filter(from)]) db.conflict_ticket.ticket_id.update({ ...row, actor: to });
}

function compareMicros(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
