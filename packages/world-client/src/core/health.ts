// Health metrics, the inputs of the SLOs: round-trip latency, subscription staleness (time since
// the world last sent anything, against the heartbeat cadence that guarantees traffic), reconnect
// count and outbox depth.
import { systemClock, type Clock } from './clock';

export interface HealthSnapshot {
  /** Last measured round trip (a reducer call and its answer), ms. */
  readonly rttMs: number | null;
  /** Median and 99th percentile over the recent window of round trips, ms. */
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  readonly rttSamples: number;
  /** When the world last sent an update (ms since the epoch). */
  readonly lastUpdateAt: number | null;
  /** Time since then, ms. */
  readonly stalenessMs: number | null;
  /** The world's heartbeat cadence: with our own heartbeats, updates must arrive at least this often. */
  readonly heartbeatIntervalMs: number;
  /** Staleness beyond two heartbeat intervals while connected. */
  readonly stale: boolean;
  readonly reconnects: number;
  readonly tokenSwaps: number;
  readonly outboxDepth: number;
  readonly connected: boolean;
}

export interface HealthMonitorOptions {
  clock?: Clock;
  /** Round trips kept for the percentiles. Default 256. */
  window?: number;
  heartbeatIntervalMs?: number;
}

export class HealthMonitor {
  readonly #clock: Clock;
  readonly #window: number;
  readonly #samples: number[] = [];
  #next = 0;
  #rttMs: number | null = null;
  #lastUpdateAt: number | null = null;
  #heartbeatIntervalMs: number;
  #reconnects = 0;
  #tokenSwaps = 0;
  #outboxDepth = 0;
  #connected = false;

  constructor(options: HealthMonitorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#window = options.window ?? 256;
    if (!Number.isInteger(this.#window) || this.#window < 1) throw new RangeError('window must be a positive integer');
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 15_000;
  }

  recordRoundTrip(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a round trip must be a non-negative number of ms, got ${ms}`);
    this.#rttMs = ms;
    if (this.#samples.length < this.#window) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#window;
  }

  recordUpdate(at = this.#clock.now()): void {
    if (this.#lastUpdateAt === null || at > this.#lastUpdateAt) this.#lastUpdateAt = at;
  }

  setHeartbeatInterval(ms: number): void {
    if (ms > 0) this.#heartbeatIntervalMs = ms;
  }

  setConnection(state: { connected: boolean; reconnects: number; tokenSwaps: number }): void {
    this.#connected = state.connected;
    this.#reconnects = state.reconnects;
    this.#tokenSwaps = state.tokenSwaps;
  }

  setOutboxDepth(depth: number): void {
    this.#outboxDepth = depth;
  }

  snapshot(now = this.#clock.now()): HealthSnapshot {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const stalenessMs = this.#lastUpdateAt === null ? null : Math.max(0, now - this.#lastUpdateAt);
    return {
      rttMs: this.#rttMs,
      rttP50Ms: percentile(sorted, 0.5),
      rttP99Ms: percentile(sorted, 0.99),
      rttSamples: sorted.length,
      lastUpdateAt: this.#lastUpdateAt,
      stalenessMs,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      stale: this.#connected && stalenessMs !== null && stalenessMs > 2 * this.#heartbeatIntervalMs,
      reconnects: this.#reconnects,
      tokenSwaps: this.#tokenSwaps,
      outboxDepth: this.#outboxDepth,
      connected: this.#connected,
    };
  }
}

/** Nearest-rank percentile of an ascending list; null when empty. */
export function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError('fraction must be between 0 and 1');
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] ?? null;
}
