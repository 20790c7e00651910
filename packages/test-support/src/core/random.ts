// The seeded generator behind every randomized test and benchmark workload, and the parsing of
// the SEED/ITERATIONS pair. Pure: no Node, DOM or test-runner imports, so benchmarks, module
// tests and browser code can use it too.

/** mulberry32: a small 32-bit generator; returns numbers in [0, 1). The same seed gives the same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function int(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** One element of a non-empty list. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick needs a non-empty list');
  return items[int(random, items.length)]!;
}

/** True with probability p. */
export function chance(random: () => number, p: number): boolean {
  return random() < p;
}

/**
 * What a randomized test runs with. `seed` starts its generator; `iterations` is how much work
 * it does (rounds, operations or property runs; each test says which).
 */
export interface RandomSettings {
  seed: number;
  iterations: number;
}

export type SettingsResult = { ok: true; settings: RandomSettings } | { ok: false; message: string };

/**
 * The test's defaults, overridden by SEED and ITERATIONS when they are set. One pair for every
 * randomized test, so replaying any failure is `SEED=… ITERATIONS=… npm test`.
 */
export function resolveSettings(defaults: RandomSettings, env: Readonly<Record<string, string | undefined>>): SettingsResult {
  const seed = parse(env.SEED, defaults.seed, 0);
  if (!seed.ok) return { ok: false, message: `SEED must be an integer ≥ 0, got ${JSON.stringify(env.SEED)}` };
  const iterations = parse(env.ITERATIONS, defaults.iterations, 1);
  if (!iterations.ok) return { ok: false, message: `ITERATIONS must be an integer ≥ 1, got ${JSON.stringify(env.ITERATIONS)}` };
  return { ok: true, settings: { seed: seed.value, iterations: iterations.value } };
}

function parse(text: string | undefined, fallback: number, min: number): { ok: true; value: number } | { ok: false } {
  if (text === undefined || text.trim() === '') return { ok: true, value: fallback };
  if (!/^\d+$/.test(text.trim())) return { ok: false };
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value >= min ? { ok: true, value } : { ok: false };
}

/** The line that replays a run. */
export function replayLine(settings: RandomSettings, where?: { file?: string; test?: string }): string {
  const target = where?.file ? ` node_modules/.bin/vitest run ${where.file}${where.test ? ` -t ${JSON.stringify(where.test)}` : ''}` : ' npm test';
  return `SEED=${settings.seed} ITERATIONS=${settings.iterations}${target}`;
}
