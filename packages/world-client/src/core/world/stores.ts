// Framework-agnostic stores (zustand vanilla): UIs and agents subscribe, the desktop bridge
// mirrors them into the renderer. Only the world client writes to them.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConnectionState } from '../connection';
import type { HealthSnapshot } from '../health';
import type { TransportSwitch } from '../transport';
import type {
  AssignmentView,
  CapabilityAdView,
  ChannelView,
  CheckpointView,
  ComputeRequestView,
  ConflictEventView,
  ConflictTicketView,
  FileView,
  MemberView,
  MessageView,
  NodeView,
  ParticipantView,
  PresenceEventView,
  SessionView,
  WorkspaceView,
  WorldSettingsView,
} from './models';

export interface ConnectionStoreState extends ConnectionState {
  /** Which lane carries writes and why (see TransportSelector). */
  readonly lane: 'spacetime' | 'nostr' | 'hold';
  readonly laneReason: string;
  readonly laneSwitches: readonly TransportSwitch[];
}

export interface PresenceState {
  /** Every node that ever joined, by identity hex. */
  readonly nodes: Readonly<Record<string, NodeView>>;
  /** This client's identity hex, once connected. */
  readonly self: string | null;
  readonly sessions: Readonly<Record<string, SessionView>>;
  /** Recent cursor/selection/typing events (newest last, bounded). */
  readonly events: readonly PresenceEventView[];
}

export interface ChannelsState {
  /** Channels this node sits in. */
  readonly mine: Readonly<Record<string, ChannelView>>;
  /** Every non-private channel (to browse and join). */
  readonly public: Readonly<Record<string, ChannelView>>;
  /** Participants of my channels, by channel id. */
  readonly participants: Readonly<Record<string, readonly ParticipantView[]>>;
  readonly checkpoints: Readonly<Record<string, CheckpointView>>;
}

export interface PendingMessage {
  readonly key: string;
  readonly channelId: string;
  readonly payload: string;
  readonly enqueuedAtMs: number;
  readonly attempts: number;
  readonly lastError?: string;
}

export interface MessagesState {
  /** Messages of my channels by channel id, ascending seq, no gaps or repeats. */
  readonly byChannel: Readonly<Record<string, readonly MessageView[]>>;
  /** Messages written here and not yet confirmed by the world (the outbox). */
  readonly pending: readonly PendingMessage[];
}

export interface CapabilitiesState {
  readonly ads: Readonly<Record<string, CapabilityAdView>>;
}

export interface ComputeState {
  /** Requests this node made. */
  readonly requests: Readonly<Record<string, ComputeRequestView>>;
  /** Requests offered to this node as a provider, and those assigned to it. */
  readonly inbox: Readonly<Record<string, ComputeRequestView>>;
  /** Assignments this node holds, and those on its requests. */
  readonly assignments: Readonly<Record<string, AssignmentView>>;
}

export interface FilesState {
  readonly files: Readonly<Record<string, FileView>>;
  readonly workspaces: Readonly<Record<string, WorkspaceView>>;
  readonly members: Readonly<Record<string, MemberView>>;
}

export interface ConflictsState {
  readonly tickets: Readonly<Record<string, ConflictTicketView>>;
  /** Conflict events as they happen (newest last, bounded). */
  readonly recent: readonly ConflictEventView[];
}

export interface WorldState {
  readonly settings: WorldSettingsView | null;
}

export interface WorldStores {
  readonly connection: StoreApi<ConnectionStoreState>;
  readonly health: StoreApi<HealthSnapshot>;
  readonly presence: StoreApi<PresenceState>;
  readonly channels: StoreApi<ChannelsState>;
  readonly messages: StoreApi<MessagesState>;
  readonly capabilities: StoreApi<CapabilitiesState>;
  readonly compute: StoreApi<ComputeState>;
  readonly files: StoreApi<FilesState>;
  readonly conflicts: StoreApi<ConflictsState>;
  readonly world: StoreApi<WorldState>;
}

export function createWorldStores(initial: { connection: ConnectionState; health: HealthSnapshot }): WorldStores {
  return {
    connection: createStore<ConnectionStoreState>()(() => ({
      ...initial.connection,
      lane: 'hold',
      laneReason: 'not connected yet',
      laneSwitches: [],
    })),
    health: createStore<HealthSnapshot>()(() => initial.health),
    presence: createStore<PresenceState>()(() => ({ nodes: {}, self: null, sessions: {}, events: [] })),
    channels: createStore<ChannelsState>()(() => ({ mine: {}, public: {}, participants: {}, checkpoints: {} })),
    messages: createStore<MessagesState>()(() => ({ byChannel: {}, pending: [] })),
    capabilities: createStore<CapabilitiesState>()(() => ({ ads: {} })),
    compute: createStore<ComputeState>()(() => ({ requests: {}, inbox: {}, assignments: {} })),
    files: createStore<FilesState>()(() => ({ files: {}, workspaces: {}, members: {} })),
    conflicts: createStore<ConflictsState>()(() => ({ tickets: {}, recent: [] })),
    world: createStore<WorldState>()(() => ({ settings: null })),
  };
}

/** Keyed record from a list. */
export function byKey<T>(items: Iterable<T>, key: (item: T) => string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items) out[key(item)] = item;
  return out;
}

/** A copy of `record` with upserts applied and deleted keys removed. */
export function patchRecord<T>(record: Readonly<Record<string, T>>, upserts: ReadonlyMap<string, T>, deletes: ReadonlySet<string>): Record<string, T> {
  const next: Record<string, T> = { ...record };
  for (const key of deletes) if (!upserts.has(key)) delete next[key];
  for (const [key, value] of upserts) next[key] = value;
  return next;
}

/** Appends, keeping only the last `limit` items. */
export function appendBounded<T>(list: readonly T[], items: readonly T[], limit: number): T[] {
  const next = [...list, ...items];
  return next.length > limit ? next.slice(next.length - limit) : next;
}
