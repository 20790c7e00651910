// Total order over raw values, as upstream orders AlgebraicValues: integers numerically,
// floats by total order (NaN last), strings by UTF-8 byte order (= code point order),
// products and arrays lexicographically, sums by tag then payload.
import type { SumValue } from './codec';
import type { Ty } from './types';

export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 units of code points above U+FFFF (surrogates) must sort after U+E000–U+FFFF,
    // as they do in UTF-8; shift both ranges so unit order equals code point order.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareFloat(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === 0 && b === 0) {
    const as = Object.is(a, -0);
    const bs = Object.is(b, -0);
    return as === bs ? 0 : as ? -1 : 1;
  }
  return 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareValues(ty: Ty, a: any, b: any): number {
  switch (ty.kind) {
    case 'Bool':
      return a === b ? 0 : a ? 1 : -1;
    case 'F32':
    case 'F64':
      return compareFloat(a, b);
    case 'String':
      return compareStrings(a, b);
    case 'Array': {
      if (ty.elem.kind === 'U8') return compareBytes(a, b);
      const n = Math.min(a.length, b.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(ty.elem, a[i], b[i]);
        if (c) return c;
      }
      return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
    }
    case 'Product': {
      for (let i = 0; i < ty.elements.length; i++) {
        const c = compareValues(ty.elements[i]!.ty, a[i], b[i]);
        if (c) return c;
      }
      return 0;
    }
    case 'Sum': {
      const x = a as SumValue;
      const y = b as SumValue;
      if (x.tag !== y.tag) return x.tag < y.tag ? -1 : 1;
      return compareValues(ty.variants[x.tag]!.ty, x.value, y.value);
    }
    default:
      // integers: number or bigint of the same kind
      return a === b ? 0 : a < b ? -1 : 1;
  }
}

export function valuesEqual(ty: Ty, a: unknown, b: unknown): boolean {
  return compareValues(ty, a, b) === 0;
}
