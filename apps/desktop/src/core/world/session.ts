// The world connection of one signed-in account, on world-client: its ControlTokenSource (NIP-98
// login and refresh), WorldClient (connection manager, subscriptions, stores, join + heartbeat)
// and its file-backed outbox (messages written offline are delivered once, by idempotency key).
// This adapter hands the client's store states to deriveViews unchanged and maps its write results
// into the core's action results; the renderer never sees world-client or SDK types.
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  ControlTokenSource,
  WorldClient,
  inlineResult,
  signerFromPrivateKey,
  type CapabilitiesState,
  type ChannelsState,
  type ComputeState,
  type FilesState,
  type MessagesState,
  type PresenceState,
  type TransportPolicy,
  type WorldResult,
} from '@autopilot/world-client';
import { FileOutboxStorage, NodeWebSocket, nodeFetch } from '@autopilot/world-client/node';

/** After this long without the world, "reconnecting" becomes "offline" (the client's lost signal). */
export const OFFLINE_AFTER_MS = 5000;

export interface SessionIdentity {
  privateKeyHex: string;
  publicKeyHex: string;
}

/** The user's side of the transport policy: the Nostr fallback toggle and relay list. */
export interface NostrPreferences {
  fallbackEnabled: boolean;
  relays: string[];
}

export interface WorldSessionOptions {
  worldUrl: string;
  databaseName: string;
  controlUrl: string;
  identity: SessionIdentity;
  deviceId: string;
  displayName: string;
  version: string;
  /** Folder for this account's outbox file. */
  dataDir: string;
  /** Read on every policy fetch, so a settings change applies from the next link on. */
  nostrPreferences: () => NostrPreferences;
  logger: Logger;
  /** Called (coalesced) whenever the snapshot or the connection state changed. */
  onChange: () => void;
}

export type SessionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface ConnectionInfo {
  status: SessionStatus;
  reason: string | null;
  since: number;
  attempt: number;
}

/**
 * What deriveViews reads: the world-client's store states as they are, so a field has one name from
 * the client's views to the bridge (README "Conventions"). The states are immutable snapshots.
 */
export interface WorldSnapshot {
  readonly presence: PresenceState;
  readonly channels: ChannelsState;
  readonly messages: MessagesState;
  readonly capabilities: CapabilitiesState;
  readonly compute: ComputeState;
  readonly files: FilesState;
}

/** Why a world action did not happen; the codes are the bridge contract's. */
export type ActionFailure = { ok: false; code: 'not_connected' | 'rejected' | 'not_found'; message: string };
export type ActionResult = { ok: true } | ActionFailure;

export class WorldSession {
  readonly options: WorldSessionOptions;
  readonly client: WorldClient;
  readonly #storage: FileOutboxStorage;
  readonly #unsubscribes: Array<() => void> = [];
  #changeTimer: ReturnType<typeof setTimeout> | undefined;
  #lostTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(options: WorldSessionOptions) {
    this.options = options;
    const tokens = new ControlTokenSource({
      controlUrl: options.controlUrl,
      signer: signerFromPrivateKey(options.identity),
      deviceId: options.deviceId,
      fetch: nodeFetch,
    });
    // The control service's policy, narrowed by what the user chose: the fallback only when both
    // allow it, and the user's relays when they listed any.
    const policySource = {
      current: () => tokens.current(),
      token: () => tokens.token(),
      refresh: () => tokens.refresh(),
      refreshAt: (token: Parameters<typeof tokens.refreshAt>[0]) => tokens.refreshAt(token),
      transportPolicy: async (): Promise<{ ok: true; policy: TransportPolicy } | { ok: false; message: string }> => {
        const fetched = await tokens.transportPolicy();
        if (!fetched.ok) return { ok: false, message: fetched.message };
        return { ok: true, policy: applyPreferences(fetched.policy, options.nostrPreferences()) };
      },
    };
    this.#storage = new FileOutboxStorage(join(options.dataDir, `outbox-${options.identity.publicKeyHex.slice(0, 16)}.jsonl`));
    this.client = new WorldClient({
      worldUrl: options.worldUrl,
      database: options.databaseName,
      tokens: policySource,
      WebSocket: NodeWebSocket,
      fetch: nodeFetch,
      outboxStorage: this.#storage,
      join: { displayName: options.displayName, version: options.version, region: '' },
      // 'files' brings the workspaces and their members (the shared editor's files ride along).
      features: ['presence', 'channels', 'messages', 'capabilities', 'compute', 'files'],
      lostAfterMs: OFFLINE_AFTER_MS,
      backoff: { maxMs: 3000 },
      logger: options.logger,
    });
    const stores = this.client.stores;
    for (const store of [stores.connection, stores.presence, stores.channels, stores.messages, stores.capabilities, stores.compute, stores.files]) {
      this.#unsubscribes.push(store.subscribe(() => this.#changed()));
    }
  }

  async start(): Promise<void> {
    await this.client.start();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    if (this.#changeTimer) clearTimeout(this.#changeTimer);
    if (this.#lostTimer) clearTimeout(this.#lostTimer);
    await this.client.stop({ leave: true }).catch(() => undefined);
    await this.#storage.close().catch(() => undefined);
  }

  info(): ConnectionInfo {
    const state = this.client.stores.connection.getState();
    const reason = state.reason === '' ? null : state.reason;
    if (state.status === 'connected') return { status: 'connected', reason: null, since: state.since, attempt: 0 };
    const everConnected = state.identity !== null;
    let status: SessionStatus = everConnected ? 'reconnecting' : 'connecting';
    if (state.status === 'offline' || state.lost || (state.status !== 'idle' && Date.now() - state.since >= OFFLINE_AFTER_MS && state.attempt > 0)) {
      status = 'offline';
    }
    return { status, reason, since: state.since, attempt: state.attempt };
  }

  snapshot(): WorldSnapshot {
    const stores = this.client.stores;
    return {
      presence: stores.presence.getState(),
      channels: stores.channels.getState(),
      messages: stores.messages.getState(),
      capabilities: stores.capabilities.getState(),
      compute: stores.compute.getState(),
      files: stores.files.getState(),
    };
  }

  // ---- actions ----

  /** Queues a message in the outbox (works offline); resolves with its idempotency key. */
  async sendMessage(channelId: string, payload: string): Promise<{ ok: true; key: string } | ActionFailure> {
    const result = await this.client.publishMessage({ channelId, payload }, { wait: 'queued' });
    return result.ok ? { ok: true, key: result.key } : { ok: false, code: 'rejected', message: result.message };
  }

  openChannel(args: { name: string; peers: string[]; isPrivate: boolean; workspaceId: string; key: string }): Promise<ActionResult> {
    const direct = args.isPrivate && args.peers.length === 1;
    return this.#live(() =>
      this.client.openChannel(
        {
          name: args.name,
          kind: direct ? 'direct' : 'group',
          isPrivate: args.isPrivate,
          participants: args.peers,
          workspaceId: args.workspaceId,
          idempotencyKey: args.key,
        },
        { wait: 'delivered' },
      ),
    );
  }

  markRead(channelId: string, seq: number): Promise<ActionResult> {
    return this.#live(() => this.client.ackMessage({ channelId, seq }, { wait: 'queued' }));
  }

  advertise(ad: { tools: string[]; models: string[]; computeClasses: string[]; maxConcurrency: number; priceHints: Record<string, unknown>; region: string }): Promise<ActionResult> {
    return this.#live(() => this.client.advertiseCapabilities(ad));
  }

  withdraw(): Promise<ActionResult> {
    return this.#live(() => this.client.withdrawCapabilities());
  }

  requestCompute(args: { key: string; provider: string; policyClass: string; job: Record<string, unknown>; maxPriceMsats: string }): Promise<ActionResult> {
    return this.#live(() =>
      this.client.requestCompute({
        idempotencyKey: args.key,
        policyClass: args.policyClass,
        job: args.job,
        maxPriceMsats: args.maxPriceMsats,
        targetProvider: args.provider,
      }),
    );
  }

  createWorkspace(slug: string, name: string): Promise<ActionResult> {
    return this.#live(() => this.client.createWorkspace({ slug, name }));
  }

  inviteMember(workspaceId: string, member: string, role: 'editor' | 'viewer'): Promise<ActionResult> {
    return this.#live(() => this.client.inviteMember({ workspaceId, member, role }));
  }

  acceptCompute(requestId: string): Promise<ActionResult> {
    return this.#live(() => this.client.acceptCompute(requestId));
  }

  rejectCompute(requestId: string, reason: string): Promise<ActionResult> {
    return this.#live(() => this.client.rejectCompute({ requestId, reason }));
  }

  completeCompute(requestId: string, success: boolean, result: string, reason: string): Promise<ActionResult> {
    if (!success) return this.#live(() => this.client.completeCompute({ requestId, success: false, reason }));
    const inline = inlineResult({ text: result });
    if (!inline.ok) return Promise.resolve({ ok: false, code: 'rejected', message: inline.reason });
    return this.#live(() => this.client.completeCompute({ requestId, success: true, resultRef: inline.resultRef, resultHash: inline.resultHash, reason }));
  }

  cancelCompute(requestId: string): Promise<ActionResult> {
    return this.#live(() => this.client.cancelCompute(requestId));
  }

  // ---- helpers ----

  /**
   * Actions other than messages need the world now: refused at once when it is away (rather than
   * queued behind an outage the user cannot see), else answered when the world confirms.
   */
  async #live(run: () => Promise<WorldResult<object>>): Promise<ActionResult> {
    if (!this.client.link) {
      const reason = this.client.stores.connection.getState().reason;
      return { ok: false, code: 'not_connected', message: `not connected to the world${reason ? ` (${reason})` : ''}; try again when it is back` };
    }
    const result = await run();
    if (result.ok) return { ok: true };
    const code = result.code === 'offline' || result.code === 'timeout' || result.code === 'disconnected' ? 'not_connected' : result.code === 'invalid_argument' ? 'not_found' : 'rejected';
    return { ok: false, code, message: result.message };
  }

  #changed(): void {
    if (this.#stopped) return;
    // Not connected: look again when the offline threshold passes, so the indicator flips on time.
    if (!this.#lostTimer && this.client.stores.connection.getState().status !== 'connected') {
      this.#lostTimer = setTimeout(() => {
        this.#lostTimer = undefined;
        this.#changed();
      }, OFFLINE_AFTER_MS + 50);
    }
    if (this.#changeTimer) return;
    this.#changeTimer = setTimeout(() => {
      this.#changeTimer = undefined;
      if (!this.#stopped) this.options.onChange();
    }, 10);
  }
}

export function applyPreferences(policy: TransportPolicy, preferences: NostrPreferences): TransportPolicy {
  return {
    ...policy,
    nostr: {
      ...policy.nostr,
      fallbackAllowed: policy.nostr.fallbackAllowed && preferences.fallbackEnabled,
      relays: preferences.relays.length > 0 ? [...preferences.relays] : [...policy.nostr.relays],
    },
  };
}
