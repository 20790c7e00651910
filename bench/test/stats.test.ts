import { describe, expect, it } from 'vitest';
import { prng } from '@autopilot/test-support/random';
import { fmt, percentile, summarise, table, zipfSampler } from '../lib/stats';
import { transferGenerator } from '../lib/workload';

describe('zipfSampler', () => {
  it('draws ranks 1..n with the most popular rank at about 1/H(n, s)', () => {
    const n = 100;
    const draw = zipfSampler(n, 0.99, prng(1));
    const counts = new Array<number>(n + 1).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[draw()]!++;
    expect(counts[0]).toBe(0);
    expect(counts.slice(1).every((c) => c > 0)).toBe(true);
    let harmonic = 0;
    for (let k = 1; k <= n; k++) harmonic += 1 / k ** 0.99;
    expect(counts[1]! / draws).toBeCloseTo(1 / harmonic, 2);
    // P(1)/P(2) = 2^0.99
    expect(counts[1]! / counts[2]!).toBeGreaterThan(1.8);
    expect(counts[1]! / counts[2]!).toBeLessThan(2.2);
  });

  it('is uniform with exponent 0 and refuses nonsense', () => {
    const draw = zipfSampler(4, 0, prng(2));
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[draw()]!++;
    for (const c of counts.slice(1)) expect(c / 40_000).toBeCloseTo(0.25, 1);
    expect(() => zipfSampler(0, 1, prng(3))).toThrow('positive item count, got 0');
    expect(() => zipfSampler(10, -1, prng(3))).toThrow('non-negative exponent, got -1');
  });
});

describe('percentile and summarise', () => {
  it('uses the nearest rank', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 50)).toBe(5);
    expect(percentile(sorted, 99)).toBe(10);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
    expect(summarise([5, 1, 3])).toEqual({ count: 3, p50: 3, p99: 5, max: 5 });
  });
});

describe('table and fmt', () => {
  it('aligns columns as a Markdown table', () => {
    expect(table(['a', 'long header'], [['xyz', '1']])).toBe('| a   | long header |\n|-----|-------------|\n| xyz | 1           |');
    expect(fmt(12345.6)).toBe('12,346');
    expect(fmt(123.4)).toBe('123');
    expect(fmt(1.234)).toBe('1.23');
    expect(fmt(NaN)).toBe('–');
  });
});

describe('transferGenerator', () => {
  it('picks two different existing accounts and an amount of 1..100, the same for the same seed', () => {
    const a = transferGenerator(50, 9);
    const b = transferGenerator(50, 9);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const t = a();
      expect(b()).toEqual(t);
      expect(t.from).not.toBe(t.to);
      for (const id of [t.from, t.to]) {
        expect(Number.isInteger(id) && id >= 1 && id <= 50).toBe(true);
        seen.add(id);
      }
      expect(t.amount >= 1 && t.amount <= 100).toBe(true);
    }
    // The scatter is a permutation: every account is reachable.
    expect(seen.size).toBe(50);
  });

  it('spreads the popular accounts over the id space, not at one end of the index', () => {
    const next = transferGenerator(10_000, 3);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const { from } = next();
      counts.set(from, (counts.get(from) ?? 0) + 1);
    }
    const hottest = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
    expect(hottest).toBe(1); // rank 1 maps to id 1 ((1-1)·p mod n + 1) …
    const second = [...counts].sort((x, y) => y[1] - x[1])[1]![0];
    expect(second).toBe(7920); // … but rank 2 lands far away, at 7919 + 1
  });

  it('refuses fewer than two accounts', () => {
    expect(() => transferGenerator(1)).toThrow('at least 2 accounts, got 1');
  });
});
