// Every table of the Agent World. Public tables hold only what every joined node may see;
// everything else is private and reaches clients through sender-scoped views (src/views.ts).
// Conventions: u64 auto-inc ids (0n on insert), identities as t.identity(), times as
// t.timestamp(), hashes as lowercase hex strings, "0" ids mean "none" where noted.
// Multi-column indexes are plain (non-unique) btrees; reducers enforce their uniqueness, because a
// composite unique constraint would change the runtime accessor shape of single-column indexes.
import { schema, t, table } from 'spacetimedb/server';
import { ConflictRangeType, LineOpType } from './types';

// ---- world administration (private) ----

export const world_admin = table(
  { name: 'world_admin' },
  {
    admin: t.identity().primaryKey(),
    added_by: t.identity(),
    added_at: t.timestamp(),
  },
);

/** A single row (config_id 0): trusted issuers and tunables. */
export const world_config = table(
  { name: 'world_config' },
  {
    config_id: t.u32().primaryKey(),
    configured: t.bool(),
    trusted_issuers: t.array(t.string()),
    heartbeat_interval_ms: t.u32(),
    presence_ttl_ms: t.u32(),
    presence_sweep_ms: t.u32(),
    checkpoint_every_ops: t.u32(),
    max_message_bytes: t.u32(),
    max_file_bytes: t.u32(),
    updated_by: t.identity(),
    updated_at: t.timestamp(),
  },
);

/** Interval schedule driving expire_presence (one row). */
export const presence_sweep = table(
  { name: 'presence_sweep' },
  {
    sweep_id: t.u64().primaryKey().autoInc(),
    scheduled_at: t.scheduleAt(),
  },
);

/** One-shot schedule driving run_checkpoint_job (at most one pending row per file). */
export const checkpoint_job = table(
  { name: 'checkpoint_job' },
  {
    job_id: t.u64().primaryKey().autoInc(),
    scheduled_at: t.scheduleAt(),
    file_id: t.u64().index('btree'),
  },
);

// ---- nodes, sessions, peers ----

export const autopilot_node = table(
  { name: 'autopilot_node', public: true },
  {
    node_id: t.identity().primaryKey(),
    nostr_pubkey: t.string().index('btree'),
    device_id: t.string(),
    display_name: t.string(),
    status: t.string().index('btree'),
    last_heartbeat: t.timestamp(),
    joined_at: t.timestamp(),
    version: t.string(),
    region: t.string(),
    org: t.string(),
  },
);

/** One row per control-service session (JWT session_id) a node joined with. */
export const autopilot_session = table(
  { name: 'autopilot_session' },
  {
    session_id: t.string().primaryKey(),
    node_id: t.identity().index('btree'),
    device_id: t.string(),
    issuer: t.string(),
    scopes: t.array(t.string()),
    connection_id: t.option(t.connectionId()),
    status: t.string().index('btree'),
    /** `exp` claim of the token last seen for this session (seconds since the epoch). */
    token_expires_at: t.u64(),
    started_at: t.timestamp(),
    last_seen: t.timestamp(),
    ended_at: t.option(t.timestamp()),
  },
);

/**
 * Which principal (the user's Nostr key as an Identity, see src/identity.ts) and session stand
 * behind a connection identity (`ctx.sender`, derived from the token's iss + sub). Written whenever
 * a trusted token is seen; views, which cannot read tokens, resolve their caller here.
 */
export const session_binding = table(
  { name: 'session_binding' },
  {
    sender: t.identity().primaryKey(),
    principal: t.identity().index('btree'),
    nostr_pubkey: t.string(),
    session_id: t.string().index('btree'),
    device_id: t.string(),
    issuer: t.string(),
    scopes: t.array(t.string()),
    /** The token's `iat` (seconds; 0 when absent), compared with revocation watermarks. */
    issued_at: t.u64(),
    bound_at: t.timestamp(),
  },
);

/** Sessions control revoked (revoke_sessions): their connections are refused and see nothing. */
export const session_revocation = table(
  { name: 'session_revocation' },
  {
    session_id: t.string().primaryKey(),
    revoked_by: t.identity(),
    revoked_at: t.timestamp(),
  },
);

/**
 * Watermarks from revoke_sessions: every token of `nostr_pubkey` (of `device_id` only, unless "")
 * issued before `issued_before_micros` is refused, whatever its session id.
 */
export const principal_revocation = table(
  { name: 'principal_revocation' },
  {
    revocation_id: t.u64().primaryKey().autoInc(),
    nostr_pubkey: t.string().index('btree'),
    device_id: t.string(),
    issued_before_micros: t.u64(),
    revoked_by: t.identity(),
    revoked_at: t.timestamp(),
  },
);

export const peer_link = table(
  { name: 'peer_link' },
  {
    link_id: t.u64().primaryKey().autoInc(),
    initiator: t.identity().index('btree'),
    peer: t.identity().index('btree'),
    kind: t.string(),
    status: t.string(),
    created_at: t.timestamp(),
    updated_at: t.timestamp(),
  },
);

// ---- workspaces ----

export const workspace = table(
  { name: 'workspace', public: true },
  {
    workspace_id: t.u64().primaryKey().autoInc(),
    slug: t.string().unique(),
    name: t.string(),
    owner: t.identity().index('btree'),
    created_at: t.timestamp(),
  },
);

export const workspace_member = table(
  {
    name: 'workspace_member',
    public: true,
    indexes: [{ accessor: 'by_workspace_member', algorithm: 'btree', columns: ['workspace_id', 'member'] }],
  },
  {
    membership_id: t.u64().primaryKey().autoInc(),
    workspace_id: t.u64().index('btree'),
    member: t.identity().index('btree'),
    role: t.string(),
    capabilities: t.array(t.string()),
    invited_by: t.identity(),
    joined_at: t.timestamp(),
    updated_at: t.timestamp(),
  },
);

// ---- comms ----

/** workspace_id 0 = a world-level channel. last_seq/last_hash are the head of the message chain. */
export const comms_channel = table(
  { name: 'comms_channel' },
  {
    channel_id: t.u64().primaryKey().autoInc(),
    workspace_id: t.u64().index('btree'),
    name: t.string(),
    topic: t.string(),
    kind: t.string(),
    is_private: t.bool().index('btree'),
    mirror_to_nostr: t.bool(),
    status: t.string(),
    created_by: t.identity().index('btree'),
    created_at: t.timestamp(),
    closed_at: t.option(t.timestamp()),
    closed_by: t.option(t.identity()),
    last_seq: t.u64(),
    last_hash: t.string(),
    participant_count: t.u32(),
    idempotency_key: t.string().index('btree'),
  },
);

export const channel_participant = table(
  {
    name: 'channel_participant',
    indexes: [{ accessor: 'by_channel_participant', algorithm: 'btree', columns: ['channel_id', 'participant'] }],
  },
  {
    participation_id: t.u64().primaryKey().autoInc(),
    channel_id: t.u64().index('btree'),
    participant: t.identity().index('btree'),
    role: t.string(),
    added_by: t.identity(),
    joined_at: t.timestamp(),
  },
);

/** Append-only. hash = sha256(canonical encoding, src/canonical.ts) chained through prev_hash. */
export const message_event = table(
  {
    name: 'message_event',
    indexes: [{ accessor: 'by_channel_seq', algorithm: 'btree', columns: ['channel_id', 'seq'] }],
  },
  {
    event_id: t.u64().primaryKey().autoInc(),
    channel_id: t.u64().index('btree'),
    seq: t.u64(),
    sender: t.identity().index('btree'),
    sender_pubkey: t.string(),
    kind: t.string(),
    content_type: t.string(),
    payload: t.string(),
    /** 0 = not a reply. */
    reply_to_seq: t.u64(),
    idempotency_key: t.string().index('btree'),
    prev_hash: t.string(),
    hash: t.string(),
    sent_at: t.timestamp(),
  },
);

export const transport_checkpoint = table(
  {
    name: 'transport_checkpoint',
    indexes: [{ accessor: 'by_node_channel', algorithm: 'btree', columns: ['node_id', 'channel_id'] }],
  },
  {
    checkpoint_id: t.u64().primaryKey().autoInc(),
    node_id: t.identity().index('btree'),
    channel_id: t.u64().index('btree'),
    last_seen_seq: t.u64(),
    last_acked_seq: t.u64(),
    updated_at: t.timestamp(),
  },
);

// ---- compute ----

/** One ad per (provider, workspace_id); workspace_id 0 = offered world-wide. */
export const capability_ad = table(
  {
    name: 'capability_ad',
    public: true,
    indexes: [{ accessor: 'by_provider_workspace', algorithm: 'btree', columns: ['provider', 'workspace_id'] }],
  },
  {
    ad_id: t.u64().primaryKey().autoInc(),
    provider: t.identity().index('btree'),
    workspace_id: t.u64().index('btree'),
    tools: t.array(t.string()),
    models: t.array(t.string()),
    compute_classes: t.array(t.string()),
    max_concurrency: t.u32(),
    /** JSON object, e.g. {"msats_per_minute": 100}. */
    price_hints: t.string(),
    /** JSON object, e.g. {"max_runtime_s": 600}. */
    constraints: t.string(),
    region: t.string(),
    active: t.bool(),
    created_at: t.timestamp(),
    updated_at: t.timestamp(),
  },
);

export const compute_request = table(
  { name: 'compute_request' },
  {
    request_id: t.u64().primaryKey().autoInc(),
    requester: t.identity().index('btree'),
    workspace_id: t.u64().index('btree'),
    /** none = any provider with a matching ad may accept. */
    target_provider: t.option(t.identity()),
    policy_class: t.string().index('btree'),
    job_envelope: t.string(),
    /** JSON object (free-form hints for providers). */
    cost_hints: t.string(),
    max_price_msats: t.u64(),
    /** 0 = no deadline; otherwise the request expires sla_ms after created_at unless finished. */
    sla_ms: t.u32(),
    status: t.string().index('btree'),
    /** 0 = no current assignment. */
    assignment_id: t.u64(),
    idempotency_key: t.string().index('btree'),
    created_at: t.timestamp(),
    updated_at: t.timestamp(),
  },
);

export const compute_assignment = table(
  {
    name: 'compute_assignment',
    indexes: [{ accessor: 'by_request_provider', algorithm: 'btree', columns: ['request_id', 'provider'] }],
  },
  {
    assignment_id: t.u64().primaryKey().autoInc(),
    request_id: t.u64().index('btree'),
    provider: t.identity().index('btree'),
    status: t.string(),
    reason: t.string(),
    result_ref: t.string(),
    result_hash: t.string(),
    created_at: t.timestamp(),
    updated_at: t.timestamp(),
    completed_at: t.option(t.timestamp()),
  },
);

// ---- Nostr bridge ----

export const bridge_outbox = table(
  { name: 'bridge_outbox' },
  {
    outbox_id: t.u64().primaryKey().autoInc(),
    /** "message" (mirrored channel message) or "direct" (enqueue_nostr_bridge_event). */
    source: t.string(),
    channel_id: t.u64().index('btree'),
    /** The mirrored message_event, 0 for direct events. */
    message_event_id: t.u64(),
    nostr_kind: t.u32(),
    content: t.string(),
    /** JSON array of string arrays (Nostr tags). */
    tags_json: t.string(),
    idempotency_key: t.string().index('btree'),
    state: t.string().index('btree'),
    nostr_event_id: t.string().index('btree'),
    relay: t.string(),
    attempts: t.u32(),
    last_error: t.string(),
    enqueued_by: t.identity().index('btree'),
    enqueued_at: t.timestamp(),
    updated_at: t.timestamp(),
    published_at: t.option(t.timestamp()),
  },
);

// ---- shared files ----

export const file_head = table(
  {
    name: 'file_head',
    indexes: [{ accessor: 'by_workspace_path', algorithm: 'btree', columns: ['workspace_id', 'path'] }],
  },
  {
    file_id: t.u64().primaryKey().autoInc(),
    workspace_id: t.u64().index('btree'),
    path: t.string(),
    version: t.u64(),
    content: t.string(),
    content_hash: t.string(),
    line_count: t.u32(),
    /** op_hash of the op that produced `version` (GENESIS_HASH at version 0). */
    last_op_hash: t.string(),
    /** Version of the newest file_snapshot (0 = none). */
    snapshot_version: t.u64(),
    created_by: t.identity(),
    created_at: t.timestamp(),
    updated_by: t.identity(),
    updated_at: t.timestamp(),
  },
);

/** Append-only. `ops` are the ops as applied to version - 1 (after any rebase). */
export const file_op = table(
  {
    name: 'file_op',
    indexes: [{ accessor: 'by_file_version', algorithm: 'btree', columns: ['file_id', 'version'] }],
  },
  {
    op_seq: t.u64().primaryKey().autoInc(),
    op_id: t.string().unique(),
    file_id: t.u64().index('btree'),
    version: t.u64(),
    kind: t.string(),
    actor: t.identity().index('btree'),
    applied_at: t.timestamp(),
    expected_base_version: t.u64(),
    rebased: t.bool(),
    ops: t.array(LineOpType),
    before_hash: t.string(),
    after_hash: t.string(),
    prev_op_hash: t.string(),
    op_hash: t.string(),
  },
);

export const file_snapshot = table(
  {
    name: 'file_snapshot',
    indexes: [{ accessor: 'by_file_version', algorithm: 'btree', columns: ['file_id', 'version'] }],
  },
  {
    snapshot_id: t.u64().primaryKey().autoInc(),
    file_id: t.u64().index('btree'),
    version: t.u64(),
    content: t.string(),
    content_hash: t.string(),
    /** Chain head at this version, so replay from here can continue the op chain. */
    op_hash: t.string(),
    created_at: t.timestamp(),
  },
);

/** Event table: cursors, selections, typing and advisory soft locks. Lines/cols are 0-based. */
export const presence_event = table(
  { name: 'presence_event', public: true, event: true },
  {
    workspace_id: t.u64(),
    /** 0 = workspace-level (e.g. typing in no particular file). */
    file_id: t.u64(),
    actor: t.identity(),
    kind: t.string(),
    anchor_line: t.u32(),
    anchor_col: t.u32(),
    head_line: t.u32(),
    head_col: t.u32(),
    at: t.timestamp(),
  },
);

/** Event table: one row per edit that could not be rebased (its ticket holds the details). */
export const conflict_event = table(
  { name: 'conflict_event', public: true, event: true },
  {
    ticket_id: t.u64(),
    workspace_id: t.u64(),
    file_id: t.u64(),
    op_id: t.string(),
    actor: t.identity(),
    head_version: t.u64(),
    head_hash: t.string(),
    conflicts: t.array(ConflictRangeType),
    at: t.timestamp(),
  },
);

export const conflict_ticket = table(
  { name: 'conflict_ticket' },
  {
    ticket_id: t.u64().primaryKey().autoInc(),
    workspace_id: t.u64().index('btree'),
    file_id: t.u64().index('btree'),
    op_id: t.string().unique(),
    actor: t.identity().index('btree'),
    expected_base_version: t.u64(),
    head_version: t.u64(),
    head_hash: t.string(),
    ops: t.array(LineOpType),
    conflicts: t.array(ConflictRangeType),
    status: t.string().index('btree'),
    /** "" while open, then "accept_head" or "patch". */
    resolution: t.string(),
    resolution_op_id: t.string(),
    resolved_by: t.option(t.identity()),
    resolved_at: t.option(t.timestamp()),
    created_at: t.timestamp(),
  },
);

const spacetimedb = schema({
  world_admin,
  world_config,
  presence_sweep,
  checkpoint_job,
  autopilot_node,
  autopilot_session,
  peer_link,
  workspace,
  workspace_member,
  comms_channel,
  channel_participant,
  message_event,
  transport_checkpoint,
  capability_ad,
  compute_request,
  compute_assignment,
  bridge_outbox,
  file_head,
  file_op,
  file_snapshot,
  presence_event,
  conflict_event,
  conflict_ticket,
  session_binding,
  session_revocation,
  principal_revocation,
});

export default spacetimedb;
export type WorldSchema = typeof spacetimedb;
