// The connection lifecycle: connect with a control token, notice a dead link, reconnect with
// jittered backoff, and swap to a refreshed token before the old one expires (the new link is
// opened before the old one is closed, so the swap is invisible to the user). What a "link" is
// — an SDK connection with its subscriptions applied — is the connector's business.
import { backoffDelay, checkBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { systemClock, systemTimers, type Clock, type TimerHandle, type Timers } from './clock';
import { Listeners } from './listeners';
import { silentLogger, type Logger } from './logger';
import { errorMessage } from './result';
import type { TokenSource, WorldToken } from './token';

export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Why the status is what it is; '' while connected. */
  readonly reason: string;
  /** The lost-connection signal: the world has been unreachable for `lostAfterMs`. */
  readonly lost: boolean;
  /** When `status` last changed (ms since the epoch). */
  readonly since: number;
  /** Failed attempts since the last successful connect. */
  readonly attempt: number;
  /** When the next attempt is due, while one is scheduled. */
  readonly nextRetryAt: number | null;
  /** Links opened after the first: reconnects after a loss. */
  readonly reconnects: number;
  /** Links opened to swap in a refreshed token. */
  readonly tokenSwaps: number;
  /** The world identity (64 hex: the principal, i.e. the Nostr pubkey) of the current or last link. */
  readonly identity: string | null;
  /**
   * Why the connection stopped for good, when the app must act: `session_revoked` = control revoked
   * this session (the world said so); sign in again. null otherwise.
   */
  readonly code: 'session_revoked' | null;
}

/** How a link reports its end to the manager. */
export interface LinkEvents {
  closed(reason: string): void;
}

/** Thrown by a connector: 'auth' gets a fresh token before the next attempt, 'fatal' stops retrying. */
export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(
    readonly kind: 'auth' | 'fatal' | 'transient',
    message: string,
  ) {
    super(message);
  }
}

export interface Connector<Link> {
  /** Opens a link with the token; resolves once it is usable. `events.closed` fires at most once, after that. */
  open(token: WorldToken, events: LinkEvents): Promise<Link>;
  close(link: Link): void;
  /**
   * Resolves when the world answered a round trip (whatever the answer), rejects when the link
   * failed. Used for liveness and round-trip latency.
   */
  probe?(link: Link): Promise<void>;
  /**
   * When the link's own credentials run out (ms since the epoch), if earlier than the token's:
   * a server may bind a connection to a short-lived token of its own. The link is swapped before.
   */
  expiresAtMs?(link: Link): number | undefined;
}

export type LinkKind = 'first' | 'reconnect' | 'token_refresh';

export interface ConnectionManagerOptions<Link> {
  connector: Connector<Link>;
  tokens: TokenSource;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** The lost-connection signal and the probe timeout. Default 5000. */
  lostAfterMs?: number;
  /** An attempt that has not produced a link after this long is abandoned. Default 15000. */
  connectTimeoutMs?: number;
  /** Probe the live link this often (read before each probe); 0 disables probing. Default 0. */
  probeIntervalMs?: number | (() => number);
  logger?: Logger;
}

interface CurrentLink<Link> {
  readonly id: number;
  readonly link: Link;
  readonly token: WorldToken;
}

const INITIAL_STATE: ConnectionState = {
  status: 'idle',
  reason: 'not started',
  lost: false,
  since: 0,
  attempt: 0,
  nextRetryAt: null,
  reconnects: 0,
  tokenSwaps: 0,
  identity: null,
  code: null,
};

export class ConnectionManager<Link> {
  readonly #connector: Connector<Link>;
  readonly #tokens: TokenSource;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #lostAfterMs: number;
  readonly #connectTimeoutMs: number;
  readonly #probeIntervalMs: () => number;
  readonly #logger: Logger;

  readonly #stateListeners: Listeners<[ConnectionState]>;
  readonly #linkListeners: Listeners<[Link, LinkKind]>;
  readonly #linkDownListeners: Listeners<[Link, string]>;
  readonly #rttListeners: Listeners<[number]>;

  #state: ConnectionState;
  #current: CurrentLink<Link> | undefined;
  #nextLinkId = 1;
  /** Bumped by stop(), reconnect() and network changes: attempts of an older epoch are discarded. */
  #epoch = 0;
  #attemptRunning = false;
  #everConnected = false;
  #refreshTokenFirst = false;
  #networkAvailable = true;
  #retryTimer: TimerHandle | undefined;
  #lostTimer: TimerHandle | undefined;
  #refreshTimer: TimerHandle | undefined;
  #probeTimer: TimerHandle | undefined;
  #refreshAttempt = 0;
  #swapInFlight: Promise<void> | undefined;
  /** Links opened but not adopted yet, and those among them that already reported closed. */
  readonly #opening = new Set<number>();
  readonly #closedBeforeAdoption = new Set<number>();

  constructor(options: ConnectionManagerOptions<Link>) {
    this.#connector = options.connector;
    this.#tokens = options.tokens;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    checkBackoff(this.#backoff);
    this.#lostAfterMs = positive(options.lostAfterMs ?? 5_000, 'lostAfterMs');
    this.#connectTimeoutMs = positive(options.connectTimeoutMs ?? 15_000, 'connectTimeoutMs');
    const probeInterval = options.probeIntervalMs ?? 0;
    if (typeof probeInterval === 'number' && !(probeInterval >= 0)) {
      throw new RangeError('probeIntervalMs must be 0 (off) or a positive number of milliseconds');
    }
    this.#probeIntervalMs = typeof probeInterval === 'number' ? () => probeInterval : probeInterval;
    this.#logger = options.logger ?? silentLogger;
    this.#stateListeners = new Listeners('connection state', this.#logger);
    this.#linkListeners = new Listeners('link', this.#logger);
    this.#linkDownListeners = new Listeners('link down', this.#logger);
    this.#rttListeners = new Listeners('rtt', this.#logger);
    this.#state = { ...INITIAL_STATE, since: this.#clock.now() };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The live link, if connected. */
  get link(): Link | undefined {
    return this.#current?.link;
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    return this.#stateListeners.add(listener);
  }

  /** A new link is live (first connect, reconnect, or token swap — the old link is closed right after). */
  onLink(listener: (link: Link, kind: LinkKind) => void): () => void {
    return this.#linkListeners.add(listener);
  }

  /** The live link was lost (not called for links closed on purpose). */
  onLinkDown(listener: (link: Link, reason: string) => void): () => void {
    return this.#linkDownListeners.add(listener);
  }

  /** Round-trip time of each successful probe, in ms. */
  onRoundTrip(listener: (ms: number) => void): () => void {
    return this.#rttListeners.add(listener);
  }

  start(): void {
    if (this.#state.status !== 'idle' && !(this.#state.status === 'offline' && this.#current === undefined)) return;
    this.#epoch += 1;
    this.#setState({ status: 'connecting', reason: 'starting', attempt: 0, nextRetryAt: null, code: null });
    this.#armLostTimer();
    void this.#attempt();
  }

  /** Closes the link and stops all retries; `start()` begins again. */
  stop(reason = 'stopped', code: ConnectionState['code'] = null): void {
    this.#epoch += 1;
    this.#clearTimers();
    const current = this.#current;
    this.#current = undefined;
    if (current) this.#closeQuietly(current.link);
    this.#setState({ status: 'offline', reason, nextRetryAt: null, code });
  }

  /** Drops the live link (if any) and connects again now, optionally with a fresh token. */
  reconnect(reason: string, options: { refreshToken?: boolean } = {}): void {
    if (this.#state.status === 'offline' || this.#state.status === 'idle') return;
    if (options.refreshToken) this.#refreshTokenFirst = true;
    const current = this.#current;
    if (current) {
      this.#current = undefined;
      this.#closeQuietly(current.link);
      this.#linkLost(current, reason);
    }
    this.#epoch += 1;
    this.#cancel('retry');
    this.#setState({ nextRetryAt: null });
    void this.#attempt();
  }

  /** Tells the manager whether the machine has a network; without one it waits instead of retrying. */
  setNetworkAvailable(available: boolean): void {
    if (available === this.#networkAvailable) return;
    this.#networkAvailable = available;
    if (!available) {
      this.#epoch += 1;
      this.#cancel('retry');
      this.#cancel('refresh');
      this.#cancel('probe');
      const current = this.#current;
      this.#current = undefined;
      if (current) {
        this.#closeQuietly(current.link);
        this.#linkDownListeners.emit(current.link, 'network unavailable');
      }
      if (this.#state.status !== 'idle') {
        this.#setState({ status: 'offline', reason: 'network unavailable', nextRetryAt: null });
        this.#armLostTimer();
      }
      return;
    }
    if (this.#state.status === 'offline' && this.#state.reason === 'network unavailable') {
      this.#epoch += 1;
      this.#setState({ status: this.#everConnected ? 'reconnecting' : 'connecting', reason: 'network available again', attempt: 0 });
      void this.#attempt();
    }
  }

  /**
   * Swaps the live link for a new one with a freshly issued token now (e.g. the world said the
   * token expired), instead of waiting for the schedule. Concurrent calls share one swap.
   */
  refreshNow(): Promise<void> {
    if (!this.#swapInFlight) {
      this.#cancel('refresh');
      this.#swapInFlight = this.#refreshLink(true).finally(() => {
        this.#swapInFlight = undefined;
      });
    }
    return this.#swapInFlight;
  }

  async #attempt(): Promise<void> {
    if (this.#attemptRunning) return;
    this.#attemptRunning = true;
    const epoch = this.#epoch;
    try {
      const tokenResult = this.#refreshTokenFirst ? await this.#tokens.refresh() : await this.#tokens.token();
      if (epoch !== this.#epoch) return;
      if (!tokenResult.ok) {
        if (tokenResult.retryable) this.#scheduleRetry(`cannot get a token: ${tokenResult.message}`, tokenResult.retryAfterMs);
        else this.#goOffline(`cannot get a token: ${tokenResult.message}`);
        return;
      }
      this.#refreshTokenFirst = false;
      const opened = await this.#open(tokenResult.token);
      if (epoch !== this.#epoch) {
        if (opened.ok) this.#discard(opened.current);
        return;
      }
      if (!opened.ok) {
        if (opened.kind === 'fatal') this.#goOffline(opened.reason);
        else {
          if (opened.kind === 'auth') this.#refreshTokenFirst = true;
          this.#scheduleRetry(opened.reason);
        }
        return;
      }
      this.#adopt(opened.current, this.#everConnected ? 'reconnect' : 'first');
    } finally {
      this.#attemptRunning = false;
      // A reconnect() that arrived while this attempt was running starts its own attempt now.
      if (epoch !== this.#epoch && this.#current === undefined && this.#state.status !== 'offline' && this.#retryTimer === undefined) {
        void this.#attempt();
      }
    }
  }

  async #open(token: WorldToken): Promise<{ ok: true; current: CurrentLink<Link> } | { ok: false; kind: LinkError['kind']; reason: string }> {
    const id = this.#nextLinkId++;
    this.#opening.add(id);
    let timedOut = false;
    let timer: TimerHandle | undefined;
    const opening = this.#connector.open(token, { closed: (reason) => this.#onClosed(id, reason) });
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#timers.set(() => {
        timedOut = true;
        reject(new LinkError('transient', `no connection after ${this.#connectTimeoutMs} ms`));
      }, this.#connectTimeoutMs);
    });
    try {
      const link = await Promise.race([opening, timeout]);
      return { ok: true, current: { id, link, token } };
    } catch (error) {
      this.#forget(id);
      if (timedOut) opening.then((late) => this.#closeQuietly(late)).catch(() => undefined);
      const kind = error instanceof LinkError ? error.kind : 'transient';
      return { ok: false, kind, reason: errorMessage(error) };
    } finally {
      this.#timers.clear(timer);
    }
  }

  #adopt(current: CurrentLink<Link>, kind: LinkKind): void {
    this.#opening.delete(current.id);
    if (this.#closedBeforeAdoption.delete(current.id)) {
      this.#closeQuietly(current.link);
      if (this.#current === undefined) this.#scheduleRetry('the link closed while it was being set up');
      else this.#retryRefresh('the link with the refreshed token closed while it was being set up');
      return;
    }
    const previous = this.#current;
    this.#current = current;
    this.#everConnected = true;
    this.#cancel('retry');
    this.#cancel('lost');
    this.#refreshAttempt = 0;
    this.#setState({
      status: 'connected',
      reason: '',
      lost: false,
      attempt: 0,
      nextRetryAt: null,
      // The world keys rows by the user's principal (their Nostr key), not the connection identity.
      identity: current.token.pubkey,
      reconnects: this.#state.reconnects + (kind === 'reconnect' ? 1 : 0),
      tokenSwaps: this.#state.tokenSwaps + (kind === 'token_refresh' ? 1 : 0),
    });
    this.#logger.info({ kind, link: current.id }, 'world link up');
    this.#linkListeners.emit(current.link, kind);
    if (previous && previous.id !== current.id) this.#closeQuietly(previous.link);
    this.#scheduleRefresh(current);
    this.#scheduleProbe();
  }

  #onClosed(id: number, reason: string): void {
    const current = this.#current;
    if (!current || current.id !== id) {
      if (this.#opening.has(id)) this.#closedBeforeAdoption.add(id);
      return;
    }
    this.#current = undefined;
    this.#linkLost(current, reason);
    this.#scheduleRetry(reason, 0);
  }

  #linkLost(current: CurrentLink<Link>, reason: string): void {
    this.#cancel('refresh');
    this.#cancel('probe');
    this.#logger.warn({ link: current.id, reason }, 'world link lost');
    this.#setState({ status: 'reconnecting', reason });
    this.#armLostTimer();
    this.#linkDownListeners.emit(current.link, reason);
  }

  #scheduleRetry(reason: string, delayOverrideMs?: number): void {
    if (!this.#networkAvailable) return;
    const attempt = this.#state.attempt;
    const delay = delayOverrideMs ?? backoffDelay(attempt, this.#backoff, this.#random);
    this.#cancel('retry');
    const epoch = this.#epoch;
    this.#retryTimer = this.#timers.set(() => {
      this.#retryTimer = undefined;
      if (epoch === this.#epoch) void this.#attempt();
    }, delay);
    this.#setState({
      status: this.#everConnected ? 'reconnecting' : 'connecting',
      reason,
      attempt: attempt + 1,
      nextRetryAt: this.#clock.now() + delay,
    });
    this.#logger.info({ reason, attempt: attempt + 1, delay_ms: delay }, 'world connection retry scheduled');
  }

  #goOffline(reason: string): void {
    this.#logger.error({ reason }, 'world connection given up');
    this.stop(reason);
  }

  #armLostTimer(): void {
    if (this.#lostTimer !== undefined || this.#state.lost) return;
    this.#lostTimer = this.#timers.set(() => {
      this.#lostTimer = undefined;
      if (this.#current === undefined && !this.#state.lost) {
        this.#logger.warn({ after_ms: this.#lostAfterMs, reason: this.#state.reason }, 'world connection lost');
        this.#setState({ lost: true });
      }
    }, this.#lostAfterMs);
  }

  #scheduleRefresh(current: CurrentLink<Link>): void {
    this.#cancel('refresh');
    const now = this.#clock.now();
    let due = this.#tokens.refreshAt(current.token);
    const linkExpiry = this.#connector.expiresAtMs?.(current.link);
    if (linkExpiry !== undefined) {
      // Same rule as tokens: a fifth of the remaining lifetime, between 1 s and 60 s ahead.
      const lead = Math.min(60_000, Math.max(1_000, (linkExpiry - now) / 5));
      due = Math.min(due, linkExpiry - lead);
    }
    const delay = Math.max(0, due - now);
    this.#refreshTimer = this.#timers.set(() => {
      this.#refreshTimer = undefined;
      void this.#refreshLink();
    }, delay);
  }

  /** Make-before-break: a new link (with a new token when the old one is due), then the old link is closed. */
  async #refreshLink(newToken = false): Promise<void> {
    const old = this.#current;
    if (!old) return;
    const epoch = this.#epoch;
    const tokenResult = newToken ? await this.#tokens.refresh() : await this.#tokens.token();
    if (epoch !== this.#epoch) return;
    if (!tokenResult.ok) {
      if (!tokenResult.retryable) {
        this.#goOffline(`token refresh refused: ${tokenResult.message}`);
        return;
      }
      this.#retryRefresh(`token refresh failed: ${tokenResult.message}`, tokenResult.retryAfterMs);
      return;
    }
    const opened = await this.#open(tokenResult.token);
    if (epoch !== this.#epoch) {
      if (opened.ok) this.#discard(opened.current);
      return;
    }
    if (!opened.ok) {
      this.#retryRefresh(`link with the refreshed token failed: ${opened.reason}`);
      return;
    }
    if (this.#current === old || this.#current === undefined) {
      // Also adopted when the old link died meanwhile: the new one is as good as a reconnect.
      if (this.#current === undefined) this.#epoch += 1;
      this.#adopt(opened.current, this.#current === old ? 'token_refresh' : 'reconnect');
    } else {
      this.#discard(opened.current);
    }
  }

  #retryRefresh(reason: string, retryAfterMs?: number): void {
    if (!this.#current) return;
    this.#logger.warn({ reason, attempt: this.#refreshAttempt + 1 }, 'token swap failed; keeping the current link');
    const delay = retryAfterMs ?? backoffDelay(this.#refreshAttempt, this.#backoff, this.#random);
    this.#refreshAttempt += 1;
    this.#cancel('refresh');
    this.#refreshTimer = this.#timers.set(() => {
      this.#refreshTimer = undefined;
      void this.#refreshLink();
    }, delay);
  }

  #scheduleProbe(): void {
    const probe = this.#connector.probe;
    const interval = this.#probeIntervalMs();
    if (!probe || !(interval > 0)) return;
    this.#cancel('probe');
    this.#probeTimer = this.#timers.set(() => {
      this.#probeTimer = undefined;
      void this.#runProbe();
    }, interval);
  }

  async #runProbe(): Promise<void> {
    const current = this.#current;
    const probe = this.#connector.probe;
    if (!current || !probe) return;
    const started = this.#clock.now();
    let timer: TimerHandle | undefined;
    const outcome = await Promise.race([
      probe.call(this.#connector, current.link).then(
        () => 'answered' as const,
        (error: unknown) => `probe failed: ${errorMessage(error)}`,
      ),
      new Promise<string>((resolve) => {
        timer = this.#timers.set(() => resolve(`no answer from the world for ${this.#lostAfterMs} ms`), this.#lostAfterMs);
      }),
    ]);
    this.#timers.clear(timer);
    if (this.#current !== current) return;
    if (outcome === 'answered') {
      this.#rttListeners.emit(this.#clock.now() - started);
      this.#scheduleProbe();
      return;
    }
    this.reconnect(outcome);
  }

  #cancel(which: 'retry' | 'lost' | 'refresh' | 'probe'): void {
    const handles = { retry: this.#retryTimer, lost: this.#lostTimer, refresh: this.#refreshTimer, probe: this.#probeTimer };
    const handle = handles[which];
    if (handle !== undefined) this.#timers.clear(handle);
    if (which === 'retry') this.#retryTimer = undefined;
    else if (which === 'lost') this.#lostTimer = undefined;
    else if (which === 'refresh') this.#refreshTimer = undefined;
    else this.#probeTimer = undefined;
  }

  #clearTimers(): void {
    this.#cancel('retry');
    this.#cancel('lost');
    this.#cancel('refresh');
    this.#cancel('probe');
  }

  /** Drops the bookkeeping of a link that will never be adopted. */
  #forget(id: number): void {
    this.#opening.delete(id);
    this.#closedBeforeAdoption.delete(id);
  }

  #discard(current: CurrentLink<Link>): void {
    this.#forget(current.id);
    this.#closeQuietly(current.link);
  }

  #closeQuietly(link: Link): void {
    try {
      this.#connector.close(link);
    } catch (error) {
      this.#logger.warn({ err: errorMessage(error) }, 'closing a world link threw');
    }
  }

  #setState(patch: Partial<ConnectionState>): void {
    const statusChanged = patch.status !== undefined && patch.status !== this.#state.status;
    this.#state = { ...this.#state, ...patch, ...(statusChanged ? { since: this.#clock.now() } : {}) };
    this.#stateListeners.emit(this.#state);
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}
