// Views: the only way clients read private tables. Sender views resolve the subscriber's principal
// through session_binding (views cannot read tokens) and return just the rows it may see; a
// subscriber that never showed a trusted token sees nothing; anonymous views hold what everyone may see. Each returns whole table
// rows (with the table's primary key), in index order, each row at most once.
import type { Identity } from 'spacetimedb';
import { t } from 'spacetimedb/server';
import type { ReadDb } from './auth';
import { isOfferedTo } from './compute';
import { bindingKey, bindingOf, isRevoked, type BindingRow } from './identity';
import { BridgeState, CONFIG_ROW_ID, ComputeStatus, AssignmentStatus, Scope } from './constants';
import spacetimedb, {
  autopilot_session,
  bridge_outbox,
  channel_participant,
  comms_channel,
  compute_assignment,
  compute_request,
  conflict_ticket,
  file_head,
  file_op,
  file_snapshot,
  message_event,
  peer_link,
  transport_checkpoint,
} from './schema';

const WorldSettings = t.row('WorldSettingsRow', {
  configured: t.bool(),
  trusted_issuers: t.array(t.string()),
  heartbeat_interval_ms: t.u32(),
  presence_ttl_ms: t.u32(),
  checkpoint_every_ops: t.u32(),
  max_message_bytes: t.u32(),
  max_file_bytes: t.u32(),
});

/** What clients need from the private config: issuers to log in with, heartbeat cadence, limits. */
export const world_settings = spacetimedb.anonymousView({ public: true }, t.array(WorldSettings), (ctx) => {
  const config = ctx.db.world_config.config_id.find(CONFIG_ROW_ID);
  if (!config) return [];
  return [
    {
      configured: config.configured,
      trusted_issuers: config.trusted_issuers,
      heartbeat_interval_ms: config.heartbeat_interval_ms,
      presence_ttl_ms: config.presence_ttl_ms,
      checkpoint_every_ops: config.checkpoint_every_ops,
      max_message_bytes: config.max_message_bytes,
      max_file_bytes: config.max_file_bytes,
    },
  ];
});

export const my_sessions = spacetimedb.view({ public: true }, t.array(autopilot_session.rowType), (ctx) =>
  forViewer(ctx, (who) => [...ctx.db.autopilot_session.node_id.filter(who)]),
);

export const my_peer_links = spacetimedb.view({ public: true }, t.array(peer_link.rowType), (ctx) =>
  forViewer(ctx, (who) => [...ctx.db.peer_link.initiator.filter(who), ...ctx.db.peer_link.peer.filter(who)]),
);

/** Metadata of every non-private channel (to browse and join_channel). */
export const public_channels = spacetimedb.anonymousView({ public: true }, t.array(comms_channel.rowType), (ctx) => [
  ...ctx.db.comms_channel.is_private.filter(false),
]);

/** Channels the subscriber sits in, private ones included. */
export const my_channels = spacetimedb.view({ public: true }, t.array(comms_channel.rowType), (ctx) =>
  forViewer(ctx, (who) =>
    myChannelIds(ctx.db, who).flatMap((id) => {
      const channel = ctx.db.comms_channel.channel_id.find(id);
      return channel ? [channel] : [];
    }),
  ),
);

/** Who sits in the subscriber's channels. */
export const my_channel_participants = spacetimedb.view({ public: true }, t.array(channel_participant.rowType), (ctx) =>
  forViewer(ctx, (who) => myChannelIds(ctx.db, who).flatMap((id) => [...ctx.db.channel_participant.channel_id.filter(id)])),
);

/** Node-scoped inbound: every message of every channel the subscriber sits in. */
export const my_messages = spacetimedb.view({ public: true }, t.array(message_event.rowType), (ctx) =>
  forViewer(ctx, (who) => myChannelIds(ctx.db, who).flatMap((id) => [...ctx.db.message_event.channel_id.filter(id)])),
);

export const my_checkpoints = spacetimedb.view({ public: true }, t.array(transport_checkpoint.rowType), (ctx) =>
  forViewer(ctx, (who) => [...ctx.db.transport_checkpoint.node_id.filter(who)]),
);

export const my_compute_requests = spacetimedb.view({ public: true }, t.array(compute_request.rowType), (ctx) =>
  forViewer(ctx, (who) => [...ctx.db.compute_request.requester.filter(who)]),
);

/**
 * Provider-scoped: open requests offered to the subscriber (not already declined by it) and
 * requests whose current assignment is the subscriber's.
 */
export const compute_inbox = spacetimedb.view({ public: true }, t.array(compute_request.rowType), (ctx) =>
  forViewer(ctx, (who) => {
    const out = [];
    const declined = new Set<bigint>();
    const assignedToMe = new Set<bigint>();
    for (const assignment of ctx.db.compute_assignment.provider.filter(who)) {
      if (assignment.status === AssignmentStatus.rejected) declined.add(assignment.request_id);
      else assignedToMe.add(assignment.assignment_id);
    }
    for (const request of ctx.db.compute_request.status.filter(ComputeStatus.open)) {
      if (!declined.has(request.request_id) && isOfferedTo(ctx, request, who)) out.push(request);
    }
    for (const assignmentId of [...assignedToMe].sort(compareBigint)) {
      const assignment = ctx.db.compute_assignment.assignment_id.find(assignmentId);
      const request = assignment ? ctx.db.compute_request.request_id.find(assignment.request_id) : null;
      if (request && request.assignment_id === assignmentId) out.push(request);
    }
    return out;
  }),
);

/** Assignments the subscriber holds as provider, and those on the subscriber's requests. */
export const my_compute_assignments = spacetimedb.view({ public: true }, t.array(compute_assignment.rowType), (ctx) =>
  forViewer(ctx, (who) => {
    const mine = [...ctx.db.compute_assignment.provider.filter(who)];
    const seen = new Set(mine.map((row) => row.assignment_id));
    for (const request of ctx.db.compute_request.requester.filter(who)) {
      for (const row of ctx.db.compute_assignment.request_id.filter(request.request_id)) {
        if (!seen.has(row.assignment_id)) {
          seen.add(row.assignment_id);
          mine.push(row);
        }
      }
    }
    return mine;
  }),
);

/**
 * The mirror worker's queue: pending and failed outbox rows, for subscribers with an active
 * session whose token carries bridge:publish (views cannot read token claims themselves).
 */
export const bridge_pending = spacetimedb.view({ public: true }, t.array(bridge_outbox.rowType), (ctx) =>
  forViewer(ctx, (_who, binding) => {
    if (!isPublisher(binding)) return [];
    return [...ctx.db.bridge_outbox.state.filter(BridgeState.pending), ...ctx.db.bridge_outbox.state.filter(BridgeState.failed)];
  }),
);

/**
 * Outbox rows the subscriber enqueued (directly or by posting in a mirrored channel), any state;
 * a mirror worker (bridge:publish) sees every row, since it settles them all.
 */
export const my_bridge_events = spacetimedb.view({ public: true }, t.array(bridge_outbox.rowType), (ctx) =>
  forViewer(ctx, (who, binding) =>
    isPublisher(binding) ? [...ctx.db.bridge_outbox.iter()] : [...ctx.db.bridge_outbox.enqueued_by.filter(who)],
  ),
);

/** Heads of every file in the subscriber's workspaces. */
export const my_files = spacetimedb.view({ public: true }, t.array(file_head.rowType), (ctx) =>
  forViewer(ctx, (who) => myWorkspaceIds(ctx.db, who).flatMap((id) => [...ctx.db.file_head.workspace_id.filter(id)])),
);

/** Full op history of those files (for replay and chain verification). */
export const my_file_ops = spacetimedb.view({ public: true }, t.array(file_op.rowType), (ctx) =>
  forViewer(ctx, (who) => myFileIds(ctx.db, who).flatMap((id) => [...ctx.db.file_op.file_id.filter(id)])),
);

export const my_file_snapshots = spacetimedb.view({ public: true }, t.array(file_snapshot.rowType), (ctx) =>
  forViewer(ctx, (who) => myFileIds(ctx.db, who).flatMap((id) => [...ctx.db.file_snapshot.file_id.filter(id)])),
);

/** Conflict tickets of the subscriber's workspaces (open and resolved). */
export const my_conflict_tickets = spacetimedb.view({ public: true }, t.array(conflict_ticket.rowType), (ctx) =>
  forViewer(ctx, (who) => myWorkspaceIds(ctx.db, who).flatMap((id) => [...ctx.db.conflict_ticket.workspace_id.filter(id)])),
);

/**
 * Runs a sender view for the subscriber's principal; a subscriber without a binding (it never
 * showed a trusted token) sees nothing.
 */
function forViewer<T>(ctx: { db: ReadDb; sender: Identity }, rows: (who: Identity, binding: BindingRow) => T[]): T[] {
  const binding = bindingOf(ctx.db, ctx.sender);
  // A revoked session reads nothing, as an anonymous connection would.
  if (!binding || isRevoked(ctx.db, bindingKey(binding))) return [];
  return rows(binding.principal, binding);
}

/** Views cannot read token claims: the scopes of the subscriber's own session stand in. */
function isPublisher(binding: BindingRow): boolean {
  return binding.scopes.includes(Scope.bridgePublish);
}

function myChannelIds(db: ReadDb, who: Identity): bigint[] {
  return [...db.channel_participant.participant.filter(who)].map((seat) => seat.channel_id).sort(compareBigint);
}

function myWorkspaceIds(db: ReadDb, who: Identity): bigint[] {
  return [...db.workspace_member.member.filter(who)].map((row) => row.workspace_id).sort(compareBigint);
}

function myFileIds(db: ReadDb, who: Identity): bigint[] {
  return myWorkspaceIds(db, who).flatMap((id) => [...db.file_head.workspace_id.filter(id)].map((file) => file.file_id));
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
