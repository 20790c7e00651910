// Names and defaults shared by the reducers and views. String constants (not sum types) are used
// for statuses and roles so that clients can filter on them in subscription SQL.

/** Token scopes minted by the control service (apps/control STANDARD_SCOPES). */
export const Scope = {
  join: 'world:join',
  commsWrite: 'comms:write',
  computeRequest: 'compute:request',
  computeProvide: 'compute:provide',
  filesWrite: 'files:write',
  bridgePublish: 'bridge:publish',
  /** Control's own service token only: revoke_sessions. */
  worldRevoke: 'world:revoke',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

export const NodeStatus = { online: 'online', away: 'away', busy: 'busy', offline: 'offline' } as const;
/** Statuses a node may set for itself with heartbeat; offline is set by leave/expiry/disconnect. */
export const LIVE_NODE_STATUSES: readonly string[] = [NodeStatus.online, NodeStatus.away, NodeStatus.busy];

export const SessionStatus = { active: 'active', ended: 'ended', expired: 'expired', revoked: 'revoked' } as const;

export const PeerLinkStatus = { requested: 'requested', active: 'active', closed: 'closed' } as const;

export const ChannelKind = { group: 'group', direct: 'direct' } as const;
export const ChannelStatus = { open: 'open', closed: 'closed' } as const;
export const ChannelRole = { owner: 'owner', member: 'member' } as const;

export const WorkspaceRole = { owner: 'owner', admin: 'admin', editor: 'editor', viewer: 'viewer' } as const;
export type WorkspaceRole = (typeof WorkspaceRole)[keyof typeof WorkspaceRole];

/** What a workspace member may do; a member row lists the ones it holds. */
export const Capability = {
  membersManage: 'members:manage',
  channelsManage: 'channels:manage',
  commsWrite: 'comms:write',
  filesWrite: 'files:write',
  filesResolve: 'files:resolve',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];
export const ALL_CAPABILITIES: readonly Capability[] = Object.values(Capability);

/** Capabilities a role gets when an invite names none; also the most a role may hold. */
export const ROLE_CAPABILITIES: Readonly<Record<WorkspaceRole, readonly Capability[]>> = {
  owner: ALL_CAPABILITIES,
  admin: ALL_CAPABILITIES,
  editor: [Capability.commsWrite, Capability.filesWrite],
  viewer: [],
};

export const ComputeStatus = {
  open: 'open',
  assigned: 'assigned',
  completed: 'completed',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
  expired: 'expired',
} as const;
export const AssignmentStatus = {
  accepted: 'accepted',
  rejected: 'rejected',
  released: 'released',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;

export const BridgeState = { pending: 'pending', published: 'published', failed: 'failed' } as const;
export const BridgeSource = { message: 'message', direct: 'direct' } as const;

export const FileOpKind = { edit: 'edit', resolve: 'resolve' } as const;
export const TicketStatus = { open: 'open', resolved: 'resolved' } as const;
export const Resolution = { acceptHead: 'accept_head', patch: 'patch' } as const;

export const PresenceKind = ['cursor', 'selection', 'typing', 'idle', 'soft_lock', 'soft_unlock'] as const;

/** Tunables used until configure_world changes them (issue 4 defaults). */
export const DEFAULT_TUNABLES = {
  heartbeat_interval_ms: 15_000,
  presence_ttl_ms: 30_000,
  presence_sweep_ms: 5_000,
  checkpoint_every_ops: 50,
  max_message_bytes: 64 * 1024,
  max_file_bytes: 1024 * 1024,
} as const;

export const CONFIG_ROW_ID = 0;

/**
 * How far a token's iat/nbf may lie ahead of the world's clock (docs/trust-model.md): clocks of
 * control, host and clients drift a little; a token from further in the future is refused.
 */
export const CLOCK_SKEW_SECONDS = 30;

/** Upper bounds on free-form inputs, so one call cannot bloat the database. */
export const Limits = {
  idempotencyKey: 128,
  opId: 128,
  name: 128,
  topic: 1024,
  slug: 63,
  path: 1024,
  kind: 32,
  shortText: 256,
  jsonText: 16 * 1024,
  jobEnvelope: 256 * 1024,
  listEntries: 64,
  participants: 256,
  lineOpsPerCall: 10_000,
  rangeHashesPerCall: 64,
  trustedIssuers: 8,
  issuerBytes: 128,
} as const;
