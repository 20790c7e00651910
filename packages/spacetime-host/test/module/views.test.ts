// ViewCache alone: handles keep an instance alive, the last release forgets it, a refresh's deltas
// are adopted only when applied. View functions are plain functions of a row list here.
import { describe, expect, it } from 'vitest';
import type { ViewDef } from '../../src/module/catalog';
import { ViewCache, type ViewInstance, type ViewRow } from '../../src/module/views';

const def = (name: string, isAnonymous: boolean) => ({ name, isAnonymous }) as ViewDef;
const row = (n: number): ViewRow => ({ bytes: Uint8Array.of(n), value: [n] });

function setup() {
  let data = [row(1), row(2)];
  const materialized: string[] = [];
  const cache = new ViewCache((inst: ViewInstance) => {
    materialized.push(`${inst.def.name}:${inst.sender}`);
    return data;
  });
  return { cache, materialized, setData: (rows: ViewRow[]) => (data = rows), compute: () => data };
}

describe('ViewCache', () => {
  it('materialises an instance once per sender (once for an anonymous view) and forgets it after the last release', () => {
    const { cache, materialized } = setup();
    const mine = def('mine', false);
    const a1 = cache.acquire(mine, 1n);
    const a2 = cache.acquire(mine, 1n);
    const b = cache.acquire(mine, 2n);
    expect(a1.instance).toBe(a2.instance);
    expect(b.instance).not.toBe(a1.instance);
    const anon1 = cache.acquire(def('all', true), 1n);
    const anon2 = cache.acquire(def('all', true), 2n);
    expect(anon1.instance).toBe(anon2.instance);
    expect(anon1.instance.sender).toBeNull();
    expect(materialized).toEqual(['mine:1', 'mine:2', 'all:null']);

    a1.release();
    a1.release(); // a second release of the same handle does not give back someone else's
    expect(cache.acquire(mine, 1n).instance).toBe(a2.instance);
    expect(materialized).toHaveLength(3);
  });

  it('materialises again after every handle was released', () => {
    const { cache, materialized } = setup();
    const h = cache.acquire(def('v', true), 0n);
    h.release();
    cache.acquire(def('v', true), 0n);
    expect(materialized).toEqual(['v:null', 'v:null']);
  });

  it('keeps nothing when materialising throws', () => {
    const cache = new ViewCache(() => {
      throw new Error('view failed');
    });
    expect(() => cache.acquire(def('v', true), 0n)).toThrow('view failed');
  });

  it('refresh reports row differences with multiplicity, and adopts them only on apply', () => {
    const { cache, setData, compute } = setup();
    const h = cache.acquire(def('v', true), 0n);
    setData([row(2), row(3), row(3)]);
    const refresh = cache.refresh(compute);
    expect(refresh.deltas).toHaveLength(1);
    expect(refresh.deltas[0]!.inserts.map((r) => r.value[0])).toEqual([3, 3]);
    expect(refresh.deltas[0]!.deletes.map((r) => r.value[0])).toEqual([1]);
    expect(h.instance.allRows().map((r) => r.value[0])).toEqual([1, 2]);
    refresh.apply();
    expect(h.instance.allRows().map((r) => r.value[0])).toEqual([2, 3, 3]);
    expect(cache.refresh(compute).deltas).toEqual([]);
  });

  it('rematerialize replaces rows, keeping the old ones where the view could not be recomputed', () => {
    const { cache } = setup();
    const ok = cache.acquire(def('ok', true), 0n);
    const broken = cache.acquire(def('broken', true), 0n);
    cache.rematerialize((inst) => (inst.def.name === 'ok' ? [row(9)] : undefined));
    expect(ok.instance.allRows().map((r) => r.value[0])).toEqual([9]);
    expect(broken.instance.allRows().map((r) => r.value[0])).toEqual([1, 2]);
  });
});
