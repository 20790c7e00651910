// The one place that defines the bytes behind every hash in this package. README.md ("Canonical
// encoding") documents the same layout; change both together, and bump the tags if bytes change.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { sliceLines } from './lines';
import type { LineOp, LineRange } from './types';

export const OPS_ENCODING_TAG = 'autopilot/line-ops/v1';
export const FILE_OP_HASH_TAG = 'autopilot/file-op/v1';
export const LINE_RANGE_HASH_TAG = 'autopilot/line-range/v1';
/** prevHash of the first op of a file's chain. */
export const GENESIS_HASH = '0'.repeat(64);

const KIND_TAGS: Record<LineOp['kind'], number> = { replace: 1 };
const U64_MAX = (1n << 64n) - 1n;
const HASH_HEX = /^[0-9a-f]{64}$/;

export interface FileOpHashInput {
  /** Hash of the previous op of this file, or GENESIS_HASH. 64 lowercase hex chars. */
  readonly prevHash: string;
  readonly opId: string;
  readonly actor: string;
  readonly baseVersion: number | bigint;
  /** The ops as applied to head (after any rebase). */
  readonly ops: readonly LineOp[];
  /** contentHash of the content the ops were applied to, and of the result. */
  readonly beforeHash: string;
  readonly afterHash: string;
}

/** sha256 (hex) of the UTF-8 bytes of `content`. */
export function contentHash(content: string): string {
  return bytesToHex(sha256(utf8ToBytes(content)));
}

/** The canonical bytes of a batch: fields in a fixed order, never JSON. */
export function canonicalOpsEncoding(ops: readonly LineOp[]): Uint8Array {
  const writer = new ByteWriter();
  writeOps(writer, ops);
  return writer.finish();
}

/** The bytes opHash hashes. */
export function canonicalFileOpEncoding(input: FileOpHashInput): Uint8Array {
  const writer = new ByteWriter();
  writer.string(FILE_OP_HASH_TAG);
  writer.raw(hashBytes(input.prevHash, 'prevHash'));
  writer.string(input.opId);
  writer.string(input.actor);
  writer.u64(toU64(input.baseVersion));
  const ops = canonicalOpsEncoding(input.ops);
  writer.u32(ops.length);
  writer.raw(ops);
  writer.raw(hashBytes(input.beforeHash, 'beforeHash'));
  writer.raw(hashBytes(input.afterHash, 'afterHash'));
  return writer.finish();
}

/**
 * Link of a file's op chain: sha256 (hex) of canonicalFileOpEncoding(input).
 * Throws TypeError on a malformed hash or a baseVersion that is not a u64.
 */
export function opHash(input: FileOpHashInput): string {
  return bytesToHex(sha256(canonicalFileOpEncoding(input)));
}

/**
 * sha256 (hex) of the lines [start, end) of `content`, so an edit can name the exact base lines it
 * expects. An empty range has a hash too (of zero lines), distinct from one empty line.
 */
export function rangeHash(
  content: string,
  range: LineRange,
): { ok: true; hash: string } | { ok: false; code: 'out_of_range'; message: string } {
  const lines = sliceLines(content, range.start, range.end);
  if (lines === null) {
    return { ok: false, code: 'out_of_range', message: `lines [${range.start}, ${range.end}) are not inside the document` };
  }
  const writer = new ByteWriter();
  writer.string(LINE_RANGE_HASH_TAG);
  writer.u32(lines.length);
  for (const line of lines) writer.string(line);
  return { ok: true, hash: bytesToHex(sha256(writer.finish())) };
}

function writeOps(writer: ByteWriter, ops: readonly LineOp[]): void {
  writer.string(OPS_ENCODING_TAG);
  writer.u32(ops.length);
  for (const op of ops) {
    writer.u8(KIND_TAGS[op.kind]);
    writer.u32(op.start);
    writer.u32(op.deleteCount);
    writer.u32(op.lines.length);
    for (const line of op.lines) writer.string(line);
  }
}

function hashBytes(hex: string, field: string): Uint8Array {
  if (typeof hex !== 'string' || !HASH_HEX.test(hex)) {
    throw new TypeError(`${field} must be 64 lowercase hex characters (a sha256), got ${JSON.stringify(hex)}`);
  }
  return hexToBytes(hex);
}

function toU64(value: number | bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new TypeError(`baseVersion must be a safe integer or a bigint, got ${value}`);
  }
  const big = BigInt(value);
  if (big < 0n || big > U64_MAX) throw new TypeError(`baseVersion must fit in a u64, got ${value}`);
  return big;
}

/** Append-only big-endian writer; strings are u32 byte length + UTF-8. */
class ByteWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new TypeError(`${value} does not fit in a u32`);
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
  }

  u64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, value);
    this.length += 8;
  }

  string(value: string): void {
    const bytes = utf8ToBytes(value);
    this.u32(bytes.length);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}
