import { Timestamp } from 'spacetimedb';
import { describe, expect, it } from 'vitest';
import type { Literal } from '../../src/sql/ast';
import { isComparableType, literalValue, parseDecimalInteger, parseRfc3339Micros, sameType } from '../../src/sql/literals';
import { seeded } from '@autopilot/test-support';
import { T } from './helpers';

const num = (text: string): Literal => ({ kind: 'num', text });
const str = (text: string): Literal => ({ kind: 'str', text });
const hex = (text: string): Literal => ({ kind: 'hex', text });
const bool = (value: boolean): Literal => ({ kind: 'bool', value });
const as = (lit: Literal, ty: typeof T.u8) => literalValue(lit, ty, 'column "c"');

describe('parseDecimalInteger', () => {
  it.each([
    ['0', 0n],
    ['-0', 0n],
    ['42', 42n],
    ['+42', 42n],
    ['-17', -17n],
    ['1e3', 1000n],
    ['1E+3', 1000n],
    ['1.5e1', 15n],
    ['1.50e1', 15n],
    ['10e-1', 1n],
    ['2.000', 2n],
    ['0.0', 0n],
    ['115792089237316195423570985008687907853269984665640564039457584007913129639935', (1n << 256n) - 1n],
  ])('%s → %s', (text, value) => {
    expect(parseDecimalInteger(text)).toBe(value);
  });

  it.each([
    ['1.5', 'not-integer'],
    ['1e-1', 'not-integer'],
    ['abc', 'invalid'],
    ['', 'invalid'],
    ['.', 'invalid'],
    ['1e', 'invalid'],
    ['0x10', 'invalid'],
    ['1e100', 'huge'],
    ['1e99999999999999999999', 'huge'],
  ])('%s → %s', (text, outcome) => {
    expect(parseDecimalInteger(text)).toBe(outcome);
  });
});

describe('literalValue: integers', () => {
  it('produces numbers up to 32 bits and bigints above, range-checked per type', () => {
    expect(as(num('255'), T.u8)).toBe(255);
    expect(as(num('-128'), T.i8)).toBe(-128);
    expect(as(num('65535'), T.u16)).toBe(65535);
    expect(as(num('-32768'), T.i16)).toBe(-32768);
    expect(as(num('4294967295'), T.u32)).toBe(4294967295);
    expect(as(num('-2147483648'), T.i32)).toBe(-2147483648);
    expect(as(num('18446744073709551615'), T.u64)).toBe(18446744073709551615n);
    expect(as(num('-9223372036854775808'), T.i64)).toBe(-9223372036854775808n);
    expect(as(num('340282366920938463463374607431768211455'), T.u128)).toBe((1n << 128n) - 1n);
    expect(as(num('-170141183460469231731687303715884105728'), T.i128)).toBe(-(1n << 127n));
    expect(as(num('1e76'), T.u256)).toBe(10n ** 76n);
    expect(as(num('-1e76'), T.i256)).toBe(-(10n ** 76n));
  });

  it.each([
    ['256', T.u8, /out of range \(0 to 255\)/],
    ['-1', T.u8, /out of range/],
    ['128', T.i8, /out of range \(-128 to 127\)/],
    ['4294967296', T.u32, /out of range/],
    ['-2147483649', T.i32, /out of range/],
    ['18446744073709551616', T.u64, /out of range/],
    ['9223372036854775808', T.i64, /out of range/],
    ['1e80', T.u256, /out of range/],
    ['1e200', T.u256, /out of range/],
    ['1.5', T.u32, /not an integer/],
    ['2.5e-1', T.i64, /not an integer/],
  ])('rejects %s as %j', (text, ty, message) => {
    expect(() => as(num(text), ty)).toThrow(message);
  });

  it('accepts the text of a string literal, like upstream', () => {
    expect(as(str('42'), T.u32)).toBe(42);
    expect(() => as(str('forty'), T.u32)).toThrow(/invalid literal 'forty' for column "c" of type U32: expected a decimal integer/);
  });

  it('rejects hex, booleans and NULL for integer columns', () => {
    expect(() => as(hex('10'), T.u32)).toThrow(/expected a decimal integer/);
    expect(() => as(bool(true), T.u32)).toThrow(/TRUE\/FALSE can only be compared with a Bool column/);
    expect(() => as({ kind: 'null' }, T.u32)).toThrow(/NULL is not supported \(compared with column "c" of type U32\)/);
  });
});

describe('literalValue: floats, strings, bools, bytes', () => {
  it('parses floats, rounding to f32 for F32 columns', () => {
    expect(as(num('1.5'), T.f64)).toBe(1.5);
    expect(as(num('-1.5e-7'), T.f64)).toBe(-1.5e-7);
    expect(as(num('1e+21'), T.f64)).toBe(1e21);
    expect(as(num('3'), T.f64)).toBe(3);
    expect(as(num('0.1'), T.f32)).toBe(Math.fround(0.1));
    expect(as(str('2.5'), T.f64)).toBe(2.5);
  });

  it('rejects floats out of range and non-numbers', () => {
    expect(() => as(num('1e39'), T.f32)).toThrow(/out of range for F32/);
    expect(() => as(num('1e309'), T.f64)).toThrow(/out of range for F64/);
    expect(() => as(str('NaN'), T.f64)).toThrow(/expected a decimal number/);
    expect(() => as(hex('ff'), T.f64)).toThrow(/expected a decimal number/);
  });

  it('takes strings verbatim (a number keeps its text, like upstream)', () => {
    expect(as(str("it's"), T.string)).toBe("it's");
    expect(as(str(''), T.string)).toBe('');
    expect(as(num('1e3'), T.string)).toBe('1e3');
    expect(() => as(bool(false), T.string)).toThrow(/TRUE\/FALSE can only be compared with a Bool column/);
    expect(() => as(hex('00'), T.string)).toThrow(/expected a string literal/);
  });

  it('accepts only TRUE/FALSE for Bool columns', () => {
    expect(as(bool(true), T.bool)).toBe(true);
    expect(as(bool(false), T.bool)).toBe(false);
    expect(() => as(str('true'), T.bool)).toThrow(/expected TRUE or FALSE/);
    expect(() => as(num('1'), T.bool)).toThrow(/expected TRUE or FALSE/);
  });

  it('parses bytes from 0x, X\'..\' and quoted hex', () => {
    expect(as(hex('00ff10'), T.bytes)).toEqual(new Uint8Array([0, 255, 16]));
    expect(as(str('0xABCD'), T.bytes)).toEqual(new Uint8Array([0xab, 0xcd]));
    expect(as(str(''), T.bytes)).toEqual(new Uint8Array([]));
    expect(as(hex('abc'), T.bytes)).toEqual(new Uint8Array([0x0a, 0xbc]));
    expect(() => as(str('zz'), T.bytes)).toThrow(/expected hex bytes/);
    expect(() => as(num('12'), T.bytes)).toThrow(/expected hex bytes/);
  });
});

describe('literalValue: special types', () => {
  const id = 'c200' + '0123456789abcdef'.repeat(3) + '0123456789ab';

  it('parses Identity and ConnectionId from big-endian hex of the exact width', () => {
    expect(as(hex(id), T.identity)).toEqual([BigInt(`0x${id}`)]);
    expect(as(str(`0x${id.toUpperCase()}`), T.identity)).toEqual([BigInt(`0x${id}`)]);
    expect(as(hex('0'.repeat(31) + '1'), T.connectionId)).toEqual([1n]);
    expect(() => as(hex(id.slice(2)), T.identity)).toThrow(/expected 64 hex digits, got 62/);
    expect(() => as(hex(id), T.connectionId)).toThrow(/expected 32 hex digits, got 64/);
    expect(() => as(num('5'), T.identity)).toThrow(/expected 0x followed by 64 hex digits/);
  });

  it('parses Uuid from 32 hex digits or the hyphenated form', () => {
    const v = [0x0123456789abcdef0123456789abcdefn];
    expect(as(hex('0123456789abcdef0123456789abcdef'), T.uuid)).toEqual(v);
    expect(as(str('01234567-89ab-cdef-0123-456789abcdef'), T.uuid)).toEqual(v);
    expect(as(str('01234567-89AB-CDEF-0123-456789ABCDEF'), T.uuid)).toEqual(v);
    expect(() => as(str('01234567-89ab-cdef-0123'), T.uuid)).toThrow(/hyphenated UUID/);
    expect(() => as(hex('00'), T.uuid)).toThrow(/32 hex digits/);
  });

  it('parses Timestamp from RFC 3339 strings into microseconds', () => {
    expect(as(str('1970-01-01T00:00:00Z'), T.timestamp)).toEqual([0n]);
    expect(as(str('2025-02-17T10:30:45.123456Z'), T.timestamp)).toEqual([1739788245123456n]);
    expect(as(str('2025-02-17T12:30:45.123456+02:00'), T.timestamp)).toEqual([1739788245123456n]);
    expect(as(str('1969-12-31T23:59:59.999999Z'), T.timestamp)).toEqual([-1n]);
    expect(() => as(num('1739788245123456'), T.timestamp)).toThrow(/expected an RFC 3339 timestamp string/);
    expect(() => as(str('2025-02-30T00:00:00Z'), T.timestamp)).toThrow(/not an RFC 3339 timestamp/);
    expect(() => as(str('2025-02-17 10:30'), T.timestamp)).toThrow(/not an RFC 3339 timestamp/);
  });

  it('takes TimeDuration as integer microseconds (a host extension)', () => {
    expect(as(num('-1500000'), T.timeDuration)).toEqual([-1500000n]);
    expect(() => as(num('1.5'), T.timeDuration)).toThrow(/integer number of microseconds/);
  });

  it('refuses literals for types SQL cannot compare', () => {
    expect(() => as(num('1'), T.optionU32)).toThrow(/column "c" of type Option<U32> cannot be compared in SQL/);
    expect(() => as(num('1'), T.point)).toThrow(/cannot be compared in SQL/);
    expect(() => as(str('x'), T.u32s)).toThrow(/cannot be compared in SQL/);
  });
});

describe('parseRfc3339Micros', () => {
  it('accepts lowercase t/z, a space separator, and truncates below microseconds', () => {
    expect(parseRfc3339Micros('2000-02-29t00:00:00.0000019z')).toBe(951782400000001n);
    expect(parseRfc3339Micros('2000-02-29 00:00:00Z')).toBe(951782400000000n);
    expect(parseRfc3339Micros('2000-01-01T00:00:00-00:30')).toBe(946686600000000n);
  });

  it.each(['1900-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z', '2024-01-01T00:00:00', '2024-01-01T00:00:00+24:00'])(
    'rejects %s',
    (text) => {
      expect(parseRfc3339Micros(text)).toBeUndefined();
    },
  );

  it('round-trips the SDK Timestamp.toISOString() output (seeded random instants)', seeded({ seed: 42, iterations: 500 }, ({ random: rand, iterations }) => {
    for (let i = 0; i < iterations; i++) {
      const micros = BigInt(Math.floor(rand() * 4_000_000_000)) * 1_000_000n + BigInt(Math.floor(rand() * 1_000_000));
      expect(parseRfc3339Micros(new Timestamp(micros).toISOString())).toBe(micros);
    }
  }));
});

describe('comparable types and type equality', () => {
  it('classifies comparable column types', () => {
    for (const ty of [T.bool, T.u8, T.i256, T.f32, T.string, T.bytes, T.identity, T.connectionId, T.timestamp, T.timeDuration, T.uuid]) {
      expect(isComparableType(ty)).toBe(true);
    }
    for (const ty of [T.optionU32, T.point, T.u32s]) expect(isComparableType(ty)).toBe(false);
  });

  it('compares types structurally', () => {
    expect(sameType(T.identity, { kind: 'Product', elements: [{ name: '__identity__', ty: { kind: 'U256' } }], special: 'identity' })).toBe(true);
    expect(sameType(T.identity, T.connectionId)).toBe(false);
    expect(sameType(T.u32, T.i32)).toBe(false);
    expect(sameType(T.bytes, T.u32s)).toBe(false);
  });
});
