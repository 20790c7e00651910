// The outbox: every write to the world (messages, acks, file ops, ...) is stored first, then
// delivered in order, and removed only once the world confirmed it. Each entry carries an
// idempotency key that the module uses to ignore repeats, so an entry whose confirmation was lost
// (the link died mid-call, the process crashed) is simply sent again: delivered exactly once.
import { systemClock, systemTimers, type Clock, type TimerHandle, type Timers } from './clock';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { Listeners } from './listeners';
import { silentLogger, type Logger } from './logger';
import { errorMessage } from './result';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface OutboxEntry {
  /** Unique per entry; also the idempotency key (or op id) the world deduplicates on. */
  readonly key: string;
  /** What to do with `args`, e.g. "publish_message". */
  readonly kind: string;
  readonly args: JsonValue;
  /** A newer entry with the same coalesce key replaces an older one still waiting (e.g. acks). */
  readonly coalesce?: string;
  readonly enqueuedAt: number;
  readonly attempts: number;
  readonly lastError?: string;
}

/** Where entries survive restarts. Operations on one storage are never run concurrently. */
export interface OutboxStorage {
  /** Every stored entry, in the order they were first put. */
  load(): Promise<OutboxEntry[]>;
  /** Adds an entry or replaces the one with the same key (keeping its place). */
  put(entry: OutboxEntry): Promise<void>;
  delete(key: string): Promise<void>;
}

export class MemoryOutboxStorage implements OutboxStorage {
  readonly #entries = new Map<string, OutboxEntry>();

  async load(): Promise<OutboxEntry[]> {
    return [...this.#entries.values()];
  }

  async put(entry: OutboxEntry): Promise<void> {
    this.#entries.set(entry.key, entry);
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }
}

export type DeliveryOutcome =
  | { ok: true }
  /** retry: the world may not have seen it (link down, token expired): send again later. */
  | { ok: false; retry: boolean; code: string; message: string };

/** Outcome code for an entry no lane could take right now. */
export const HELD = 'held';

export type Deliver = (entry: OutboxEntry) => Promise<DeliveryOutcome>;

export type SettledOutcome = { ok: true; key: string } | { ok: false; key: string; code: string; message: string };

export interface OutboxOptions {
  storage: OutboxStorage;
  deliver: Deliver;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
  /** Entries sent before the first answer comes back. Default 32. */
  maxInFlight?: number;
  /** Wait between retries of an entry that failed with retry: true while online. */
  retryBackoff?: Partial<BackoffOptions>;
  /** An entry failing with retry: true this many times is given up. Default 20. */
  maxAttempts?: number;
  logger?: Logger;
}

export interface OutboxSnapshot {
  depth: number;
  inFlight: number;
  online: boolean;
}

export class OutboxClosedError extends Error {
  override readonly name = 'OutboxClosedError';
}

export class Outbox {
  readonly #storage: OutboxStorage;
  readonly #deliver: Deliver;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #maxInFlight: number;
  readonly #maxAttempts: number;
  readonly #retryBackoff: BackoffOptions;
  readonly #logger: Logger;
  readonly #changeListeners: Listeners<[OutboxSnapshot]>;
  readonly #settledListeners: Listeners<[OutboxEntry, SettledOutcome]>;

  /** Waiting and in-flight entries by key, in delivery order (a Map keeps insertion order). */
  readonly #queue = new Map<string, OutboxEntry>();
  readonly #inFlight = new Set<string>();
  /** coalesce key → key of the waiting (not in-flight) entry carrying it. */
  readonly #coalesceWaiting = new Map<string, string>();
  readonly #waiters = new Map<string, Array<(outcome: SettledOutcome) => void>>();
  /** Storage operations run one after another, in the order issued. */
  #storageChain: Promise<unknown> = Promise.resolve();
  #online = false;
  #opened = false;
  #closed = false;
  /** Set while a retryable failure holds the queue back. */
  #pausedUntilRetry: TimerHandle | undefined;
  #retryRound = 0;

  constructor(options: OutboxOptions) {
    this.#storage = options.storage;
    this.#deliver = options.deliver;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#maxInFlight = options.maxInFlight ?? 32;
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) throw new RangeError('maxInFlight must be a positive integer');
    this.#maxAttempts = options.maxAttempts ?? 20;
    this.#retryBackoff = { ...DEFAULT_BACKOFF, ...options.retryBackoff };
    this.#logger = options.logger ?? silentLogger;
    this.#changeListeners = new Listeners('outbox change', this.#logger);
    this.#settledListeners = new Listeners('outbox settled', this.#logger);
  }

  /** Loads what a previous run left; call once before use. */
  async open(): Promise<void> {
    if (this.#opened) return;
    const stored = await this.#storage.load();
    const queuedMeanwhile = [...this.#queue.values()];
    this.#queue.clear();
    for (const entry of [...stored, ...queuedMeanwhile]) {
      if (this.#queue.has(entry.key)) continue;
      this.#queue.set(entry.key, entry);
      if (entry.coalesce !== undefined) this.#coalesceWaiting.set(entry.coalesce, entry.key);
    }
    this.#opened = true;
    if (stored.length > 0) this.#logger.info({ depth: stored.length }, 'outbox reloaded entries from storage');
    this.#changed();
    this.#pump();
  }

  get depth(): number {
    return this.#queue.size;
  }

  snapshot(): OutboxSnapshot {
    return { depth: this.#queue.size, inFlight: this.#inFlight.size, online: this.#online };
  }

  /** The queued entries in delivery order (a copy). */
  entries(): OutboxEntry[] {
    return [...this.#queue.values()];
  }

  has(key: string): boolean {
    return this.#queue.has(key);
  }

  onChange(listener: (snapshot: OutboxSnapshot) => void): () => void {
    return this.#changeListeners.add(listener);
  }

  /** Every entry that left the outbox: delivered, or given up with a reason. */
  onSettled(listener: (entry: OutboxEntry, outcome: SettledOutcome) => void): () => void {
    return this.#settledListeners.add(listener);
  }

  /**
   * Stores the entry (resolves once it is durable) and schedules delivery. A key already queued
   * is not queued twice. Returns a promise of the entry's outcome.
   */
  async enqueue(input: { key: string; kind: string; args: JsonValue; coalesce?: string }): Promise<{ key: string; settled: Promise<SettledOutcome> }> {
    if (this.#closed) throw new OutboxClosedError('the outbox is closed');
    if (typeof input.key !== 'string' || input.key === '') throw new TypeError('an outbox entry needs a non-empty key');
    const settled = this.#waitFor(input.key);
    if (this.has(input.key)) return { key: input.key, settled };
    const entry: OutboxEntry = {
      key: input.key,
      kind: input.kind,
      args: input.args,
      ...(input.coalesce !== undefined ? { coalesce: input.coalesce } : {}),
      enqueuedAt: this.#clock.now(),
      attempts: 0,
    };
    const replaced = input.coalesce === undefined ? [] : this.#waitingWithCoalesceKey(input.coalesce);
    for (const old of replaced) this.#queue.delete(old.key);
    this.#queue.set(entry.key, entry);
    if (entry.coalesce !== undefined) this.#coalesceWaiting.set(entry.coalesce, entry.key);
    try {
      await this.#persist(async () => {
        await this.#storage.put(entry);
        for (const old of replaced) await this.#storage.delete(old.key);
      });
    } catch (error) {
      this.#queue.delete(entry.key);
      if (entry.coalesce !== undefined) this.#coalesceWaiting.delete(entry.coalesce);
      for (const old of replaced) {
        this.#queue.set(old.key, old);
        if (old.coalesce !== undefined) this.#coalesceWaiting.set(old.coalesce, old.key);
      }
      this.#resolve(entry.key, { ok: false, key: entry.key, code: 'storage_failed', message: errorMessage(error) });
      throw error;
    }
    for (const old of replaced) this.#resolve(old.key, { ok: true, key: old.key });
    this.#changed();
    this.#pump();
    return { key: entry.key, settled };
  }

  /** Online: deliver. Offline: hold everything (in-flight entries come back when their answers do). */
  setOnline(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    if (online) {
      this.#retryRound = 0;
      if (this.#pausedUntilRetry !== undefined) {
        this.#timers.clear(this.#pausedUntilRetry);
        this.#pausedUntilRetry = undefined;
      }
    }
    this.#changed();
    this.#pump();
  }

  /** Ends a wait after a retryable failure (e.g. the link was replaced): try again now. */
  retryNow(): void {
    this.#retryRound = 0;
    if (this.#pausedUntilRetry !== undefined) {
      this.#timers.clear(this.#pausedUntilRetry);
      this.#pausedUntilRetry = undefined;
    }
    this.#pump();
  }

  /** Resolves once every entry queued so far has settled (or the outbox closed). */
  async drained(): Promise<void> {
    const keys = [...this.#queue.keys()];
    await Promise.all(keys.map((key) => this.#waitFor(key)));
  }

  /**
   * Stops delivering; stored entries stay for the next run. Whoever waits for an entry is told
   * 'closed' (the write itself is not lost: the next run sends it).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#online = false;
    if (this.#pausedUntilRetry !== undefined) this.#timers.clear(this.#pausedUntilRetry);
    await this.#storageChain;
    for (const key of [...this.#waiters.keys()]) {
      this.#resolve(key, { ok: false, key, code: 'closed', message: 'the outbox closed before delivery; the write stays stored for the next start' });
    }
  }

  #pump(): void {
    if (!this.#opened || !this.#online || this.#closed || this.#pausedUntilRetry !== undefined) return;
    for (const entry of this.#queue.values()) {
      if (this.#inFlight.size >= this.#maxInFlight) break;
      if (this.#inFlight.has(entry.key)) continue;
      void this.#send(entry);
    }
  }

  async #send(entry: OutboxEntry): Promise<void> {
    this.#inFlight.add(entry.key);
    if (entry.coalesce !== undefined && this.#coalesceWaiting.get(entry.coalesce) === entry.key) this.#coalesceWaiting.delete(entry.coalesce);
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.#deliver(entry);
    } catch (error) {
      outcome = { ok: false, retry: true, code: 'deliver_threw', message: errorMessage(error) };
    }
    this.#inFlight.delete(entry.key);
    if (outcome.ok) {
      await this.#remove(entry, { ok: true, key: entry.key });
    } else if (!outcome.retry) {
      this.#logger.warn({ key: entry.key, kind: entry.kind, code: outcome.code, reason: outcome.message }, 'outbox entry refused by the world');
      await this.#remove(entry, { ok: false, key: entry.key, code: outcome.code, message: outcome.message });
    } else {
      // 'held' means no lane could take it: nothing was sent, so it does not count as an attempt.
      const attempts = outcome.code === HELD ? entry.attempts : entry.attempts + 1;
      if (attempts >= this.#maxAttempts) {
        const message = `gave up after ${attempts} attempts; last error: ${outcome.message}`;
        this.#logger.error({ key: entry.key, kind: entry.kind, code: outcome.code }, 'outbox entry given up');
        await this.#remove(entry, { ok: false, key: entry.key, code: outcome.code, message });
      } else {
        const updated: OutboxEntry = { ...entry, attempts, lastError: `${outcome.code}: ${outcome.message}` };
        if (this.#queue.has(entry.key)) this.#queue.set(entry.key, updated);
        await this.#persist(() => this.#storage.put(updated));
        this.#holdForRetry();
      }
    }
    this.#changed();
    this.#pump();
  }

  /** After a retryable failure the queue waits (in order) before trying again. */
  #holdForRetry(): void {
    if (this.#pausedUntilRetry !== undefined || !this.#online) return;
    const delay = backoffDelay(Math.min(this.#retryRound, 30), this.#retryBackoff, this.#random);
    this.#retryRound += 1;
    this.#pausedUntilRetry = this.#timers.set(() => {
      this.#pausedUntilRetry = undefined;
      this.#pump();
    }, delay);
  }

  async #remove(entry: OutboxEntry, outcome: SettledOutcome): Promise<void> {
    this.#queue.delete(entry.key);
    if (entry.coalesce !== undefined && this.#coalesceWaiting.get(entry.coalesce) === entry.key) this.#coalesceWaiting.delete(entry.coalesce);
    if (outcome.ok) this.#retryRound = 0;
    await this.#persist(() => this.#storage.delete(entry.key));
    this.#settledListeners.emit(entry, outcome);
    this.#resolve(entry.key, outcome);
  }

  #waitingWithCoalesceKey(coalesce: string): OutboxEntry[] {
    const key = this.#coalesceWaiting.get(coalesce);
    const queued = key === undefined ? undefined : this.#queue.get(key);
    return queued && !this.#inFlight.has(queued.key) ? [queued] : [];
  }

  #waitFor(key: string): Promise<SettledOutcome> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      list.push(resolve);
      this.#waiters.set(key, list);
    });
  }

  #resolve(key: string, outcome: SettledOutcome): void {
    const list = this.#waiters.get(key);
    this.#waiters.delete(key);
    for (const resolve of list ?? []) resolve(outcome);
  }

  #persist(operation: () => Promise<void>): Promise<void> {
    const result = this.#storageChain.then(operation);
    this.#storageChain = result.catch((error: unknown) => {
      this.#logger.error({ err: errorMessage(error) }, 'outbox storage failed');
    });
    return result;
  }

  #changed(): void {
    this.#changeListeners.emit(this.snapshot());
  }
}
