// Canonical keys for the hash map of a unique index: two key tuples get the same canonical key
// exactly when `compareValues` finds every column equal, so a Map lookup can stand in for the
// binary search. A value of a shape the type does not lead us to expect has no canonical key
// (undefined): the caller then falls back to the binary search, which keeps whatever
// `compareValues` does with such a value (no match, or a TypeError).
//
// Equality rules mirrored from compare.ts: integers by `===` (so -0 equals 0, a bigint never
// equals a number); floats by total order (every NaN equal to every NaN, -0 distinct from +0);
// strings by code units; bytes by content; products, arrays and sums element by element.
import type { Ty } from '../sats/types';
import { bytesKey } from './rows';

/** What a Map keys on: primitives, compared by SameValueZero. */
export type CanonicalKey = string | number | bigint | boolean;

export interface KeyCanonicalizer {
  /** Canonical key of a full key tuple (values in index column order), or undefined. */
  ofKey(key: readonly unknown[]): CanonicalKey | undefined;
  /** Canonical key of a row's index columns, or undefined. */
  ofRow(row: readonly unknown[]): CanonicalKey | undefined;
}

type ToKey = (v: unknown) => CanonicalKey | undefined;

const NUMBER_INTEGERS = new Set(['U8', 'I8', 'U16', 'I16', 'U32', 'I32']);
const BIGINT_INTEGERS = new Set(['U64', 'I64', 'U128', 'I128', 'U256', 'I256']);
const FLOATS = new Set(['F32', 'F64']);

/** -0 needs a key of its own: SameValueZero (Map) would merge it with +0, compareValues does not. */
const NEGATIVE_ZERO_KEY = '-0';

/**
 * The canonicalizer for an index's key type, or undefined when some type in it is one this
 * module does not model (the index then keeps using the binary search only).
 */
export function keyCanonicalizer(keyTy: Ty & { kind: 'Product' }, columns: readonly number[]): KeyCanonicalizer | undefined {
  if (!keyTy.elements.every((e) => isModelled(e.ty, new Set()))) return undefined;
  const n = keyTy.elements.length;
  if (n === 1) {
    const one = singleValueKey(keyTy.elements[0]!.ty, 0);
    const col = columns[0]!;
    return { ofKey: (key) => one(key[0]), ofRow: (row) => one(row[col]) };
  }
  const parts = keyTy.elements.map((e) => e.ty);
  const build = (get: (i: number) => unknown): string | undefined => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const t = text(parts[i]!, get(i));
      if (t === undefined) return undefined;
      out += t;
    }
    return out;
  };
  return { ofKey: (key) => build((i) => key[i]), ofRow: (row) => build((i) => row[columns[i]!]) };
}

/** Whether every type reachable from `ty` is one compare.ts and this module both know. */
function isModelled(ty: Ty, visiting: Set<Ty>): boolean {
  if (visiting.has(ty)) return true; // recursive type: judged where the cycle started
  switch (ty.kind) {
    case 'Bool':
    case 'String':
      return true;
    case 'Array':
    case 'Product':
    case 'Sum': {
      visiting.add(ty);
      const inner = ty.kind === 'Array' ? [ty.elem] : (ty.kind === 'Product' ? ty.elements : ty.variants).map((f) => f.ty);
      const ok = inner.every((t) => isModelled(t, visiting));
      visiting.delete(ty);
      return ok;
    }
    default:
      return NUMBER_INTEGERS.has(ty.kind) || BIGINT_INTEGERS.has(ty.kind) || FLOATS.has(ty.kind);
  }
}

/**
 * Key of one value on its own (a single-column index): the value itself where SameValueZero
 * already agrees with compareValues, so the common primary keys cost no string building.
 */
function singleValueKey(ty: Ty, depth: number): ToKey {
  switch (ty.kind) {
    case 'Bool':
      return (v) => (typeof v === 'boolean' ? v : undefined);
    case 'String':
      return (v) => (typeof v === 'string' ? v : undefined);
    case 'F32':
    case 'F64':
      return (v) => (typeof v !== 'number' ? undefined : v === 0 && 1 / v < 0 ? NEGATIVE_ZERO_KEY : v);
    case 'Array':
      if (ty.elem.kind === 'U8') return (v) => (v instanceof Uint8Array ? bytesKey(v) : undefined);
      break;
    case 'Product':
      // Special types (identity, timestamp, ...) are one-element products: key on the element.
      if (ty.elements.length === 1 && depth < 8) {
        const inner = singleValueKey(ty.elements[0]!.ty, depth + 1);
        return (v) => (Array.isArray(v) ? inner(v[0]) : undefined);
      }
      break;
    case 'Sum':
      break;
    default:
      if (NUMBER_INTEGERS.has(ty.kind)) return (v) => (typeof v === 'number' && v === v ? v : undefined);
      if (BIGINT_INTEGERS.has(ty.kind)) return (v) => (typeof v === 'bigint' ? v : undefined);
  }
  return (v) => text(ty, v);
}

/**
 * A self-delimiting text for `v` as a value of `ty`: within one type, no text is a prefix of
 * another, so concatenations (products, arrays, multi-column keys) stay unambiguous.
 */
function text(ty: Ty, v: unknown): string | undefined {
  switch (ty.kind) {
    case 'Bool':
      return typeof v === 'boolean' ? (v ? 'T' : 'F') : undefined;
    case 'String':
      return typeof v === 'string' ? `${v.length}:${v}` : undefined;
    case 'F32':
    case 'F64':
      // String() tells apart every number but ±0; NaN is one text, as all NaNs compare equal.
      if (typeof v !== 'number') return undefined;
      return v === 0 && 1 / v < 0 ? '-0;' : `${v};`;
    case 'Array': {
      if (ty.elem.kind === 'U8') return v instanceof Uint8Array ? `${v.length}:${bytesKey(v)}` : undefined;
      if (!Array.isArray(v)) return undefined;
      let out = `${v.length}[`;
      for (const e of v) {
        const t = text(ty.elem, e);
        if (t === undefined) return undefined;
        out += t;
      }
      return out;
    }
    case 'Product': {
      // compareValues never looks inside a value of the unit type: all of them are equal.
      if (ty.elements.length === 0) return '';
      if (!Array.isArray(v)) return undefined;
      let out = '';
      for (let i = 0; i < ty.elements.length; i++) {
        const t = text(ty.elements[i]!.ty, v[i]);
        if (t === undefined) return undefined;
        out += t;
      }
      return out;
    }
    case 'Sum': {
      if (typeof v !== 'object' || v === null) return undefined;
      const { tag, value } = v as { tag: unknown; value: unknown };
      if (typeof tag !== 'number' || !Number.isInteger(tag) || tag < 0 || tag >= ty.variants.length) return undefined;
      const t = text(ty.variants[tag]!.ty, value);
      return t === undefined ? undefined : `${tag}:${t}`;
    }
    default:
      // Integers: compared with ===, so String's merging of -0 into 0 is right; NaN equals nothing.
      if (NUMBER_INTEGERS.has(ty.kind)) return typeof v === 'number' && v === v ? `${v};` : undefined;
      if (BIGINT_INTEGERS.has(ty.kind)) return typeof v === 'bigint' ? `${v.toString(16)};` : undefined;
      return undefined;
  }
}
