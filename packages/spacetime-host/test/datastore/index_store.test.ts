// Unique indexes answer exact-key lookups from a Map keyed by canonical keys, and find a row's
// entry for an update or remove from where they last saw it. These tests check that neither ever
// disagrees with compareValues or with the sorted entries: seeded random inserts, removes,
// in-place and moving updates, rebuilds and clears against a reference that scans every row with
// compareValues (point, findOther, range and entry order), over many key types (including the
// float corner cases -0/+0/NaN), plus the paths that must still behave as the binary search did
// (wrong-shaped keys, prefixes, duplicate keys written without a unique check).
import { describe, expect, it } from 'vitest';
import { keyCanonicalizer, type CanonicalKey } from '../../src/datastore/index_key';
import { IndexStore, type Bound } from '../../src/datastore/index_store';
import type { StoredRow } from '../../src/datastore/rows';
import type { IndexDef } from '../../src/module/catalog';
import type { SumValue } from '../../src/sats/codec';
import { compareValues } from '../../src/sats/compare';
import type { Ty } from '../../src/sats/types';
import { prng, seeded } from '@autopilot/test-support';

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const prim = (kind: string): Ty => ({ kind }) as Ty;
const U8: Ty = prim('U8');
const I32: Ty = prim('I32');
const U32: Ty = prim('U32');
const STRING: Ty = prim('String');
const BYTES: Ty = { kind: 'Array', elem: U8 };
const UNIT: Ty = { kind: 'Product', elements: [] };
const IDENTITY: Ty = { kind: 'Product', elements: [{ name: '__identity__', ty: prim('U256') }], special: 'identity' };
const option = (ty: Ty): Ty => ({
  kind: 'Sum',
  variants: [
    { name: 'some', ty },
    { name: 'none', ty: UNIT },
  ],
  option: true,
});
const OPTION_U32 = option(U32);
const ENUM: Ty = {
  kind: 'Sum',
  variants: [
    { name: 'A', ty: U8 },
    { name: 'B', ty: { kind: 'Product', elements: [{ name: 's', ty: STRING }, { name: 'n', ty: I32 }] } },
    { name: 'C', ty: UNIT },
  ],
};
const EITHER: Ty = {
  kind: 'Sum',
  variants: [
    { name: 'L', ty: U32 },
    { name: 'R', ty: U32 },
  ],
};
const ARRAY_I32: Ty = { kind: 'Array', elem: I32 };
const OPTION_STRING = option(STRING);

/** A NaN with a payload other than the default one (JS may or may not keep the bits). */
const OTHER_NAN = (() => {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, 0x7ff80000);
  v.setUint32(4, 1);
  return v.getFloat64(0);
})();

const STRING_PIECES = ['', 'a', 'b', '1', 'é', '\u{10000}', '\uE000', '\uD800', ';', ':', '1:', 'T'];
const randomString = (rand: Rand) => Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, STRING_PIECES)).join('');
const randomBytes = (rand: Rand) => Uint8Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, [0, 1, 58, 59, 255]));
const randomI32s = (rand: Rand) => Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, [-1, 0, 1]));

interface Case {
  name: string;
  keyTys: Ty[];
  /** Row columns holding the key, in index column order (rows have 4 columns). */
  columns: number[];
  gen: (rand: Rand) => unknown[];
}

const CASES: Case[] = [
  { name: 'u32', keyTys: [U32], columns: [0], gen: (r) => [pick(r, [0, -0, 1, 2, 3, 7, 4294967295])] },
  { name: 'i32', keyTys: [I32], columns: [2], gen: (r) => [pick(r, [-2147483648, -1, -0, 0, 1, 2147483647])] },
  { name: 'u64', keyTys: [prim('U64')], columns: [1], gen: (r) => [pick(r, [0n, 1n, 2n, 3n, 5n, 2n ** 64n - 1n])] },
  {
    name: 'i128',
    keyTys: [prim('I128')],
    columns: [3],
    // Values differing only above the low 64 bits, which a bigint hash may ignore.
    gen: (r) => [pick(r, [-(2n ** 127n), -1n, 0n, 1n, 2n ** 64n, 2n ** 64n + 1n, 2n ** 65n + 1n, 2n ** 127n - 1n])],
  },
  { name: 'string', keyTys: [STRING], columns: [0], gen: (r) => [randomString(r)] },
  { name: 'bytes', keyTys: [BYTES], columns: [1], gen: (r) => [randomBytes(r)] },
  {
    name: 'f64',
    keyTys: [prim('F64')],
    columns: [0],
    gen: (r) => [pick(r, [-0, 0, NaN, OTHER_NAN, Infinity, -Infinity, 1, -1, 0.1, 5e-324, 1e300])],
  },
  { name: 'f32', keyTys: [prim('F32')], columns: [0], gen: (r) => [pick(r, [-0, 0, NaN, Infinity, -Infinity, 1.5, Math.fround(0.1)])] },
  { name: 'bool', keyTys: [prim('Bool')], columns: [0], gen: (r) => [r() < 0.5] },
  { name: '(u32, string)', keyTys: [U32, STRING], columns: [3, 1], gen: (r) => [pick(r, [0, 1, 2]), randomString(r)] },
  // Multi-column keys whose parts would run together without delimiters: (1, 12) vs (11, 2),
  // ('a', '') vs ('', 'a'), and bigints differing only in sign.
  { name: '(u32, u32)', keyTys: [U32, U32], columns: [0, 1], gen: (r) => [Math.floor(r() * 13), Math.floor(r() * 13)] },
  { name: '(string, string)', keyTys: [STRING, STRING], columns: [1, 0], gen: (r) => [randomString(r), randomString(r)] },
  { name: '(bytes, bytes)', keyTys: [BYTES, BYTES], columns: [0, 1], gen: (r) => [randomBytes(r), randomBytes(r)] },
  { name: '(array<i32>, array<i32>)', keyTys: [ARRAY_I32, ARRAY_I32], columns: [0, 1], gen: (r) => [randomI32s(r), randomI32s(r)] },
  { name: '(i256, bool)', keyTys: [prim('I256'), prim('Bool')], columns: [0, 1], gen: (r) => [pick(r, [-(2n ** 255n), -2n, -1n, 0n, 1n, 2n]), r() < 0.5] },
  {
    name: '(bool, f64, bytes)',
    keyTys: [prim('Bool'), prim('F64'), BYTES],
    columns: [2, 0, 3],
    gen: (r) => [r() < 0.5, pick(r, [-0, 0, NaN, 1]), randomBytes(r)],
  },
  {
    name: 'identity (u256)',
    keyTys: [IDENTITY],
    columns: [0],
    gen: (r) => [[pick(r, [0n, 1n, 2n, 2n ** 128n, 2n ** 255n, 2n ** 256n - 1n])]],
  },
  {
    name: 'option<u32>',
    keyTys: [OPTION_U32],
    columns: [0],
    gen: (r) => [r() < 0.2 ? { tag: 1, value: [] } : { tag: 0, value: pick(r, [0, 1, 2, 3]) }],
  },
  {
    name: 'enum { A(u8), B(string, i32), C }',
    keyTys: [ENUM],
    columns: [0],
    gen: (r) => {
      const tag = Math.floor(r() * 3);
      const value = tag === 0 ? pick(r, [0, 1, 255]) : tag === 1 ? [randomString(r), pick(r, [-1, 0, 1])] : [];
      return [{ tag, value }];
    },
  },
  {
    name: 'either { L(u32), R(u32) }',
    keyTys: [EITHER],
    columns: [0],
    gen: (r) => [{ tag: Math.floor(r() * 2), value: pick(r, [0, 1, 2]) }],
  },
  { name: 'array<i32>', keyTys: [ARRAY_I32], columns: [0], gen: (r) => [randomI32s(r)] },
  {
    name: '(i128, option<string>)',
    keyTys: [prim('I128'), OPTION_STRING],
    columns: [1, 2],
    gen: (r) => [pick(r, [0n, -1n, 1n, 2n ** 100n]), r() < 0.3 ? { tag: 1, value: [] } : { tag: 0, value: randomString(r) }],
  },
];

function indexDef(c: Pick<Case, 'keyTys' | 'columns'>, unique = true): IndexDef {
  return {
    id: 0,
    name: 't_key_idx',
    sourceName: 't_key_idx',
    accessorName: undefined,
    algorithm: 'btree',
    columns: c.columns,
    unique,
    tableId: 0,
    keyTy: { kind: 'Product', elements: c.keyTys.map((ty, i) => ({ name: `k${i}`, ty })) },
  };
}

/** A copy sharing no objects with `v`, so lookups cannot succeed by object identity. */
function clone(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(clone);
  if (typeof v === 'object' && v !== null) {
    const s = v as SumValue;
    return { tag: s.tag, value: clone(s.value) };
  }
  return v;
}

let nextId = 1;
function rowWithKey(c: Case, key: unknown[]): StoredRow {
  const value: unknown[] = ['filler', 'filler', 'filler', 'filler'];
  c.columns.forEach((col, i) => (value[col] = clone(key[i])));
  const id = nextId++;
  return { id, bytes: new Uint8Array(), value, key: `row${id}` };
}

const keyEquals = (c: Case, row: StoredRow, key: unknown[]) => c.keyTys.every((ty, i) => compareValues(ty, row.value[c.columns[i]!], key[i]) === 0);
const prefixEquals = (c: Case, row: StoredRow, prefix: unknown[]) =>
  prefix.every((v, i) => compareValues(c.keyTys[i]!, row.value[c.columns[i]!], v) === 0);
const rowKey = (c: Case, row: StoredRow) => c.columns.map((col) => row.value[col]);

/** The order the index must keep: by key, then by row id. */
function referenceOrder(c: Case, rows: StoredRow[]): StoredRow[] {
  return [...rows].sort((a, b) => {
    for (let i = 0; i < c.keyTys.length; i++) {
      const d = compareValues(c.keyTys[i]!, a.value[c.columns[i]!], b.value[c.columns[i]!]);
      if (d) return d;
    }
    return a.id - b.id;
  });
}

const sameMapKey = (a: CanonicalKey | undefined, b: CanonicalKey | undefined) => new Map([[a, 1]]).has(b);

describe('canonical keys agree with compareValues', () => {
  for (const c of CASES) {
    it(`${c.name}: equal canonical keys exactly when every column compares equal`, seeded({ seed: 1, iterations: 1500 }, ({ seed, iterations }) => {
      const canon = keyCanonicalizer(indexDef(c).keyTy, c.columns);
      expect(canon, `${c.name} should be modelled`).toBeDefined();
      const rand = prng(seed + c.name.length * 7919);
      let equalPairs = 0;
      for (let i = 0; i < iterations; i++) {
        const a = c.gen(rand);
        const b = i % 5 === 0 ? (clone(a) as unknown[]) : c.gen(rand);
        const ka = canon!.ofKey(a);
        const kb = canon!.ofKey(b);
        expect(ka, `canonical key of ${String(a)}`).toBeDefined();
        const equal = c.keyTys.every((ty, n) => compareValues(ty, a[n], b[n]) === 0);
        if (equal) equalPairs++;
        expect(sameMapKey(ka, kb), `${c.name}: keys ${String(a)} vs ${String(b)}`).toBe(equal);
        expect(sameMapKey(canon!.ofRow(rowWithKey(c, a).value), ka)).toBe(true);
      }
      expect(equalPairs).toBeGreaterThan(iterations / 5);
    }));
  }

  it('tells -0 from +0 for floats but not for integers, and merges every NaN', () => {
    const f64 = keyCanonicalizer(indexDef({ keyTys: [prim('F64')], columns: [0] }).keyTy, [0])!;
    const i32 = keyCanonicalizer(indexDef({ keyTys: [I32], columns: [0] }).keyTy, [0])!;
    expect(sameMapKey(f64.ofKey([-0]), f64.ofKey([0]))).toBe(false);
    expect(sameMapKey(f64.ofKey([NaN]), f64.ofKey([OTHER_NAN]))).toBe(true);
    expect(sameMapKey(i32.ofKey([-0]), i32.ofKey([0]))).toBe(true);
  });

  it('gives no key to values of an unexpected shape', () => {
    const canonOf = (ty: Ty) => keyCanonicalizer(indexDef({ keyTys: [ty], columns: [0] }).keyTy, [0])!;
    expect(canonOf(prim('U64')).ofKey([5])).toBeUndefined(); // number where a bigint belongs
    expect(canonOf(U32).ofKey([5n])).toBeUndefined();
    expect(canonOf(U32).ofKey([NaN])).toBeUndefined();
    expect(canonOf(BYTES).ofKey([[1, 2]])).toBeUndefined();
    expect(canonOf(STRING).ofKey([1])).toBeUndefined();
    expect(canonOf(OPTION_U32).ofKey([{ tag: 2, value: 0 }])).toBeUndefined();
    expect(canonOf(OPTION_U32).ofKey([undefined])).toBeUndefined();
    expect(canonOf(IDENTITY).ofKey([5n])).toBeUndefined(); // bare u256 where the product belongs
  });

  it('declines key types compare.ts does not know', () => {
    expect(keyCanonicalizer(indexDef({ keyTys: [prim('Mystery')], columns: [0] }).keyTy, [0])).toBeUndefined();
    expect(keyCanonicalizer(indexDef({ keyTys: [{ kind: 'Array', elem: prim('Mystery') }], columns: [0] }).keyTy, [0])).toBeUndefined();
  });
});

/**
 * How the index is written to: `checked` as the datastore does (a unique check before every
 * write), `unchecked` like recovery (some inserts skip the check, so a unique index may hold a
 * key twice and falls back to the binary search), `non-unique` for an index without the map.
 */
type Mode = 'checked' | 'unchecked' | 'non-unique';

const rowIds = (rows: readonly StoredRow[]) => rows.map((r) => r.id);

/** A key to probe with: half the time one a live row holds, so lookups often hit. */
function probeKey(c: Case, rand: Rand, live: StoredRow[]): unknown[] {
  return live.length && rand() < 0.5 ? (clone(rowKey(c, pick(rand, live))) as unknown[]) : c.gen(rand);
}

/** A random bound for column `col` (the one after the prefix). */
function randomBound(c: Case, rand: Rand, live: StoredRow[], col: number): Bound {
  const r = rand();
  if (r < 0.2) return { kind: 'unbounded' };
  const value = probeKey(c, rand, live)[col];
  return r < 0.6 ? { kind: 'included', value } : { kind: 'excluded', value };
}

function withinBound(c: Case, row: StoredRow, col: number, b: Bound, side: 'start' | 'end'): boolean {
  if (b.kind === 'unbounded') return true;
  const d = compareValues(c.keyTys[col]!, row.value[c.columns[col]!], b.value);
  if (side === 'start') return b.kind === 'included' ? d >= 0 : d > 0;
  return b.kind === 'included' ? d <= 0 : d < 0;
}

/**
 * Seeded random writes against a reference that keeps the live rows in an array and answers
 * every query by scanning them with compareValues. Rows are told apart by id (each row object
 * has its own), so a replaced row still returned in place of its successor shows up.
 */
function differential(c: Case, mode: Mode, seed: number, steps: number): void {
  const rand = prng(seed + c.name.length * 104729 + mode.length * 31);
  const unique = mode !== 'non-unique';
  const ix = new IndexStore(indexDef(c, unique));
  let live: StoredRow[] = [];
  let mapExpected = unique;
  const ordered = () => referenceOrder(c, live);
  const matches = (key: unknown[]) => ordered().filter((r) => keyEquals(c, r, key));
  const hasDuplicateKeys = () => live.some((r, i) => live.some((o, j) => j < i && keyEquals(c, o, rowKey(c, r))));
  let hits = 0;
  let misses = 0;
  let rangeRows = 0;

  const checkLookups = (key: unknown[]) => {
    const want = matches(key);
    if (mode === 'checked') expect(want.length).toBeLessThanOrEqual(1);
    expect(rowIds(ix.point(clone(key) as unknown[])), `point ${String(key)}`).toEqual(rowIds(want));
    expect(ix.findOther(clone(key) as unknown[])).toBe(want[0]);
    if (want[0]) {
      expect(ix.findOther(clone(key) as unknown[], want[0])).toBe(want[1]);
      hits++;
    } else misses++;
  };

  const checkRange = () => {
    const p = Math.floor(rand() * c.keyTys.length);
    const prefix = probeKey(c, rand, live).slice(0, p);
    const start = randomBound(c, rand, live, p);
    const end = randomBound(c, rand, live, p);
    const want = ordered().filter(
      (r) => prefixEquals(c, r, prefix) && withinBound(c, r, p, start, 'start') && withinBound(c, r, p, end, 'end'),
    );
    const got = ix.range(clone(prefix) as unknown[], start, end);
    expect(rowIds(got), `range ${String(prefix)} ${JSON.stringify([start.kind, end.kind])}`).toEqual(rowIds(want));
    rangeRows += got.length;
  };

  /** After an update: lookups by the new key find `next`, never the row it replaced. */
  const checkReplaced = (prev: StoredRow, next: StoredRow) => {
    const key = clone(rowKey(c, next)) as unknown[];
    const found = ix.point(key);
    expect(found).toContain(next);
    expect(found).not.toContain(prev);
    if (mode === 'checked') {
      expect(found).toEqual([next]);
      expect(ix.findOther(key)).toBe(next);
      expect(ix.findOther(key, next)).toBeUndefined();
    }
    expect(ix.range(key.slice(0, -1), { kind: 'included', value: key.at(-1) }, { kind: 'included', value: key.at(-1) })).toContain(next);
  };

  /** The unique check the datastore makes before writing `key` (over `prev`, for an update). */
  const passesUniqueCheck = (key: unknown[], prev?: StoredRow) => {
    const other = ordered().find((r) => r !== prev && keyEquals(c, r, key));
    expect(ix.findOther(clone(key) as unknown[], prev)).toBe(other);
    return other === undefined;
  };

  for (let step = 0; step < steps; step++) {
    const op = rand();
    if (op < 0.28) {
      const key = c.gen(rand);
      const skipCheck = mode === 'non-unique' || (mode === 'unchecked' && rand() < 0.15);
      if (skipCheck || passesUniqueCheck(key)) {
        if (unique && matches(key).length > 0) mapExpected = false;
        const row = rowWithKey(c, key);
        ix.insert(row);
        live.push(row);
      }
    } else if (op < 0.4 && live.length) {
      const row = pick(rand, live);
      ix.remove(row);
      live = live.filter((r) => r !== row);
    } else if (op < 0.6 && live.length) {
      // An update keeping the key: a unique index rewrites the slot (directly, or through
      // `replace` as TableStore does); a non-unique one moves the row by its new id.
      const prev = pick(rand, live);
      const next = rowWithKey(c, rowKey(c, prev));
      expect(ix.sameKey(prev, next)).toBe(true);
      if (unique && op < 0.5) ix.replaceInPlace(prev, next);
      else ix.replace(prev, next);
      live = live.map((r) => (r === prev ? next : r));
      checkReplaced(prev, next);
    } else if (op < 0.7 && live.length) {
      // An update to a random key (sometimes the same one), after the unique check.
      const prev = pick(rand, live);
      const key = c.gen(rand);
      if (!unique || passesUniqueCheck(key, prev)) {
        const next = rowWithKey(c, key);
        ix.replace(prev, next);
        live = live.map((r) => (r === prev ? next : r));
        checkReplaced(prev, next);
      }
    } else if (op < 0.72) {
      const shuffled = [...live].sort(() => rand() - 0.5);
      ix.rebuildFrom(shuffled);
      mapExpected = unique && !hasDuplicateKeys();
    } else if (op < 0.725) {
      ix.clear();
      live = [];
      mapExpected = unique;
    } else if (op < 0.86) {
      checkLookups(probeKey(c, rand, live));
    } else {
      checkRange();
    }
    expect(rowIds(ix.entries)).toEqual(rowIds(ordered()));
    expect(ix.keyMapActive).toBe(mapExpected);
  }
  for (const r of live) checkLookups(rowKey(c, r));
  expect(hits).toBeGreaterThan(50);
  expect(misses).toBeGreaterThan(3);
  expect(rangeRows).toBeGreaterThan(50);
}

describe('IndexStore against a compareValues scan', () => {
  for (const c of CASES) {
    it(`${c.name}: random inserts, removes, in-place and moving updates, rebuilds and clears with unique checks`, seeded({ seed: 3, iterations: 2500 }, ({ seed, iterations }) => {
      differential(c, 'checked', seed, iterations);
    }));
  }
  for (const c of CASES) {
    it(`${c.name}: the same with some duplicate keys written into the unique index, and as a non-unique index`, seeded({ seed: 3, iterations: 800 }, ({ seed, iterations }) => {
      differential(c, 'unchecked', seed, iterations);
      differential(c, 'non-unique', seed, iterations);
    }));
  }
});

describe('unique IndexStore paths that keep the binary search behaviour', () => {
  const u64: Case = { name: 'u64', keyTys: [prim('U64')], columns: [0], gen: () => [] };
  const filled = (c: Case, keys: unknown[][], unique = true) => {
    const ix = new IndexStore(indexDef(c, unique));
    const rows = keys.map((k) => rowWithKey(c, k));
    for (const r of rows) ix.insert(r);
    return { ix, rows };
  };

  it('answers wrong-shaped, prefix and over-long keys as a non-unique index does', () => {
    const sum: Case = { name: 'option', keyTys: [OPTION_U32], columns: [0], gen: () => [] };
    const bytes: Case = { name: 'bytes', keyTys: [BYTES], columns: [0], gen: () => [] };
    const pair: Case = { name: 'pair', keyTys: [U32, STRING], columns: [0, 1], gen: () => [] };
    const probes: [Case, unknown[][], unknown[]][] = [
      [u64, [[1n], [2n]], [1]], // number key on a bigint column: no match
      [u64, [[1n], [2n]], []], // empty prefix: every row
      [bytes, [[Uint8Array.of(1, 2)]], [[1, 2]]], // plain array compares equal to the bytes
      [sum, [[{ tag: 0, value: 1 }]], [undefined]], // compareValues throws a TypeError
      [u64, [[1n]], [1n, 2n]], // more values than columns: throws
      [pair, [[1, 'a'], [1, 'b'], [2, 'a']], [1]], // prefix of a two-column unique index
    ];
    for (const [c, keys, probe] of probes) {
      const unique = filled(c, keys);
      const plain = filled(c, keys, false);
      expect(unique.ix.keyMapActive).toBe(true);
      // Rows are told apart by insertion position, so the two stores' answers can be compared.
      const outcome = (store: { rows: StoredRow[] }, f: () => StoredRow[] | StoredRow | undefined) => {
        try {
          const r = f();
          const found = Array.isArray(r) ? r : r ? [r] : [];
          return { ok: true, rows: found.map((x) => store.rows.indexOf(x)) };
        } catch (e) {
          return { ok: false, error: (e as Error).constructor.name };
        }
      };
      const label = `${c.name} probed with ${String(probe)}`;
      expect(outcome(unique, () => unique.ix.point(probe)), label).toEqual(outcome(plain, () => plain.ix.point(probe)));
      expect(outcome(unique, () => unique.ix.findOther(probe)), label).toEqual(outcome(plain, () => plain.ix.findOther(probe)));
    }
    // The expectations spelled out, for the cases above.
    expect(filled(u64, [[1n]]).ix.point([1])).toEqual([]);
    expect(filled(u64, [[1n], [2n]]).ix.point([])).toHaveLength(2);
    expect(filled(bytes, [[Uint8Array.of(1, 2)]]).ix.point([[1, 2]])).toHaveLength(1);
    expect(() => filled(sum, [[{ tag: 0, value: 1 }]]).ix.point([undefined])).toThrow(TypeError);
    expect(() => filled(u64, [[1n]]).ix.findOther([1n, 2n])).toThrow(TypeError);
  });

  it('returns a fresh array from point, so callers may delete while iterating it', () => {
    const { ix, rows } = filled(u64, [[1n], [2n]]);
    const found = ix.point([1n]);
    found.length = 0;
    found.push(rows[1]!);
    expect(ix.point([1n])).toEqual([rows[0]]);
    for (const r of ix.point([2n])) ix.remove(r);
    expect(ix.point([2n])).toEqual([]);
    const none = ix.point([3n]);
    none.push(rows[0]!);
    expect(ix.point([3n])).toEqual([]);
  });

  it('falls back to the binary search after a duplicate key is written without a unique check, until a rebuild', () => {
    // Recovery (restoreRow) inserts rows without checking unique constraints.
    const { ix, rows } = filled(u64, [[1n], [2n], [1n]]);
    expect(ix.keyMapActive).toBe(false);
    expect(ix.point([1n])).toEqual([rows[0], rows[2]]);
    expect(ix.findOther([1n], rows[0])).toBe(rows[2]);
    expect(ix.findOther([2n], rows[1])).toBeUndefined();
    ix.remove(rows[2]!);
    expect(ix.point([1n])).toEqual([rows[0]]);
    ix.rebuildFrom([rows[1]!, rows[0]!, rows[2]!]);
    expect(ix.keyMapActive).toBe(false); // still a duplicate
    expect(ix.entries).toEqual([rows[0], rows[2], rows[1]]);
    // An update keeping a duplicated key still leaves the two rows ordered by id.
    const newer = rowWithKey(u64, [1n]);
    ix.replace(rows[0]!, newer);
    expect(ix.entries).toEqual([rows[2], newer, rows[1]]);
    ix.replaceInPlace(newer, rows[0]!);
    expect(ix.entries).toEqual([rows[0], rows[2], rows[1]]);
    ix.remove(rows[2]!);
    ix.rebuildFrom([rows[1]!, rows[0]!]);
    expect(ix.keyMapActive).toBe(true);
    expect(ix.point([1n])).toEqual([rows[0]]);
    expect(ix.findOther([2n])).toBe(rows[1]);
    ix.clear();
    expect(ix.keyMapActive).toBe(true);
    expect(ix.entries).toEqual([]);
    expect(ix.point([1n])).toEqual([]);
  });

  it('keeps non-unique indexes on the binary search', () => {
    const { ix, rows } = filled(u64, [[1n], [1n], [2n]], false);
    expect(ix.keyMapActive).toBe(false);
    expect(ix.point([1n])).toEqual([rows[0], rows[1]]);
    expect(ix.findOther([1n], rows[0])).toBe(rows[1]);
  });

  it('reports a row it does not hold on remove and replace', () => {
    const { ix, rows } = filled(u64, [[1n], [2n]]);
    const stranger = rowWithKey(u64, [1n]);
    expect(() => ix.remove(stranger)).toThrow(/missing a row/);
    expect(() => ix.replaceInPlace(stranger, rowWithKey(u64, [1n]))).toThrow(/missing a row/);
    expect(() => ix.replace(stranger, rowWithKey(u64, [1n]))).toThrow(/missing a row/);
    expect(() => ix.replace(stranger, rowWithKey(u64, [3n]))).toThrow(/missing a row/);
    expect(ix.point([1n])).toEqual([rows[0]]);
    expect(ix.keyMapActive).toBe(true);
  });

  it('refuses an in-place replace by a row with another key, leaving the index as it was', () => {
    const { ix, rows } = filled(u64, [[1n], [2n]]);
    expect(() => ix.replaceInPlace(rows[0]!, rowWithKey(u64, [3n]))).toThrow(/needs rows with the same key/);
    expect(() => ix.replaceInPlace(rows[0]!, rowWithKey(u64, [2n]))).toThrow(/needs rows with the same key/);
    expect(ix.entries).toEqual(rows);
    expect(ix.point([1n])).toEqual([rows[0]]);
    expect(ix.keyMapActive).toBe(true);
  });

  it('takes a row of an unexpected shape that compareValues finds equal, then stops using the map', () => {
    const bytes: Case = { name: 'bytes', keyTys: [BYTES], columns: [0], gen: () => [] };
    const { ix, rows } = filled(bytes, [[Uint8Array.of(1)], [Uint8Array.of(2)]]);
    const plain = rowWithKey(bytes, [[2]]); // a plain array where bytes belong: no canonical key
    ix.replace(rows[1]!, plain);
    expect(ix.keyMapActive).toBe(false);
    expect(ix.entries).toEqual([rows[0], plain]);
    expect(ix.point([Uint8Array.of(2)])).toEqual([plain]);
  });
});
