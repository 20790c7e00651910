// The harness itself: the generator is the same stream the old copies produced (so recorded seeds
// still replay), the env pair overrides defaults and refuses nonsense, and a failing seeded test
// names its seed and iteration count.
import { afterEach, describe, expect, it } from 'vitest';
import { chance, int, pick, prng, randomSettings, resolveSettings, seeded } from '../src/index';

const saved = { SEED: process.env.SEED, ITERATIONS: process.env.ITERATIONS };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('prng', () => {
  it('is mulberry32: the first values of seed 1 are the recorded ones, and a seed repeats its stream', () => {
    const a = prng(1);
    expect([a(), a(), a()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const b = prng(123);
    const c = prng(123);
    const first = Array.from({ length: 50 }, b);
    expect(Array.from({ length: 50 }, c)).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 50 }, prng(124))).not.toEqual(first);
  });

  it('int, pick and chance stay in range', () => {
    const r = prng(9);
    for (let i = 0; i < 200; i++) {
      expect(int(r, 3)).toBeGreaterThanOrEqual(0);
      expect(int(r, 3)).toBeLessThan(3);
      expect(['a', 'b']).toContain(pick(r, ['a', 'b']));
    }
    expect(chance(r, 0)).toBe(false);
    expect(chance(r, 1)).toBe(true);
    expect(() => pick(r, [])).toThrow('non-empty');
  });
});

describe('SEED / ITERATIONS', () => {
  const defaults = { seed: 7, iterations: 20 };

  it('uses the test defaults when unset, the env pair when set', () => {
    expect(resolveSettings(defaults, {})).toEqual({ ok: true, settings: defaults });
    expect(resolveSettings(defaults, { SEED: '', ITERATIONS: ' ' })).toEqual({ ok: true, settings: defaults });
    expect(resolveSettings(defaults, { SEED: '0', ITERATIONS: '500' })).toEqual({ ok: true, settings: { seed: 0, iterations: 500 } });
    expect(randomSettings(defaults, { SEED: '42' })).toEqual({ seed: 42, iterations: 20 });
  });

  it('refuses values that are not whole numbers, naming the variable', () => {
    expect(resolveSettings(defaults, { SEED: 'abc' })).toEqual({ ok: false, message: 'SEED must be an integer ≥ 0, got "abc"' });
    expect(resolveSettings(defaults, { SEED: '-1' })).toMatchObject({ ok: false });
    expect(resolveSettings(defaults, { ITERATIONS: '0' })).toEqual({ ok: false, message: 'ITERATIONS must be an integer ≥ 1, got "0"' });
    expect(resolveSettings(defaults, { ITERATIONS: '1.5' })).toMatchObject({ ok: false });
    expect(() => randomSettings(defaults, { ITERATIONS: 'many' })).toThrow('ITERATIONS must be an integer');
  });
});

describe('seeded', () => {
  it('runs the body with the settings and a generator started from the seed', async (context) => {
    process.env.SEED = '11';
    delete process.env.ITERATIONS;
    let seen: { seed: number; iterations: number; draw: number } | undefined;
    await seeded({ seed: 1, iterations: 4 }, ({ seed, iterations, random }) => {
      seen = { seed, iterations, draw: random() };
    })(context);
    expect(seen).toEqual({ seed: 11, iterations: 4, draw: prng(11)() });
  });

  it('names the seed, the iteration count and the replay command when the body fails', async (context) => {
    delete process.env.SEED;
    delete process.env.ITERATIONS;
    const failing = seeded({ seed: 5, iterations: 3 }, async () => {
      expect(1, 'the invariant').toBe(2);
    });
    const error = await failing(context).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain('the invariant');
    expect(error?.message).toContain('seeded test failed with SEED=5 ITERATIONS=3; replay: SEED=5 ITERATIONS=3 node_modules/.bin/vitest run');
    expect(error?.message).toContain('random.test.ts -t "names the seed');
  });
});
