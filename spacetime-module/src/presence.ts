// Nodes, sessions, heartbeats and peer links. A node is the user's principal (their Nostr key as
// an Identity, src/identity.ts), so all devices and issuers of one pubkey share a node row; each
// login is its own autopilot_session. A node is online while any of its sessions is, and goes offline on
// leave, on disconnect of its last session, or when heartbeats stop for presence_ttl_ms.
import type { Identity } from 'spacetimedb';
import { t } from 'spacetimedb/server';
import { authorize, authorizeNode, configOf, readClaims, requireScheduler, type Ctx, type WorldClaims } from './auth';
import { AssignmentStatus, ComputeStatus, LIVE_NODE_STATUSES, Limits, NodeStatus, PeerLinkStatus, SessionStatus } from './constants';
import spacetimedb, { presence_sweep } from './schema';
import { checkOneOf, checkText, checkToken } from './validate';
import { refuse } from './refuse';
import { bindCaller, isRevoked, me } from './identity';

export const join_world = spacetimedb.reducer(
  { display_name: t.string(), version: t.string(), region: t.string() },
  (ctx, { display_name, version, region }) => {
    const { claims } = authorize(ctx, 'join_world');
    checkText(display_name, 'display_name', Limits.name, { allowEmpty: true });
    checkText(version, 'version', Limits.kind * 2, { allowEmpty: true });
    checkText(region, 'region', Limits.kind * 2, { allowEmpty: true });
    touchSession(ctx, claims, 'join_world');
    const existing = ctx.db.autopilot_node.node_id.find(me(ctx));
    const row = {
      node_id: me(ctx),
      nostr_pubkey: claims.nostrPubkey,
      device_id: claims.deviceId,
      display_name,
      status: NodeStatus.online,
      last_heartbeat: ctx.timestamp,
      joined_at: existing?.joined_at ?? ctx.timestamp,
      version,
      region,
      org: claims.org,
    };
    if (existing) ctx.db.autopilot_node.node_id.update(row);
    else ctx.db.autopilot_node.insert(row);
  },
);

/** status: "online" (also for ""), "away" or "busy". A heartbeat also brings an expired node back. */
export const heartbeat = spacetimedb.reducer({ status: t.string() }, (ctx, { status }) => {
  const { claims, node } = authorizeNode(ctx, 'heartbeat');
  const next = status === '' ? NodeStatus.online : checkOneOf(status, 'status', LIVE_NODE_STATUSES);
  touchSession(ctx, claims, 'heartbeat');
  ctx.db.autopilot_node.node_id.update({ ...node, status: next, last_heartbeat: ctx.timestamp, device_id: claims.deviceId });
});

/** Ends the caller's session; the node goes offline unless another session is still active. */
export const leave_world = spacetimedb.reducer((ctx) => {
  const { claims } = authorizeNode(ctx, 'leave_world');
  const session = ctx.db.autopilot_session.session_id.find(claims.sessionId);
  if (session && session.status === SessionStatus.active) endSession(ctx, session, SessionStatus.ended);
  settleNodeStatus(ctx);
});

export const client_connected = spacetimedb.clientConnected((ctx) => {
  // Connections are accepted (the admin must be able to connect to configure the world) unless their
  // session was revoked; authorization happens per reducer. A reconnect with a known session rebinds it.
  const claims = readClaims(ctx, configOf(ctx));
  if (!claims.ok) return;
  // A revoked session may not connect at all (throwing here refuses the connection).
  if (isRevoked(ctx.db, claims.claims)) {
    throw refuse('session_revoked', `connection refused: session ${claims.claims.sessionId} was revoked: sign in again`);
  }
  bindCaller(ctx, claims.claims);
  const session = ctx.db.autopilot_session.session_id.find(claims.claims.sessionId);
  if (!session || !session.node_id.isEqual(me(ctx))) return;
  ctx.db.autopilot_session.session_id.update({ ...session, connection_id: ctx.connectionId ?? undefined, last_seen: ctx.timestamp });
});

export const client_disconnected = spacetimedb.clientDisconnected((ctx) => {
  const connection = ctx.connectionId;
  if (!connection) return;
  for (const session of [...ctx.db.autopilot_session.node_id.filter(me(ctx))]) {
    if (session.status === SessionStatus.active && session.connection_id?.isEqual(connection)) {
      endSession(ctx, session, SessionStatus.ended);
    }
  }
  settleNodeStatus(ctx);
});

/** Runs every presence_sweep_ms: expires silent nodes and compute requests past their SLA. */
export const expire_presence = spacetimedb.reducer({ onSchedule: presence_sweep }, { sweep: presence_sweep.rowType }, (ctx) => {
  requireScheduler(ctx, 'expire_presence');
  const config = configOf(ctx);
  const now = ctx.timestamp.microsSinceUnixEpoch;
  const cutoff = now - BigInt(config.presence_ttl_ms) * 1000n;
  for (const status of LIVE_NODE_STATUSES) {
    for (const node of [...ctx.db.autopilot_node.status.filter(status)]) {
      if (node.last_heartbeat.microsSinceUnixEpoch >= cutoff) continue;
      for (const session of [...ctx.db.autopilot_session.node_id.filter(node.node_id)]) {
        if (session.status === SessionStatus.active) endSession(ctx, session, SessionStatus.expired);
      }
      ctx.db.autopilot_node.node_id.update({ ...node, status: NodeStatus.offline });
    }
  }
  for (const status of [ComputeStatus.open, ComputeStatus.assigned]) {
    for (const request of [...ctx.db.compute_request.status.filter(status)]) {
      if (request.sla_ms === 0) continue;
      if (request.created_at.microsSinceUnixEpoch + BigInt(request.sla_ms) * 1000n > now) continue;
      const assignment = request.assignment_id === 0n ? null : ctx.db.compute_assignment.assignment_id.find(request.assignment_id);
      if (assignment && assignment.status === AssignmentStatus.accepted) {
        ctx.db.compute_assignment.assignment_id.update({
          ...assignment,
          status: AssignmentStatus.cancelled,
          reason: 'sla expired',
          updated_at: ctx.timestamp,
        });
      }
      ctx.db.compute_request.request_id.update({ ...request, status: ComputeStatus.expired, updated_at: ctx.timestamp });
    }
  }
});

// ---- peer links ----

export const request_peer_link = spacetimedb.reducer({ peer: t.identity(), kind: t.string() }, (ctx, { peer, kind }) => {
  authorizeNode(ctx, 'request_peer_link');
  checkToken(kind, 'kind', Limits.kind);
  if (peer.isEqual(me(ctx))) throw refuse('invalid_argument', 'request_peer_link: cannot link a node to itself');
  if (!ctx.db.autopilot_node.node_id.find(peer)) throw refuse('not_found', 'request_peer_link: the peer has never joined this world');
  const existing = findOpenLink(ctx, peer, kind);
  if (existing) return;
  ctx.db.peer_link.insert({
    link_id: 0n,
    initiator: me(ctx),
    peer,
    kind,
    status: PeerLinkStatus.requested,
    created_at: ctx.timestamp,
    updated_at: ctx.timestamp,
  });
});

export const accept_peer_link = spacetimedb.reducer({ link_id: t.u64() }, (ctx, { link_id }) => {
  authorizeNode(ctx, 'accept_peer_link');
  const link = ctx.db.peer_link.link_id.find(link_id);
  if (!link || !link.peer.isEqual(me(ctx))) throw refuse(link ? 'not_owner' : 'not_found', `accept_peer_link denied: no link ${link_id} addressed to you`);
  if (link.status === PeerLinkStatus.active) return;
  if (link.status !== PeerLinkStatus.requested) throw refuse('invalid_state', `accept_peer_link: link ${link_id} is ${link.status}`);
  ctx.db.peer_link.link_id.update({ ...link, status: PeerLinkStatus.active, updated_at: ctx.timestamp });
});

export const close_peer_link = spacetimedb.reducer({ link_id: t.u64() }, (ctx, { link_id }) => {
  authorizeNode(ctx, 'close_peer_link');
  const link = ctx.db.peer_link.link_id.find(link_id);
  if (!link || !(link.peer.isEqual(me(ctx)) || link.initiator.isEqual(me(ctx)))) {
    throw refuse(link ? 'not_owner' : 'not_found', `close_peer_link denied: no link ${link_id} of yours`);
  }
  if (link.status === PeerLinkStatus.closed) return;
  ctx.db.peer_link.link_id.update({ ...link, status: PeerLinkStatus.closed, updated_at: ctx.timestamp });
});

// ---- helpers ----

/** Creates or refreshes the caller's session row from its token claims. */
function touchSession(ctx: Ctx, claims: WorldClaims, action: string): void {
  const existing = ctx.db.autopilot_session.session_id.find(claims.sessionId);
  if (existing && !existing.node_id.isEqual(me(ctx))) {
    throw refuse('not_owner', `${action} denied: session ${claims.sessionId} belongs to another node`);
  }
  const row = {
    session_id: claims.sessionId,
    node_id: me(ctx),
    device_id: claims.deviceId,
    issuer: claims.issuer,
    scopes: claims.scopes,
    connection_id: ctx.connectionId ?? undefined,
    status: SessionStatus.active,
    token_expires_at: claims.expiresAt,
    started_at: existing?.started_at ?? ctx.timestamp,
    last_seen: ctx.timestamp,
    ended_at: undefined,
  };
  if (existing) ctx.db.autopilot_session.session_id.update(row);
  else ctx.db.autopilot_session.insert(row);
}

type SessionRow = NonNullable<ReturnType<Ctx['db']['autopilot_session']['session_id']['find']>>;

function endSession(ctx: Ctx, session: SessionRow, status: string): void {
  ctx.db.autopilot_session.session_id.update({ ...session, status, connection_id: undefined, ended_at: ctx.timestamp });
}

/** Offline once no session of the caller's node is active. */
function settleNodeStatus(ctx: Ctx): void {
  const node = ctx.db.autopilot_node.node_id.find(me(ctx));
  if (!node || node.status === NodeStatus.offline) return;
  for (const session of ctx.db.autopilot_session.node_id.filter(me(ctx))) {
    if (session.status === SessionStatus.active) return;
  }
  ctx.db.autopilot_node.node_id.update({ ...node, status: NodeStatus.offline });
}

function findOpenLink(ctx: Ctx, peer: Identity, kind: string) {
  for (const link of ctx.db.peer_link.initiator.filter(me(ctx))) {
    if (link.peer.isEqual(peer) && link.kind === kind && link.status !== PeerLinkStatus.closed) return link;
  }
  for (const link of ctx.db.peer_link.initiator.filter(peer)) {
    if (link.peer.isEqual(me(ctx)) && link.kind === kind && link.status !== PeerLinkStatus.closed) return link;
  }
  return undefined;
}
