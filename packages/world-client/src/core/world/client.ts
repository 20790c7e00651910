// The world client: one object that lives in the world for an autopilot. It owns the connection
// lifecycle, the outbox, the transport selector, health metrics and the stores; it turns SDK rows
// into store data and hands channel messages to listeners exactly once, in order, resuming from
// the node's transport checkpoints after every reconnect.
import { DbConnection } from '../../module_bindings/index';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../backoff';
import { systemClock, systemTimers, type Clock, type TimerHandle, type Timers } from '../clock';
import { ConnectionManager, LinkError, type Connector, type LinkEvents, type LinkKind } from '../connection';
import { HealthMonitor } from '../health';
import { defaultFetch, type FetchLike } from '../http';
import { Listeners } from '../listeners';
import { silentLogger, type Logger } from '../logger';
import { MemoryOutboxStorage, Outbox, OutboxClosedError, type DeliveryOutcome, type OutboxEntry, type OutboxStorage } from '../outbox';
import { errorMessage } from '../result';
import { ChannelSequencer } from '../sequencer';
import type { TokenSource, TransportPolicy, WorldToken } from '../token';
import { SpacetimePrimary, TransportSelector, type CommsTransport } from '../transport';
import { createSocketFactory, SocketAuthError, type SdkSocketFactory, type WebSocketConstructor } from '../ws';
import { CALL_SPECS, isOutboxKind, sendEntry, type BuiltEntry, type CallInput, type OutboxKind, type StoredArgs } from './calls';
import { checkCount, checkId, checkString, InvalidArgument } from './checks';
import { classifyCallError, FATAL_REFUSALS, RETRYABLE_CODES, type WorldErrorCode, type WorldResult } from './errors';
import {
  toAssignment,
  toCapabilityAd,
  toChannel,
  toCheckpoint,
  toComputeRequest,
  toConflictEvent,
  toConflictTicket,
  toFile,
  toMember,
  toMessage,
  toNode,
  toParticipant,
  toPresenceEvent,
  toSession,
  toWorkspace,
  toWorldSettings,
  type MessageView,
} from './models';
import { appendBounded, byKey, createWorldStores, type PendingMessage, type WorldStores } from './stores';

/** Groups of subscriptions; a headless node may not need files, a UI wants everything. */
export type WorldFeature = 'presence' | 'channels' | 'messages' | 'capabilities' | 'compute' | 'files' | 'conflicts';
export const ALL_FEATURES: readonly WorldFeature[] = ['presence', 'channels', 'messages', 'capabilities', 'compute', 'files', 'conflicts'];

export interface WorldClientOptions {
  /** The world server, ws(s):// or http(s)://. */
  worldUrl: string;
  /** Database name of the world. */
  database: string;
  tokens: TokenSource & { transportPolicy?(): Promise<{ ok: true; policy: TransportPolicy } | { ok: false; message: string }> };
  WebSocket: WebSocketConstructor;
  fetch?: FetchLike;
  /** Where the outbox persists. Default: memory (lost with the process). */
  outboxStorage?: OutboxStorage;
  /** join_world on every link with these details; false to stay an observer. */
  join?: { displayName: string; version?: string; region?: string } | false;
  features?: readonly WorldFeature[];
  /** Ack (seen) every message handed to listeners. Default true. */
  autoAckSeen?: boolean;
  /** Heartbeat (and liveness probe) cadence; default: the world's setting, else 15 s. */
  heartbeatIntervalMs?: number;
  lostAfterMs?: number;
  connectTimeoutMs?: number;
  /** A reducer call without an answer after this long is retried. Default 30 s. */
  callTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  compression?: 'gzip' | 'none';
  supplemental?: CommsTransport;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
  logger?: Logger;
}

/** One connection with its subscriptions applied (and joined, when asked). */
export interface WorldLink {
  readonly id: number;
  readonly conn: DbConnection;
  readonly identity: string;
  readonly token: WorldToken;
  /** When the server's short-lived connection token expires (ms), if it said. */
  readonly connectionTokenExpiresAtMs: number | undefined;
  /** Resolves with the reason once the link is gone. */
  readonly closed: Promise<string>;
  readonly isClosed: boolean;
}

export interface DeliveredMessage extends MessageView {
  /** Written by this node. */
  readonly own: boolean;
}

export type WriteOptions = {
  /** 'delivered' (default): resolve once the world confirmed; 'queued': once stored in the outbox. */
  wait?: 'delivered' | 'queued';
};

type WriteResult<Extra extends object = object> = WorldResult<{ key: string; queued: boolean } & Extra>;

const RECENT_EVENTS = 200;

interface TableBinding {
  feature: WorldFeature;
  accessor: string;
  query: string;
  /** Event tables only insert, and keep nothing in the cache. */
  event?: boolean;
}

const TABLES: readonly TableBinding[] = [
  { feature: 'presence', accessor: 'autopilotNode', query: 'SELECT * FROM autopilot_node' },
  { feature: 'presence', accessor: 'mySessions', query: 'SELECT * FROM my_sessions' },
  { feature: 'presence', accessor: 'worldSettings', query: 'SELECT * FROM world_settings' },
  // The world tells the client when control revoked its session (see #refreshTables).
  { feature: 'presence', accessor: 'mySessionStatus', query: 'SELECT * FROM my_session_status' },
  { feature: 'channels', accessor: 'myChannels', query: 'SELECT * FROM my_channels' },
  { feature: 'channels', accessor: 'publicChannels', query: 'SELECT * FROM public_channels' },
  { feature: 'channels', accessor: 'myChannelParticipants', query: 'SELECT * FROM my_channel_participants' },
  { feature: 'channels', accessor: 'myCheckpoints', query: 'SELECT * FROM my_checkpoints' },
  { feature: 'messages', accessor: 'myMessages', query: 'SELECT * FROM my_messages' },
  { feature: 'capabilities', accessor: 'capabilityAd', query: 'SELECT * FROM capability_ad' },
  { feature: 'compute', accessor: 'myComputeRequests', query: 'SELECT * FROM my_compute_requests' },
  { feature: 'compute', accessor: 'computeInbox', query: 'SELECT * FROM compute_inbox' },
  { feature: 'compute', accessor: 'myComputeAssignments', query: 'SELECT * FROM my_compute_assignments' },
  { feature: 'files', accessor: 'myFiles', query: 'SELECT * FROM my_files' },
  { feature: 'files', accessor: 'workspace', query: 'SELECT * FROM workspace' },
  { feature: 'files', accessor: 'workspaceMember', query: 'SELECT * FROM workspace_member' },
  { feature: 'files', accessor: 'presenceEvent', query: 'SELECT * FROM presence_event', event: true },
  { feature: 'conflicts', accessor: 'myConflictTickets', query: 'SELECT * FROM my_conflict_tickets' },
  { feature: 'conflicts', accessor: 'conflictEvent', query: 'SELECT * FROM conflict_event', event: true },
];

/** The slice of an SDK table handle the client uses. */
interface TableHandle {
  iter(): Iterable<any>;
  onInsert(callback: (ctx: unknown, row: any) => void): void;
  onDelete(callback: (ctx: unknown, row: any) => void): void;
  onUpdate?(callback: (ctx: unknown, oldRow: any, newRow: any) => void): void;
}

interface LinkState extends WorldLink {
  isClosed: boolean;
  markClosed(reason: string): void;
}

export class WorldClient {
  readonly stores: WorldStores;
  readonly #options: WorldClientOptions;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #features: ReadonlySet<WorldFeature>;
  readonly #manager: ConnectionManager<LinkState>;
  readonly #outbox: Outbox;
  readonly #primary: SpacetimePrimary;
  readonly #selector: TransportSelector;
  readonly #health: HealthMonitor;
  readonly #sequencer: ChannelSequencer<MessageView>;
  readonly #messageListeners: Listeners<[DeliveredMessage]>;
  readonly #linkListeners: Listeners<[WorldLink, LinkKind]>;
  #link: LinkState | undefined;
  #nextLinkId = 1;
  #dirty = new Set<string>();
  #flushScheduled = false;
  #pendingTimer: TimerHandle | undefined;
  #healthTimer: TimerHandle | undefined;
  #status = 'online';
  #started = false;
  #stopped = false;

  constructor(options: WorldClientOptions) {
    if (!/^(wss?|https?):\/\/\S+$/.test(options.worldUrl)) throw new TypeError(`worldUrl must be a ws://, wss://, http:// or https:// URL`);
    if (typeof options.database !== 'string' || options.database === '') throw new TypeError('database must name the world database');
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger ?? silentLogger;
    this.#features = new Set(options.features ?? ALL_FEATURES);
    if (this.#features.has('messages')) (this.#features as Set<WorldFeature>).add('channels');
    this.#health = new HealthMonitor({ clock: this.#clock, heartbeatIntervalMs: options.heartbeatIntervalMs });
    this.#messageListeners = new Listeners('message', this.#logger);
    this.#linkListeners = new Listeners('world link', this.#logger);
    this.#sequencer = new ChannelSequencer((messages) => this.#deliverMessages(messages));

    this.#manager = new ConnectionManager<LinkState>({
      connector: this.#connector(),
      tokens: options.tokens,
      clock: this.#clock,
      timers: this.#timers,
      random: options.random,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      lostAfterMs: options.lostAfterMs,
      connectTimeoutMs: options.connectTimeoutMs,
      probeIntervalMs: () => this.#heartbeatIntervalMs(),
      logger: this.#logger,
    });
    this.#primary = new SpacetimePrimary({
      deliver: (entry) => this.#deliverEntry(entry),
      readiness: () => (this.#link ? { ready: true } : { ready: false, reason: this.#manager.state.reason || this.#manager.state.status }),
    });
    this.#selector = new TransportSelector({ primary: this.#primary, supplemental: options.supplemental, clock: this.#clock, logger: this.#logger });
    this.#outbox = new Outbox({
      storage: options.outboxStorage ?? new MemoryOutboxStorage(),
      deliver: (entry) => this.#selector.deliver(entry),
      clock: this.#clock,
      timers: this.#timers,
      random: options.random,
      logger: this.#logger,
    });

    this.stores = createWorldStores({ connection: this.#manager.state, health: this.#health.snapshot() });
    this.#wire();
  }

  /** This node's world identity (64 hex): the user's principal, i.e. their Nostr pubkey, once connected. */
  get identity(): string | null {
    return this.#manager.state.identity;
  }

  /** The lifecycle controls a host needs: state, forced reconnect, token swap, network hints. */
  get connection(): Pick<ConnectionManager<WorldLink>, 'state' | 'onState' | 'reconnect' | 'refreshNow' | 'setNetworkAvailable'> {
    return this.#manager;
  }

  get transport(): TransportSelector {
    return this.#selector;
  }

  get outbox(): Outbox {
    return this.#outbox;
  }

  /** The live link (SDK connection), for callers that need something the client does not wrap. */
  get link(): WorldLink | undefined {
    return this.#link;
  }

  /** Loads the outbox and starts connecting; resolves once connecting has begun. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#outbox.open();
    this.#manager.start();
    this.#tickHealth();
  }

  /** Leaves the world (when joined and connected, best effort) and closes everything. */
  async stop(options: { leave?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const link = this.#link;
    if (options.leave && link && this.#options.join) {
      await this.#call(link, (conn) => conn.reducers.leaveWorld({}), 2_000);
    }
    this.#manager.stop('stopped');
    await this.#outbox.close();
    this.#selector.close();
    if (this.#healthTimer !== undefined) this.#timers.clear(this.#healthTimer);
    if (this.#pendingTimer !== undefined) this.#timers.clear(this.#pendingTimer);
  }

  /** Resolves once connected (now or later); fails after `timeoutMs` or when the client gives up. */
  whenConnected(timeoutMs = 30_000): Promise<WorldResult> {
    if (this.#link) return Promise.resolve({ ok: true });
    return new Promise((resolve) => {
      const cleanups: Array<() => void> = [];
      let finished = false;
      const done = (result: WorldResult) => {
        if (finished) return;
        finished = true;
        for (const cleanup of cleanups) cleanup();
        resolve(result);
      };
      cleanups.push(this.#linkListeners.add(() => done({ ok: true })));
      cleanups.push(
        this.#manager.onState((state) => {
          if (state.status === 'offline') done({ ok: false, code: 'offline', message: `connection given up: ${state.reason}` });
        }),
      );
      const timer = this.#timers.set(
        () => done({ ok: false, code: 'timeout', message: `not connected after ${timeoutMs} ms (${this.#manager.state.reason})` }),
        timeoutMs,
      );
      cleanups.push(() => this.#timers.clear(timer));
    });
  }

  /** Every channel message, once, in seq order per channel, starting after the node's checkpoint. */
  onMessage(listener: (message: DeliveredMessage) => void): () => void {
    return this.#messageListeners.add(listener);
  }

  /** A link came up (first connect, reconnect, or token swap). */
  onLink(listener: (link: WorldLink, kind: LinkKind) => void): () => void {
    return this.#linkListeners.add(listener);
  }

  /** The status sent with heartbeats: online, away or busy. */
  setStatus(status: 'online' | 'away' | 'busy'): void {
    this.#status = status;
  }

  /** One heartbeat round trip; also refreshes presence. */
  async ping(): Promise<WorldResult<{ rttMs: number }>> {
    const link = this.#link;
    if (!link) return { ok: false, code: 'offline', message: this.#offlineReason() };
    const started = this.#clock.now();
    const outcome = await this.#call(link, (conn) => conn.reducers.heartbeat({ status: this.#status }), this.#options.lostAfterMs ?? 5_000);
    const rttMs = this.#clock.now() - started;
    if (!outcome.ok && (outcome.code === 'disconnected' || outcome.code === 'timeout')) return outcome;
    this.#health.recordRoundTrip(rttMs);
    this.#publishHealth();
    return outcome.ok ? { ok: true, rttMs } : outcome;
  }

  // ---- writes (outbox: stored, then delivered exactly once); each is its spec in CALL_SPECS ----

  publishMessage(input: CallInput<'publish_message'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('publish_message', input, options);
  }

  /** Moves this node's checkpoint: seen through `seq` and acknowledged through `ackedSeq` (default: seq). */
  ackMessage(input: { channelId: string; seq: number; ackedSeq?: number }, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('ack_message', { channelId: input.channelId, seq: input.seq, ackedSeq: input.ackedSeq }, options);
  }

  async openChannel(input: CallInput<'open_channel'>, options?: WriteOptions): Promise<WriteResult<{ channelId: string | null }>> {
    const result = await this.#write('open_channel', input, options);
    if (!result.ok) return result;
    const channel = Object.values(this.stores.channels.getState().mine).find((c) => c.idempotencyKey === result.key);
    return { ...result, channelId: channel?.id ?? null };
  }

  joinChannel(channelId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('join_channel', channelId, options);
  }

  leaveChannel(channelId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('leave_channel', channelId, options);
  }

  closeChannel(channelId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('close_channel', channelId, options);
  }

  addChannelParticipant(input: CallInput<'add_channel_participant'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('add_channel_participant', input, options);
  }

  advertiseCapabilities(input: CallInput<'advertise_capabilities'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('advertise_capabilities', input, options);
  }

  withdrawCapabilities(workspaceId?: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('withdraw_capabilities', workspaceId, options);
  }

  async requestCompute(input: CallInput<'request_compute'>, options?: WriteOptions): Promise<WriteResult<{ requestId: string | null }>> {
    const result = await this.#write('request_compute', input, options);
    if (!result.ok) return result;
    const request = Object.values(this.stores.compute.getState().requests).find((r) => r.idempotencyKey === result.key);
    return { ...result, requestId: request?.id ?? null };
  }

  cancelCompute(requestId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('cancel_compute', requestId, options);
  }

  acceptCompute(requestId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('accept_compute', requestId, options);
  }

  rejectCompute(input: CallInput<'reject_compute'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('reject_compute', input, options);
  }

  completeCompute(input: CallInput<'complete_compute'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('complete_compute', input, options);
  }

  /**
   * Edits a shared file (creating it at expectedBaseVersion 0). A stale edit is rebased by the
   * world; one that overlaps newer changes is not applied and opens a conflict ticket instead:
   * then `conflictTicketId` names it (when the conflicts feature is on).
   */
  async applyFileOps(input: CallInput<'apply_file_ops'>, options?: WriteOptions): Promise<WriteResult<{ conflictTicketId: string | null }>> {
    const result = await this.#write('apply_file_ops', input, options);
    if (!result.ok) return result;
    const ticket = Object.values(this.stores.conflicts.getState().tickets).find((t) => t.opId === result.key);
    return { ...result, conflictTicketId: ticket?.id ?? null };
  }

  resolveConflict(input: CallInput<'resolve_conflict'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('resolve_conflict', input, options);
  }

  createWorkspace(input: CallInput<'create_workspace'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('create_workspace', input, options);
  }

  inviteMember(input: CallInput<'invite_member'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('invite_member', input, options);
  }

  removeMember(input: CallInput<'remove_member'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('remove_member', input, options);
  }

  leaveWorkspace(workspaceId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('leave_workspace', workspaceId, options);
  }

  requestPeerLink(input: CallInput<'request_peer_link'>, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('request_peer_link', input, options);
  }

  acceptPeerLink(linkId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('accept_peer_link', linkId, options);
  }

  closePeerLink(linkId: string, options?: WriteOptions): Promise<WriteResult> {
    return this.#write('close_peer_link', linkId, options);
  }

  // ---- live-only calls (meaningless later, so never queued) ----

  /** Cursor, selection, typing or soft-lock presence; dropped when offline. */
  async publishPresence(input: {
    workspaceId: string;
    fileId?: string;
    kind: 'cursor' | 'selection' | 'typing' | 'idle' | 'soft_lock' | 'soft_unlock';
    anchor?: { line: number; col: number };
    head?: { line: number; col: number };
  }): Promise<WorldResult> {
    let args;
    try {
      const anchor = input.anchor ?? { line: 0, col: 0 };
      const head = input.head ?? anchor;
      args = {
        workspaceId: BigInt(checkId(input.workspaceId, 'workspaceId')),
        fileId: BigInt(checkId(input.fileId, 'fileId', '0')),
        kind: checkString(input.kind, 'kind'),
        anchorLine: checkCount(anchor.line, 'anchor.line', 0, 0xffff_ffff),
        anchorCol: checkCount(anchor.col, 'anchor.col', 0, 0xffff_ffff),
        headLine: checkCount(head.line, 'head.line', 0, 0xffff_ffff),
        headCol: checkCount(head.col, 'head.col', 0, 0xffff_ffff),
      };
    } catch (error) {
      return invalid(error);
    }
    const link = this.#link;
    if (!link) return { ok: false, code: 'offline', message: this.#offlineReason() };
    return this.#call(link, (conn) => conn.reducers.publishPresence(args));
  }

  /** Ends this session in the world (the node goes offline unless another device is online). */
  async leaveWorld(): Promise<WorldResult> {
    const link = this.#link;
    if (!link) return { ok: false, code: 'offline', message: this.#offlineReason() };
    return this.#call(link, (conn) => conn.reducers.leaveWorld({}));
  }

  // ---- internals ----

  #connector(): Connector<LinkState> {
    const fetch = this.#options.fetch ?? defaultFetch();
    return {
      open: (token, events) => {
        let connectionTokenExpiresAtMs: number | undefined;
        let authRefused = false;
        const sockets = createSocketFactory({
          WebSocket: this.#options.WebSocket,
          fetch,
          onFrame: () => this.#health.recordUpdate(this.#clock.now()),
          onShortLivedToken: (expiresAt) => {
            connectionTokenExpiresAtMs = expiresAt;
          },
        });
        const socketFactory: SdkSocketFactory = (args) =>
          sockets(args).catch((error: unknown) => {
            if (error instanceof SocketAuthError) authRefused = true;
            throw error;
          });
        return this.#openLink(token, events, socketFactory, () => connectionTokenExpiresAtMs, () => authRefused);
      },
      // The world checks the control token's own expiry (`control_exp`), not the host's
      // short-lived connection token, so a link lives until the control token is refreshed.
      expiresAtMs: (link) => link.token.expiresAtMs,
      close: (link) => {
        link.markClosed('closed by the client');
        link.conn.disconnect();
      },
      probe: async (link) => {
        const started = this.#clock.now();
        const outcome = await this.#call(link, (conn) => conn.reducers.heartbeat({ status: this.#status }), this.#options.lostAfterMs ?? 5_000);
        if (!outcome.ok && (outcome.code === 'disconnected' || outcome.code === 'timeout')) throw new Error(outcome.message);
        this.#health.recordRoundTrip(this.#clock.now() - started);
        if (!outcome.ok) {
          this.#logger.warn({ code: outcome.code, reason: outcome.message }, 'heartbeat refused');
          if (outcome.code === 'token_expired') void this.#manager.refreshNow();
        }
      },
    };
  }

  #openLink(
    token: WorldToken,
    events: LinkEvents,
    socketFactory: SdkSocketFactory,
    connectionTokenExpiresAtMs: () => number | undefined,
    authRefused: () => boolean,
  ): Promise<LinkState> {
    const id = this.#nextLinkId++;
    return new Promise<LinkState>((resolve, reject) => {
      let settled = false;
      let link: LinkState | undefined;
      const fail = (error: LinkError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const builder = DbConnection.builder()
        .withUri(this.#options.worldUrl)
        .withDatabaseName(this.#options.database)
        .withToken(token.token)
        .withCompression(this.#options.compression ?? 'gzip')
        .withWSFn(socketFactory as unknown as Parameters<ReturnType<typeof DbConnection.builder>['withWSFn']>[0])
        .onConnect((conn) => {
          // "Me" in the world is the principal: the user's Nostr key as an identity (docs/trust-model.md).
          link = makeLink(id, conn, token.pubkey, token, connectionTokenExpiresAtMs());
          this.#watchTables(link);
          const queries = TABLES.filter((table) => this.#features.has(table.feature)).map((table) => table.query);
          conn
            .subscriptionBuilder()
            .onApplied(() => {
              void this.#afterSubscribed(link!).then(
                () => {
                  if (link!.isClosed) fail(new LinkError('transient', 'the link closed while joining'));
                  else if (!settled) {
                    settled = true;
                    resolve(link!);
                  }
                },
                (error: unknown) => {
                  fail(error instanceof LinkError ? error : new LinkError('transient', errorMessage(error)));
                  conn.disconnect();
                },
              );
            })
            .onError((ctx) => {
              fail(new LinkError('fatal', `the world refused our subscriptions: ${errorMessage(ctx.event)}`));
              conn.disconnect();
            })
            .subscribe(queries);
        })
        .onConnectError((_ctx, error) => {
          // The socket factory saw the server refuse the token (401/403); the SDK may rewrap
          // the error on its way here, so the flag, not the error's text, carries that fact.
          const auth = error instanceof SocketAuthError || authRefused();
          fail(new LinkError(auth ? 'auth' : 'transient', `cannot connect to the world: ${errorMessage(error)}`));
        })
        .onDisconnect((_ctx, error) => {
          const reason = error ? `connection lost: ${errorMessage(error)}` : 'connection closed';
          if (link && !link.isClosed) {
            link.markClosed(reason);
            events.closed(reason);
          }
          fail(new LinkError('transient', reason));
        });
      builder.build();
    });
  }

  /** After the subscriptions applied: join the world, when asked to. */
  async #afterSubscribed(link: LinkState): Promise<void> {
    const join = this.#options.join;
    if (!join) return;
    const outcome = await this.#call(link, (conn) =>
      conn.reducers.joinWorld({ displayName: join.displayName, version: join.version ?? '', region: join.region ?? '' }),
    );
    if (outcome.ok) return;
    if (outcome.code === 'token_expired') throw new LinkError('auth', `join_world: ${outcome.message}`);
    if (outcome.refusal !== undefined && FATAL_REFUSALS.has(outcome.refusal)) {
      throw new LinkError('fatal', `the world refuses this node: ${outcome.message}`);
    }
    throw new LinkError('transient', `join_world failed: ${outcome.message}`);
  }

  /** A reducer call on a link, answered, failed, or cut short by the link's end or a timeout. */
  async #call(link: LinkState, call: (conn: DbConnection) => Promise<void>, timeoutMs = this.#options.callTimeoutMs ?? 30_000): Promise<WorldResult> {
    if (link.isClosed) return { ok: false, code: 'disconnected', message: 'the link is closed' };
    let timer: TimerHandle | undefined;
    const cutShort = Promise.race([
      link.closed.then((reason): WorldResult => ({ ok: false, code: 'disconnected', message: reason })),
      new Promise<WorldResult>((resolve) => {
        timer = this.#timers.set(() => resolve({ ok: false, code: 'timeout', message: `no answer after ${timeoutMs} ms` }), timeoutMs);
      }),
    ]);
    const answered = call(link.conn).then(
      (): WorldResult => ({ ok: true }),
      (error: unknown): WorldResult => ({ ok: false, ...classifyCallError(error) }),
    );
    try {
      return await Promise.race([answered, cutShort]);
    } finally {
      this.#timers.clear(timer);
    }
  }

  async #deliverEntry(entry: OutboxEntry): Promise<DeliveryOutcome> {
    const link = this.#link;
    if (!link) return { ok: false, retry: true, code: 'offline', message: this.#offlineReason() };
    const kind = entry.kind;
    if (!isOutboxKind(kind)) return { ok: false, retry: false, code: 'invalid_argument', message: `unknown outbox entry kind ${kind}` };
    const outcome = await this.#call(link, (conn) => sendEntry(conn, kind, entry.args as StoredArgs, entry.key));
    if (outcome.ok) return { ok: true };
    if (outcome.code === 'token_expired') void this.#manager.refreshNow();
    return { ok: false, retry: RETRYABLE_CODES.has(outcome.code), code: outcome.code, message: outcome.message };
  }

  /** Checks the input with its kind's spec, stores the entry, and (unless `wait: 'queued'`) waits for the world. */
  async #write<K extends OutboxKind>(kind: K, input: CallInput<K>, options: WriteOptions = {}): Promise<WriteResult> {
    let entry: BuiltEntry<StoredArgs>;
    try {
      entry = (CALL_SPECS[kind].build as (input: CallInput<K>) => BuiltEntry<StoredArgs>)(input);
    } catch (error) {
      return invalid(error);
    }
    let enqueued;
    try {
      enqueued = await this.#outbox.enqueue({ key: entry.key, kind, args: entry.args, coalesce: entry.coalesce });
    } catch (error) {
      if (error instanceof OutboxClosedError) return { ok: false, code: 'closed', message: 'the world client is stopped' };
      return { ok: false, code: 'storage_failed', message: `the outbox could not store the write: ${errorMessage(error)}` };
    }
    if (options.wait === 'queued') return { ok: true, key: enqueued.key, queued: true };
    const settled = await enqueued.settled;
    if (settled.ok) return { ok: true, key: settled.key, queued: false };
    return { ok: false, code: settled.code as WorldErrorCode, message: settled.message };
  }

  #wire(): void {
    this.#manager.onState((state) => {
      this.#health.setConnection({ connected: state.status === 'connected', reconnects: state.reconnects, tokenSwaps: state.tokenSwaps });
      this.stores.connection.setState({ ...state });
      this.#publishHealth();
    });
    this.#manager.onLink((link, kind) => this.#adoptLink(link, kind));
    this.#manager.onLinkDown((link) => {
      if (this.#link === link) this.#link = undefined;
      this.#primary.readinessChanged();
    });
    this.#manager.onRoundTrip(() => this.#publishHealth());
    this.#selector.onSwitch(() => this.#publishLane());
    this.#outbox.onChange((snapshot) => {
      this.#health.setOutboxDepth(snapshot.depth);
      this.#schedulePendingRefresh();
    });
  }

  #adoptLink(link: LinkState, kind: LinkKind): void {
    this.#link = link;
    this.stores.presence.setState({ self: link.identity });
    this.#resync(link);
    this.#primary.readinessChanged();
    // Whatever failed on the previous link (e.g. an expired token) may succeed on this one.
    this.#outbox.retryNow();
    this.#linkListeners.emit(link, kind);
    if (kind !== 'reconnect') void this.#refreshPolicy();
  }

  #publishLane(): void {
    const lane = this.#selector.lane;
    this.#outbox.setOnline(lane !== 'hold');
    this.stores.connection.setState({ lane, laneReason: this.#selector.reason, laneSwitches: this.#selector.audit() });
  }

  async #refreshPolicy(): Promise<void> {
    const fetchPolicy = this.#options.tokens.transportPolicy?.bind(this.#options.tokens);
    if (!fetchPolicy) return;
    const result = await fetchPolicy();
    if (result.ok) this.#selector.setPolicy(result.policy, 'policy from control');
    else this.#logger.warn({ reason: result.message }, 'transport policy unavailable; keeping the current one');
    this.#publishLane();
  }

  /** Registers row callbacks on a new link; they only act once the link is the live one. */
  #watchTables(link: LinkState): void {
    const db = link.conn.db as unknown as Record<string, TableHandle>;
    for (const table of TABLES) {
      if (!this.#features.has(table.feature)) continue;
      const handle = db[table.accessor];
      if (!handle) throw new Error(`the bindings have no table ${table.accessor}`);
      if (table.event) {
        handle.onInsert((_ctx, row) => {
          if (this.#link === link) this.#onEvent(table.accessor, row);
        });
        continue;
      }
      const touched = () => {
        if (this.#link === link) this.#markDirty(table.accessor, link);
      };
      handle.onInsert(touched);
      handle.onDelete(touched);
      handle.onUpdate?.(touched);
    }
  }

  #onEvent(accessor: string, row: unknown): void {
    if (accessor === 'presenceEvent') {
      const event = toPresenceEvent(row as Parameters<typeof toPresenceEvent>[0]);
      this.stores.presence.setState((s) => ({ events: appendBounded(s.events, [event], RECENT_EVENTS) }));
    } else if (accessor === 'conflictEvent') {
      const event = toConflictEvent(row as Parameters<typeof toConflictEvent>[0]);
      this.stores.conflicts.setState((s) => ({ recent: appendBounded(s.recent, [event], RECENT_EVENTS) }));
    }
  }

  /** Changes arrive row by row; the stores are rebuilt once per burst (one microtask later). */
  #markDirty(accessor: string, link: LinkState): void {
    this.#dirty.add(accessor);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const dirty = this.#dirty;
      this.#dirty = new Set();
      if (this.#link === link) this.#refreshTables(link, dirty, false);
    });
  }

  /** A new live link: every store is rebuilt from its cache, and messages resume from the checkpoints. */
  #resync(link: LinkState): void {
    this.#dirty.clear();
    const all = new Set(TABLES.filter((t) => !t.event && this.#features.has(t.feature)).map((t) => t.accessor));
    this.#refreshTables(link, all, true);
  }

  #refreshTables(link: LinkState, accessors: ReadonlySet<string>, resume: boolean): void {
    const db = link.conn.db;
    const rows = <Row, View>(handle: { iter(): Iterable<Row> }, convert: (row: Row) => View): View[] => [...handle.iter()].map(convert);
    for (const accessor of accessors) {
      switch (accessor) {
        case 'autopilotNode':
          this.stores.presence.setState({ nodes: byKey(rows(db.autopilotNode, toNode), (n) => n.id) });
          break;
        case 'mySessions':
          this.stores.presence.setState({ sessions: byKey(rows(db.mySessions, toSession), (s) => s.id) });
          break;
        case 'mySessionStatus': {
          const revoked = [...db.mySessionStatus.iter()].find((row) => row.status === 'revoked');
          // No retry loop: the session is gone; the app asks the user to sign in again.
          if (revoked) {
            this.#logger.warn({ session: revoked.sessionId }, 'session revoked by control; closing the world connection');
            this.#manager.stop(`session ${revoked.sessionId} was revoked: sign in again`, 'session_revoked');
          }
          break;
        }
        case 'worldSettings': {
          const [settings] = rows(db.worldSettings, toWorldSettings);
          this.stores.world.setState({ settings: settings ?? null });
          if (settings) this.#health.setHeartbeatInterval(this.#heartbeatIntervalMs());
          break;
        }
        case 'myChannels':
          this.stores.channels.setState({ mine: byKey(rows(db.myChannels, toChannel), (c) => c.id) });
          break;
        case 'publicChannels':
          this.stores.channels.setState({ public: byKey(rows(db.publicChannels, toChannel), (c) => c.id) });
          break;
        case 'myChannelParticipants': {
          const participants: Record<string, ReturnType<typeof toParticipant>[]> = {};
          for (const seat of rows(db.myChannelParticipants, toParticipant)) (participants[seat.channelId] ??= []).push(seat);
          this.stores.channels.setState({ participants });
          break;
        }
        case 'myCheckpoints':
          this.stores.channels.setState({ checkpoints: byKey(rows(db.myCheckpoints, toCheckpoint), (c) => c.channelId) });
          break;
        case 'myMessages':
          this.#refreshMessages(link, resume);
          break;
        case 'capabilityAd':
          this.stores.capabilities.setState({ ads: byKey(rows(db.capabilityAd, toCapabilityAd), (a) => a.id) });
          break;
        case 'myComputeRequests':
          this.stores.compute.setState({ requests: byKey(rows(db.myComputeRequests, toComputeRequest), (r) => r.id) });
          break;
        case 'computeInbox':
          this.stores.compute.setState({ inbox: byKey(rows(db.computeInbox, toComputeRequest), (r) => r.id) });
          break;
        case 'myComputeAssignments':
          this.stores.compute.setState({ assignments: byKey(rows(db.myComputeAssignments, toAssignment), (a) => a.id) });
          break;
        case 'myFiles':
          this.stores.files.setState({ files: byKey(rows(db.myFiles, toFile), (f) => f.id) });
          break;
        case 'workspace':
          this.stores.files.setState({ workspaces: byKey(rows(db.workspace, toWorkspace), (w) => w.id) });
          break;
        case 'workspaceMember':
          this.stores.files.setState({ members: byKey(rows(db.workspaceMember, toMember), (m) => m.id) });
          break;
        case 'myConflictTickets':
          this.stores.conflicts.setState({ tickets: byKey(rows(db.myConflictTickets, toConflictTicket), (t) => t.id) });
          break;
      }
    }
  }

  /**
   * Messages: the store gets every message of my channels (sorted, one per seq); listeners get
   * those after the checkpoint (on resume) or after the last one handed out, exactly once.
   */
  #refreshMessages(link: LinkState, resume: boolean): void {
    const all = [...link.conn.db.myMessages.iter()].map(toMessage);
    all.sort((a, b) => (a.channelId === b.channelId ? a.seq - b.seq : compareIds(a.channelId, b.channelId)));
    const byChannel: Record<string, MessageView[]> = {};
    for (const message of all) {
      const list = (byChannel[message.channelId] ??= []);
      const last = list[list.length - 1];
      if (last?.seq === message.seq) continue;
      list.push(message);
    }
    this.stores.messages.setState({ byChannel });
    if (resume) {
      for (const checkpoint of link.conn.db.myCheckpoints.iter()) {
        this.#sequencer.raiseFloor(checkpoint.channelId.toString(), Number(checkpoint.lastSeenSeq));
      }
    }
    this.#sequencer.offer(all);
  }

  #deliverMessages(messages: MessageView[]): void {
    const self = this.identity;
    const lastPerChannel = new Map<string, number>();
    for (const message of messages) {
      this.#messageListeners.emit({ ...message, own: message.sender === self });
      lastPerChannel.set(message.channelId, message.seq);
    }
    if (this.#options.autoAckSeen === false) return;
    const checkpoints = this.stores.channels.getState().checkpoints;
    for (const [channelId, seq] of lastPerChannel) {
      if ((checkpoints[channelId]?.lastSeenSeq ?? 0) >= seq) continue;
      void this.#write('ack_message', { channelId, seq, seenOnly: true }, { wait: 'queued' });
    }
  }

  #schedulePendingRefresh(): void {
    if (this.#pendingTimer !== undefined) return;
    this.#pendingTimer = this.#timers.set(() => {
      this.#pendingTimer = undefined;
      const pending: PendingMessage[] = [];
      for (const entry of this.#outbox.entries()) {
        if (entry.kind !== 'publish_message') continue;
        const args = entry.args as { channelId: string; payload: string };
        pending.push({
          key: entry.key,
          channelId: args.channelId,
          payload: args.payload,
          enqueuedAtMs: entry.enqueuedAt,
          attempts: entry.attempts,
          ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
        });
      }
      this.stores.messages.setState({ pending });
      this.#publishHealth();
    }, 50);
  }

  #tickHealth(): void {
    this.#publishHealth();
    this.#healthTimer = this.#timers.set(() => this.#tickHealth(), 1_000);
  }

  #publishHealth(): void {
    this.stores.health.setState(this.#health.snapshot(this.#clock.now()));
  }

  #heartbeatIntervalMs(): number {
    return this.#options.heartbeatIntervalMs ?? this.stores.world.getState().settings?.heartbeatIntervalMs ?? 15_000;
  }

  #offlineReason(): string {
    const state = this.#manager.state;
    return `not connected to the world (${state.status}${state.reason ? `: ${state.reason}` : ''})`;
  }
}

function makeLink(id: number, conn: DbConnection, identity: string, token: WorldToken, connectionTokenExpiresAtMs: number | undefined): LinkState {
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => {
    resolveClosed = resolve;
  });
  const link: LinkState = {
    id,
    conn,
    identity,
    token,
    connectionTokenExpiresAtMs,
    closed,
    isClosed: false,
    markClosed(reason: string) {
      if (link.isClosed) return;
      link.isClosed = true;
      resolveClosed(reason);
    },
  };
  return link;
}

function compareIds(a: string, b: string): number {
  return a.length === b.length ? (a < b ? -1 : a > b ? 1 : 0) : a.length - b.length;
}

function invalid(error: unknown): { ok: false; code: WorldErrorCode; message: string } {
  if (error instanceof InvalidArgument) return { ok: false, code: 'invalid_argument', message: error.message };
  throw error;
}

