// BSATN codec over the host's raw value model:
//   Bool → boolean; 8..32-bit ints and floats → number; 64..256-bit ints → bigint; String → string;
//   Array<U8> → Uint8Array; other arrays → unknown[]; Product → unknown[] (positional);
//   Sum → { tag: number, value: unknown }.
// Positional values keep the host independent of field names and case conversion.
import type { Ty } from './types';

export type SumValue = { tag: number; value: unknown };

export class BsatnError extends Error {
  override name = 'BsatnError';
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export class Reader {
  readonly view: DataView;
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }
  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.end) throw new BsatnError(`unexpected end of input: need ${n} bytes at offset ${at}, have ${this.end - at}`);
    this.offset = at + n;
    return at;
  }
  get remaining(): number {
    return this.end - this.offset;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  bytesOf(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  bigUint(bytes: number): bigint {
    const at = this.need(bytes);
    let v = 0n;
    for (let i = bytes - 8; i >= 0; i -= 8) v = (v << 64n) | this.view.getBigUint64(at + i, true);
    return v;
  }
  bigInt(bytes: number): bigint {
    return BigInt.asIntN(bytes * 8, this.bigUint(bytes));
  }
  string(): string {
    const len = this.u32();
    try {
      return utf8Decoder.decode(this.bytesOf(len));
    } catch (e) {
      if (e instanceof BsatnError) throw e;
      throw new BsatnError('string is not valid UTF-8');
    }
  }
}

export class Writer {
  buf: Uint8Array;
  view: DataView;
  length = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length = at + n;
    return at;
  }
  // Reserve before reading `this.view`: reserving may replace the buffer and its view.
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, v), true);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt.asIntN(64, v), true);
  }
  bigN(v: bigint, bytes: number): void {
    let x = BigInt.asUintN(bytes * 8, v);
    const at = this.reserve(bytes);
    for (let i = 0; i < bytes; i += 8) {
      this.view.setBigUint64(at + i, x & 0xffff_ffff_ffff_ffffn, true);
      x >>= 64n;
    }
  }
  raw(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  string(s: string): void {
    this.bytes(utf8Encoder.encode(s));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function decodeValue(ty: Ty, r: Reader): unknown {
  switch (ty.kind) {
    case 'Bool': {
      const b = r.u8();
      if (b > 1) throw new BsatnError(`invalid bool byte ${b}`);
      return b === 1;
    }
    case 'U8':
      return r.u8();
    case 'I8': {
      const at = r.offset;
      r.bytesOf(1);
      return r.view.getInt8(at);
    }
    case 'U16': {
      const b = r.bytesOf(2);
      return b[0]! | (b[1]! << 8);
    }
    case 'I16': {
      const b = r.bytesOf(2);
      return ((b[0]! | (b[1]! << 8)) << 16) >> 16;
    }
    case 'U32':
      return r.u32();
    case 'I32': {
      const at = r.offset;
      r.bytesOf(4);
      return r.view.getInt32(at, true);
    }
    case 'U64':
      return r.bigUint(8);
    case 'I64':
      return r.bigInt(8);
    case 'U128':
      return r.bigUint(16);
    case 'I128':
      return r.bigInt(16);
    case 'U256':
      return r.bigUint(32);
    case 'I256':
      return r.bigInt(32);
    case 'F32': {
      const at = r.offset;
      r.bytesOf(4);
      return r.view.getFloat32(at, true);
    }
    case 'F64': {
      const at = r.offset;
      r.bytesOf(8);
      return r.view.getFloat64(at, true);
    }
    case 'String':
      return r.string();
    case 'Array': {
      const n = r.u32();
      if (ty.elem.kind === 'U8') return r.bytesOf(n).slice();
      if (n > r.remaining) throw new BsatnError(`array length ${n} exceeds remaining ${r.remaining} bytes`);
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = decodeValue(ty.elem, r);
      return out;
    }
    case 'Product': {
      const out = new Array(ty.elements.length);
      for (let i = 0; i < ty.elements.length; i++) out[i] = decodeValue(ty.elements[i]!.ty, r);
      return out;
    }
    case 'Sum': {
      const tag = r.u8();
      const v = ty.variants[tag];
      if (!v) throw new BsatnError(`sum tag ${tag} out of range (${ty.variants.length} variants)`);
      return { tag, value: decodeValue(v.ty, r) } satisfies SumValue;
    }
  }
}

export function encodeValue(ty: Ty, v: any, w: Writer): void {
  switch (ty.kind) {
    case 'Bool':
      return w.u8(v ? 1 : 0);
    case 'U8':
    case 'I8':
      return w.u8(v & 0xff);
    case 'U16':
    case 'I16':
      return w.u16(v & 0xffff);
    case 'U32':
      return w.u32(v >>> 0);
    case 'I32':
      return w.u32(v >>> 0);
    case 'U64':
    case 'I64':
      return w.u64(v);
    case 'U128':
    case 'I128':
      return w.bigN(v, 16);
    case 'U256':
    case 'I256':
      return w.bigN(v, 32);
    case 'F32': {
      const b = new DataView(new ArrayBuffer(4));
      b.setFloat32(0, v, true);
      return w.raw(new Uint8Array(b.buffer));
    }
    case 'F64': {
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, v, true);
      return w.raw(new Uint8Array(b.buffer));
    }
    case 'String':
      return w.string(v);
    case 'Array':
      if (ty.elem.kind === 'U8') return w.bytes(v as Uint8Array);
      w.u32(v.length);
      for (const e of v) encodeValue(ty.elem, e, w);
      return;
    case 'Product':
      for (let i = 0; i < ty.elements.length; i++) encodeValue(ty.elements[i]!.ty, v[i], w);
      return;
    case 'Sum': {
      const s = v as SumValue;
      w.u8(s.tag);
      encodeValue(ty.variants[s.tag]!.ty, s.value, w);
      return;
    }
  }
}

export function encode(ty: Ty, v: unknown): Uint8Array {
  const w = new Writer();
  encodeValue(ty, v, w);
  return w.finish();
}

/** Decode exactly one value filling the whole buffer; trailing bytes are an error. */
export function decodeExact(ty: Ty, bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = decodeValue(ty, r);
  if (r.remaining !== 0) throw new BsatnError(`${r.remaining} trailing bytes after value`);
  return v;
}
