// Reconnect delays: exponential growth with random jitter, so many clients dropped by the same
// outage do not all come back in the same instant.

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Fraction of the delay that is random: 0 = none, 1 = anywhere in [0, delay]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, multiplier: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (0-based): min(maxMs, initialMs * multiplier^attempt),
 * reduced by up to `jitter` of itself. `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  checkBackoff(options);
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  const ceiling = Math.min(options.maxMs, options.initialMs * options.multiplier ** Math.min(attempt, 64));
  const draw = random();
  if (!(draw >= 0 && draw < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${draw}`);
  return Math.round(ceiling * (1 - options.jitter * draw));
}

export function checkBackoff(options: BackoffOptions): void {
  const { initialMs, maxMs, multiplier, jitter } = options;
  if (!(initialMs >= 0) || !(maxMs >= initialMs)) throw new RangeError('backoff needs 0 <= initialMs <= maxMs');
  if (!(multiplier >= 1)) throw new RangeError('backoff multiplier must be at least 1');
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError('backoff jitter must be between 0 and 1');
}
