import { describe, expect, it } from 'vitest';
import { backoffDelay, percentile } from '../../src/index';

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.5 };

  it('doubles up to the cap without jitter draws', () => {
    const noJitter = () => 0;
    expect([0, 1, 2, 3, 4, 5, 50].map((attempt) => backoffDelay(attempt, options, noJitter))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('takes off at most `jitter` of the delay', () => {
    expect(backoffDelay(2, options, () => 0.999999)).toBe(200);
    expect(backoffDelay(2, options, () => 0.5)).toBe(300);
    expect(backoffDelay(3, { ...options, jitter: 1 }, () => 0.75)).toBe(200);
  });

  it('refuses nonsense: negative attempts, bad options, out-of-range random values', () => {
    expect(() => backoffDelay(-1, options)).toThrow('attempt must be a non-negative integer, got -1');
    expect(() => backoffDelay(0, { ...options, maxMs: 50 })).toThrow('0 <= initialMs <= maxMs');
    expect(() => backoffDelay(0, { ...options, multiplier: 0.5 })).toThrow('multiplier must be at least 1');
    expect(() => backoffDelay(0, { ...options, jitter: 2 })).toThrow('jitter must be between 0 and 1');
    expect(() => backoffDelay(0, options, () => 1)).toThrow('random() must return a number in [0, 1), got 1');
  });
});

describe('percentile', () => {
  it('is the nearest-rank value of a sorted list, null when empty', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
    expect(() => percentile(values, 1.5)).toThrow('fraction must be between 0 and 1');
  });
});
