// The test harness of every package: `seeded()` wraps a randomized test so it reads the one
// SEED/ITERATIONS pair and, when it fails, says how to replay it. The generator itself lives in
// core/random.ts and runs anywhere; this file reads the environment and hooks into Vitest.
import type { TestContext } from 'vitest';
import { prng, replayLine, resolveSettings, type RandomSettings } from './core/random';

// Reached through globalThis so the harness also type-checks and runs where there is no Node
// (packages whose tsconfig has no Node types, browser test runners).
const runtime = globalThis as unknown as {
  process?: { env: Record<string, string | undefined> };
  console: { error(message: string): void };
};

export { chance, int, pick, prng, replayLine, resolveSettings, type RandomSettings, type SettingsResult } from './core/random';

/**
 * The settings for one test: its defaults, unless SEED / ITERATIONS are set. A malformed value
 * throws (the test fails with a message naming the variable) rather than silently using a default.
 */
export function randomSettings(defaults: RandomSettings, env: Readonly<Record<string, string | undefined>> = runtime.process?.env ?? {}): RandomSettings {
  const resolved = resolveSettings(defaults, env);
  if (!resolved.ok) throw new Error(resolved.message);
  return resolved.settings;
}

export interface Seeded extends RandomSettings {
  /** A generator started from `seed`. */
  random: () => number;
}

/**
 * A test body that runs with the resolved settings and a generator. On failure the error message
 * (or, for a timeout, the test's output) names the seed, the iteration count and the command that
 * replays the run.
 *
 * `it('…', seeded({ seed: 7, iterations: 200 }, async ({ random, iterations }) => { … }))`
 */
export function seeded(defaults: RandomSettings, body: (run: Seeded) => unknown): (context: TestContext) => Promise<void> {
  return async (context) => {
    const settings = randomSettings(defaults);
    const where = { file: context.task.file?.name, test: context.task.name };
    const line = `seeded test failed with SEED=${settings.seed} ITERATIONS=${settings.iterations}; replay: ${replayLine(settings, where)}`;
    let reported = false;
    context.onTestFailed(() => {
      // Errors thrown by the body already carry the line; this covers timeouts and hook failures.
      if (!reported) runtime.console.error(line);
    });
    try {
      await body({ ...settings, random: prng(settings.seed) });
    } catch (error) {
      reported = true;
      if (error instanceof Error) {
        error.message = `${error.message}\n${line}`;
        throw error;
      }
      throw new Error(`${String(error)}\n${line}`, { cause: error });
    }
  };
}
