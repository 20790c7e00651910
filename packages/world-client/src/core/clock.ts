// Time comes in through interfaces so the core runs anywhere and tests choose their own time.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export type TimerHandle = unknown;

export interface Timers {
  set(callback: () => void, delayMs: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  set: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clear: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/** Resolves after `delayMs` on the given timers. */
export function sleep(timers: Timers, delayMs: number): Promise<void> {
  return new Promise((resolve) => timers.set(resolve, delayMs));
}
