// Typing of SQL literals: a literal has no type of its own; it is parsed as the type of the
// column it is compared with (spec §5.1), producing a value in the host's raw value model
// (src/sats/codec.ts): ≤32-bit ints and floats → number, wider ints → bigint, special types → [inner].
import { describeType, intBits, isBigIntKind, isIntegerKind, isSigned, type SpecialKind, type Ty } from '../sats/types';
import type { Literal } from './ast';
import { SqlError } from './errors';

const SPECIAL_NAMES: Record<SpecialKind, string> = {
  identity: 'Identity',
  connection_id: 'ConnectionId',
  timestamp: 'Timestamp',
  time_duration: 'TimeDuration',
  uuid: 'Uuid',
};

/** A type as users write it in module code, for error messages. */
export function showType(ty: Ty): string {
  return ty.kind === 'Product' && ty.special ? SPECIAL_NAMES[ty.special] : describeType(ty);
}

/** Column types SQL comparisons accept: scalars, strings, byte arrays and the special products. */
export function isComparableType(ty: Ty): boolean {
  switch (ty.kind) {
    case 'Product':
      return ty.special !== undefined;
    case 'Sum':
      return false;
    case 'Array':
      return ty.elem.kind === 'U8';
    default:
      return true;
  }
}

/** Structural type equality (names included), as upstream compares AlgebraicTypes. */
export function sameType(a: Ty, b: Ty, depth = 0): boolean {
  if (a === b) return true;
  if (depth > 64 || a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'Array':
      return sameType(a.elem, (b as typeof a).elem, depth + 1);
    case 'Product': {
      const p = b as typeof a;
      return a.special === p.special && a.elements.length === p.elements.length &&
        a.elements.every((e, i) => e.name === p.elements[i]!.name && sameType(e.ty, p.elements[i]!.ty, depth + 1));
    }
    case 'Sum': {
      const s = b as typeof a;
      return a.variants.length === s.variants.length &&
        a.variants.every((v, i) => v.name === s.variants[i]!.name && sameType(v.ty, s.variants[i]!.ty, depth + 1));
    }
    default:
      return true;
  }
}

export function literalText(lit: Literal): string {
  switch (lit.kind) {
    case 'num':
      return lit.text;
    case 'str':
      return `'${lit.text.replace(/'/g, "''")}'`;
    case 'hex':
      return `0x${lit.text}`;
    case 'bool':
      return lit.value ? 'TRUE' : 'FALSE';
    case 'null':
      return 'NULL';
  }
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Exact integer value of decimal text (scientific notation allowed when the value is integral). */
export function parseDecimalInteger(text: string): bigint | 'not-integer' | 'invalid' | 'huge' {
  const m = DECIMAL.exec(text);
  if (!m) return 'invalid';
  const [, sign, intPart = '', fracPart = '', expPart] = m;
  if (!intPart && !fracPart) return 'invalid';
  let digits = (intPart + fracPart).replace(/^0+/, '');
  if (!digits) return 0n;
  let exp = (expPart ? Number(expPart) : 0) - fracPart.length;
  // Trailing zeros move into the exponent, so "1.50e1" and "15" agree.
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  if (exp < 0) return 'not-integer';
  // 2^256 has 78 digits: anything longer cannot fit any column type.
  if (digits.length + exp > 80) return 'huge';
  const v = BigInt(digits) * 10n ** BigInt(exp);
  return sign === '-' ? -v : v;
}

function intRange(kind: string): [bigint, bigint] {
  const bits = BigInt(intBits(kind));
  return isSigned(kind) ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

const HEX = /^[0-9a-fA-F]+$/;

function hexDigitsOf(lit: Literal): string | undefined {
  if (lit.kind === 'hex') return lit.text;
  if (lit.kind === 'str') return lit.text.replace(/^0[xX]/, '');
  return undefined;
}

export function hexToBytes(hex: string): Uint8Array {
  const even = hex.length % 2 ? `0${hex}` : hex;
  const out = new Uint8Array(even.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(even.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Big-endian bytes of an unsigned integer, zero-padded to `width` bytes. */
export function bigintToBytes(v: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let x = v;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Microseconds since the Unix epoch of an RFC 3339 timestamp; sub-microsecond digits are truncated. */
export function parseRfc3339Micros(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) return undefined;
  const dim = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetSeconds = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetSeconds = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const micros = BigInt(((m[7] ?? '') + '000000').slice(0, 6));
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  return BigInt(seconds) * 1_000_000n + micros;
}

const UUID_HYPHENATED = /^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})$/;

/**
 * The raw value of `lit` as a value of type `ty`. `what` names the compared column for messages.
 * Literal kinds follow upstream: numeric columns also accept the text of a string literal ('42'),
 * string columns the text of a number; hex and quoted hex serve bytes, Identity, ConnectionId and Uuid.
 */
export function literalValue(lit: Literal, ty: Ty, what: string): unknown {
  const shown = literalText(lit);
  const bad: (why: string) => never = (why) => {
    throw new SqlError(`invalid literal ${shown} for ${what} of type ${showType(ty)}: ${why}`);
  };
  if (lit.kind === 'null') {
    throw new SqlError(`NULL is not supported (compared with ${what} of type ${showType(ty)}): SpacetimeDB SQL has no NULL values; compare with a concrete value`);
  }
  if (ty.kind === 'Bool') {
    if (lit.kind !== 'bool') bad('expected TRUE or FALSE');
    return lit.value;
  }
  if (lit.kind === 'bool') bad('TRUE/FALSE can only be compared with a Bool column');
  const text = lit.kind === 'num' || lit.kind === 'str' ? lit.text : undefined;

  if (isIntegerKind(ty.kind)) {
    if (text === undefined) bad('expected a decimal integer');
    const v = parseDecimalInteger(text!.trim());
    if (v === 'invalid') bad('expected a decimal integer');
    if (v === 'not-integer') bad('not an integer');
    const [min, max] = intRange(ty.kind);
    if (v === 'huge' || (v as bigint) < min || (v as bigint) > max) bad(`out of range (${min} to ${max})`);
    return isBigIntKind(ty.kind) ? v : Number(v);
  }
  if (ty.kind === 'F32' || ty.kind === 'F64') {
    if (text === undefined || !FLOAT.test(text.trim())) bad('expected a decimal number');
    const n = ty.kind === 'F32' ? Math.fround(Number(text!.trim())) : Number(text!.trim());
    if (!Number.isFinite(n)) bad(`out of range for ${ty.kind}`);
    return n;
  }
  if (ty.kind === 'String') {
    if (text === undefined) bad('expected a string literal');
    return text;
  }
  if (ty.kind === 'Array' && ty.elem.kind === 'U8') {
    const hex = hexDigitsOf(lit);
    if (hex === undefined || (hex !== '' && !HEX.test(hex))) bad("expected hex bytes (0x... or X'...')");
    return hexToBytes(hex!);
  }
  if (ty.kind === 'Product' && ty.special) {
    switch (ty.special) {
      case 'identity':
      case 'connection_id': {
        const width = ty.special === 'identity' ? 64 : 32;
        const hex = hexDigitsOf(lit);
        if (hex === undefined || !HEX.test(hex)) bad(`expected 0x followed by ${width} hex digits`);
        if (hex!.length !== width) bad(`expected ${width} hex digits, got ${hex!.length}`);
        return [BigInt(`0x${hex}`)];
      }
      case 'uuid': {
        if (lit.kind === 'str') {
          const h = UUID_HYPHENATED.exec(lit.text);
          if (h) return [BigInt(`0x${h.slice(1).join('')}`)];
        }
        const hex = hexDigitsOf(lit);
        if (hex === undefined || !HEX.test(hex) || hex.length !== 32) bad('expected 32 hex digits (0x...) or a hyphenated UUID string');
        return [BigInt(`0x${hex}`)];
      }
      case 'timestamp': {
        if (lit.kind !== 'str') bad("expected an RFC 3339 timestamp string such as '2025-02-17T10:30:45.123456Z'");
        const micros = parseRfc3339Micros(lit.text.trim());
        if (micros === undefined) bad("not an RFC 3339 timestamp (e.g. '2025-02-17T10:30:45.123456Z')");
        const [min, max] = intRange('I64');
        if (micros! < min || micros! > max) bad('out of range');
        return [micros];
      }
      case 'time_duration': {
        // Upstream has no TimeDuration literal; this host takes integer microseconds.
        if (text === undefined) bad('expected an integer number of microseconds');
        const v = parseDecimalInteger(text!.trim());
        if (typeof v !== 'bigint') bad('expected an integer number of microseconds');
        const [min, max] = intRange('I64');
        if ((v as bigint) < min || (v as bigint) > max) bad('out of range');
        return [v];
      }
    }
  }
  throw new SqlError(`${what} of type ${showType(ty)} cannot be compared in SQL`);
}
