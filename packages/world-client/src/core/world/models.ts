// What the stores hold: plain data that crosses any bridge (structured clone, JSON). Every view
// follows the naming rule in the root README ("Conventions"): times are milliseconds since the Unix
// epoch named `<event>AtMs`, durations `<name>Ms`; a view's own id is `id` and a reference to
// another record `<record>Id`; u64 ids are decimal strings, identities 64-char hex, Nostr keys
// `pubkey` (hex) / `npub`; counters that stay far below 2^53 (seq, versions) are numbers. The SDK's
// rows never leave the core.
import type { Identity, Timestamp } from 'spacetimedb';
import type {
  AutopilotNode,
  AutopilotSession,
  CapabilityAd,
  ChannelParticipant,
  CommsChannel,
  ComputeAssignment,
  ComputeRequest,
  ConflictEvent,
  ConflictTicket,
  FileHead,
  MessageEvent,
  PresenceEvent,
  TransportCheckpoint,
  Workspace,
  WorkspaceMember,
  WorldSettingsRow,
} from '../../module_bindings/types';

export interface NodeView {
  readonly id: string;
  readonly pubkey: string;
  readonly deviceId: string;
  readonly displayName: string;
  readonly status: string;
  readonly lastHeartbeatAtMs: number;
  readonly joinedAtMs: number;
  readonly version: string;
  readonly region: string;
  readonly org: string;
}

export interface SessionView {
  readonly id: string;
  readonly nodeId: string;
  readonly deviceId: string;
  readonly status: string;
  readonly scopes: readonly string[];
  readonly tokenExpiresAtMs: number;
  readonly lastSeenAtMs: number;
}

export interface ChannelView {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly topic: string;
  readonly kind: string;
  readonly isPrivate: boolean;
  readonly mirrorToNostr: boolean;
  readonly status: string;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly closedAtMs: number | null;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly participantCount: number;
  readonly idempotencyKey: string;
}

export interface ParticipantView {
  readonly id: string;
  readonly channelId: string;
  readonly participant: string;
  readonly role: string;
  readonly joinedAtMs: number;
}

export interface MessageView {
  readonly id: string;
  readonly channelId: string;
  readonly seq: number;
  readonly sender: string;
  readonly senderPubkey: string;
  readonly kind: string;
  readonly contentType: string;
  readonly payload: string;
  readonly replyToSeq: number;
  readonly idempotencyKey: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly sentAtMs: number;
}

export interface CheckpointView {
  readonly channelId: string;
  readonly lastSeenSeq: number;
  readonly lastAckedSeq: number;
  readonly updatedAtMs: number;
}

export interface CapabilityAdView {
  readonly id: string;
  readonly provider: string;
  readonly workspaceId: string;
  readonly tools: readonly string[];
  readonly models: readonly string[];
  readonly computeClasses: readonly string[];
  readonly maxConcurrency: number;
  /** JSON object text. */
  readonly priceHints: string;
  /** JSON object text. */
  readonly constraints: string;
  readonly region: string;
  readonly active: boolean;
  readonly updatedAtMs: number;
}

export interface ComputeRequestView {
  readonly id: string;
  readonly requester: string;
  readonly workspaceId: string;
  readonly targetProvider: string | null;
  readonly policyClass: string;
  /** JSON object text. */
  readonly jobEnvelope: string;
  readonly costHints: string;
  readonly maxPriceMsats: string;
  readonly slaMs: number;
  readonly status: string;
  /** "0" when unassigned. */
  readonly assignmentId: string;
  readonly idempotencyKey: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface AssignmentView {
  readonly id: string;
  readonly requestId: string;
  readonly provider: string;
  readonly status: string;
  readonly reason: string;
  readonly resultRef: string;
  readonly resultHash: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly completedAtMs: number | null;
}

export interface LineOpView {
  readonly start: number;
  readonly deleteCount: number;
  readonly lines: readonly string[];
}

export interface FileView {
  readonly id: string;
  readonly workspaceId: string;
  readonly path: string;
  readonly version: number;
  readonly content: string;
  readonly contentHash: string;
  readonly lineCount: number;
  readonly lastOpHash: string;
  readonly updatedBy: string;
  readonly updatedAtMs: number;
}

export interface ConflictRangeView {
  readonly kind: string;
  readonly oursStart: number;
  readonly oursEnd: number;
  readonly theirsStart: number;
  readonly theirsEnd: number;
  readonly headStart: number;
  readonly headEnd: number;
}

export interface ConflictTicketView {
  readonly id: string;
  readonly workspaceId: string;
  readonly fileId: string;
  readonly opId: string;
  readonly actor: string;
  readonly expectedBaseVersion: number;
  readonly headVersion: number;
  readonly headHash: string;
  readonly ops: readonly LineOpView[];
  readonly conflicts: readonly ConflictRangeView[];
  readonly status: string;
  readonly resolution: string;
  readonly createdAtMs: number;
}

export interface ConflictEventView {
  readonly ticketId: string;
  readonly workspaceId: string;
  readonly fileId: string;
  readonly opId: string;
  readonly actor: string;
  readonly headVersion: number;
  readonly conflicts: readonly ConflictRangeView[];
  readonly occurredAtMs: number;
}

export interface PresenceEventView {
  readonly workspaceId: string;
  readonly fileId: string;
  readonly actor: string;
  readonly kind: string;
  readonly anchor: { readonly line: number; readonly col: number };
  readonly head: { readonly line: number; readonly col: number };
  readonly occurredAtMs: number;
}

export interface WorkspaceView {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly owner: string;
  readonly createdAtMs: number;
}

export interface MemberView {
  readonly id: string;
  readonly workspaceId: string;
  readonly member: string;
  readonly role: string;
  readonly capabilities: readonly string[];
}

export interface WorldSettingsView {
  readonly configured: boolean;
  readonly trustedIssuers: readonly string[];
  readonly heartbeatIntervalMs: number;
  readonly presenceTtlMs: number;
  readonly maxMessageBytes: number;
  readonly maxFileBytes: number;
}

export const hex = (identity: Identity): string => identity.toHexString();
export const ms = (timestamp: Timestamp): number => Number(timestamp.toMillis());
export const id = (value: bigint): string => value.toString();

/** u64 counters as numbers; refuses values a number cannot hold exactly. */
export function count(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`counter ${value} exceeds 2^53`);
  return Number(value);
}

export const toNode = (row: AutopilotNode): NodeView => ({
  id: hex(row.nodeId),
  pubkey: row.nostrPubkey,
  deviceId: row.deviceId,
  displayName: row.displayName,
  status: row.status,
  lastHeartbeatAtMs: ms(row.lastHeartbeat),
  joinedAtMs: ms(row.joinedAt),
  version: row.version,
  region: row.region,
  org: row.org,
});

export const toSession = (row: AutopilotSession): SessionView => ({
  id: row.sessionId,
  nodeId: hex(row.nodeId),
  deviceId: row.deviceId,
  status: row.status,
  scopes: [...row.scopes],
  tokenExpiresAtMs: count(row.tokenExpiresAt) * 1000,
  lastSeenAtMs: ms(row.lastSeen),
});

export const toChannel = (row: CommsChannel): ChannelView => ({
  id: id(row.channelId),
  workspaceId: id(row.workspaceId),
  name: row.name,
  topic: row.topic,
  kind: row.kind,
  isPrivate: row.isPrivate,
  mirrorToNostr: row.mirrorToNostr,
  status: row.status,
  createdBy: hex(row.createdBy),
  createdAtMs: ms(row.createdAt),
  closedAtMs: row.closedAt ? ms(row.closedAt) : null,
  lastSeq: count(row.lastSeq),
  lastHash: row.lastHash,
  participantCount: row.participantCount,
  idempotencyKey: row.idempotencyKey,
});

export const toParticipant = (row: ChannelParticipant): ParticipantView => ({
  id: id(row.participationId),
  channelId: id(row.channelId),
  participant: hex(row.participant),
  role: row.role,
  joinedAtMs: ms(row.joinedAt),
});

export const toMessage = (row: MessageEvent): MessageView => ({
  id: id(row.eventId),
  channelId: id(row.channelId),
  seq: count(row.seq),
  sender: hex(row.sender),
  senderPubkey: row.senderPubkey,
  kind: row.kind,
  contentType: row.contentType,
  payload: row.payload,
  replyToSeq: count(row.replyToSeq),
  idempotencyKey: row.idempotencyKey,
  prevHash: row.prevHash,
  hash: row.hash,
  sentAtMs: ms(row.sentAt),
});

export const toCheckpoint = (row: TransportCheckpoint): CheckpointView => ({
  channelId: id(row.channelId),
  lastSeenSeq: count(row.lastSeenSeq),
  lastAckedSeq: count(row.lastAckedSeq),
  updatedAtMs: ms(row.updatedAt),
});

export const toCapabilityAd = (row: CapabilityAd): CapabilityAdView => ({
  id: id(row.adId),
  provider: hex(row.provider),
  workspaceId: id(row.workspaceId),
  tools: [...row.tools],
  models: [...row.models],
  computeClasses: [...row.computeClasses],
  maxConcurrency: row.maxConcurrency,
  priceHints: row.priceHints,
  constraints: row.constraints,
  region: row.region,
  active: row.active,
  updatedAtMs: ms(row.updatedAt),
});

export const toComputeRequest = (row: ComputeRequest): ComputeRequestView => ({
  id: id(row.requestId),
  requester: hex(row.requester),
  workspaceId: id(row.workspaceId),
  targetProvider: row.targetProvider ? hex(row.targetProvider) : null,
  policyClass: row.policyClass,
  jobEnvelope: row.jobEnvelope,
  costHints: row.costHints,
  maxPriceMsats: id(row.maxPriceMsats),
  slaMs: row.slaMs,
  status: row.status,
  assignmentId: id(row.assignmentId),
  idempotencyKey: row.idempotencyKey,
  createdAtMs: ms(row.createdAt),
  updatedAtMs: ms(row.updatedAt),
});

export const toAssignment = (row: ComputeAssignment): AssignmentView => ({
  id: id(row.assignmentId),
  requestId: id(row.requestId),
  provider: hex(row.provider),
  status: row.status,
  reason: row.reason,
  resultRef: row.resultRef,
  resultHash: row.resultHash,
  createdAtMs: ms(row.createdAt),
  updatedAtMs: ms(row.updatedAt),
  completedAtMs: row.completedAt ? ms(row.completedAt) : null,
});

export const toFile = (row: FileHead): FileView => ({
  id: id(row.fileId),
  workspaceId: id(row.workspaceId),
  path: row.path,
  version: count(row.version),
  content: row.content,
  contentHash: row.contentHash,
  lineCount: row.lineCount,
  lastOpHash: row.lastOpHash,
  updatedBy: hex(row.updatedBy),
  updatedAtMs: ms(row.updatedAt),
});

const toRange = (range: ConflictTicket['conflicts'][number]): ConflictRangeView => ({
  kind: range.kind,
  oursStart: range.oursStart,
  oursEnd: range.oursEnd,
  theirsStart: range.theirsStart,
  theirsEnd: range.theirsEnd,
  headStart: range.headStart,
  headEnd: range.headEnd,
});

export const toConflictTicket = (row: ConflictTicket): ConflictTicketView => ({
  id: id(row.ticketId),
  workspaceId: id(row.workspaceId),
  fileId: id(row.fileId),
  opId: row.opId,
  actor: hex(row.actor),
  expectedBaseVersion: count(row.expectedBaseVersion),
  headVersion: count(row.headVersion),
  headHash: row.headHash,
  ops: row.ops.map((op) => ({ start: op.start, deleteCount: op.deleteCount, lines: [...op.lines] })),
  conflicts: row.conflicts.map(toRange),
  status: row.status,
  resolution: row.resolution,
  createdAtMs: ms(row.createdAt),
});

export const toConflictEvent = (row: ConflictEvent): ConflictEventView => ({
  ticketId: id(row.ticketId),
  workspaceId: id(row.workspaceId),
  fileId: id(row.fileId),
  opId: row.opId,
  actor: hex(row.actor),
  headVersion: count(row.headVersion),
  conflicts: row.conflicts.map(toRange),
  occurredAtMs: ms(row.at),
});

export const toPresenceEvent = (row: PresenceEvent): PresenceEventView => ({
  workspaceId: id(row.workspaceId),
  fileId: id(row.fileId),
  actor: hex(row.actor),
  kind: row.kind,
  anchor: { line: row.anchorLine, col: row.anchorCol },
  head: { line: row.headLine, col: row.headCol },
  occurredAtMs: ms(row.at),
});

export const toWorkspace = (row: Workspace): WorkspaceView => ({
  id: id(row.workspaceId),
  slug: row.slug,
  name: row.name,
  owner: hex(row.owner),
  createdAtMs: ms(row.createdAt),
});

export const toMember = (row: WorkspaceMember): MemberView => ({
  id: id(row.membershipId),
  workspaceId: id(row.workspaceId),
  member: hex(row.member),
  role: row.role,
  capabilities: [...row.capabilities],
});

export const toWorldSettings = (row: WorldSettingsRow): WorldSettingsView => ({
  configured: row.configured,
  trustedIssuers: [...row.trustedIssuers],
  heartbeatIntervalMs: row.heartbeatIntervalMs,
  presenceTtlMs: row.presenceTtlMs,
  maxMessageBytes: row.maxMessageBytes,
  maxFileBytes: row.maxFileBytes,
});
