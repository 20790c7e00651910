// The one place that defines the bytes behind a message_event hash. README.md ("Canonical
// encodings") documents the same layout; change both together and bump the tag if bytes change.
// Pure: no spacetimedb imports, so clients and tests can verify chains with it.
// File-op hashes are not defined here: they come from @autopilot/line-ops (opHash, contentHash).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { GENESIS_HASH } from '@autopilot/line-ops';

export const MESSAGE_HASH_TAG = 'autopilot/message-event/v1';
/** prev_hash of the first message of a channel (shared with the file-op chain). */
export { GENESIS_HASH };

const HASH_HEX = /^[0-9a-f]{64}$/;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** The fields of a message_event that its hash covers (everything but event_id and hash). */
export interface MessageHashInput {
  readonly prevHash: string;
  readonly channelId: bigint;
  readonly seq: bigint;
  /** The sender's Identity as 64 lowercase hex chars (big-endian, as Identity.toHexString()). */
  readonly senderHex: string;
  readonly senderPubkey: string;
  readonly sentAtMicros: bigint;
  readonly kind: string;
  readonly contentType: string;
  readonly payload: string;
  readonly replyToSeq: bigint;
  readonly idempotencyKey: string;
}

/**
 * Canonical bytes, big-endian, strings as u32 byte length + UTF-8, hashes/identities as 32 raw bytes:
 * tag | prev_hash | channel_id u64 | seq u64 | sender 32B | sender_pubkey | sent_at i64 µs |
 * kind | content_type | payload | reply_to_seq u64 | idempotency_key
 */
export function canonicalMessageEncoding(input: MessageHashInput): Uint8Array {
  const writer = new ByteWriter();
  writer.string(MESSAGE_HASH_TAG);
  writer.raw(hex32(input.prevHash, 'prevHash'));
  writer.u64(input.channelId, 'channelId');
  writer.u64(input.seq, 'seq');
  writer.raw(hex32(input.senderHex, 'senderHex'));
  writer.string(input.senderPubkey);
  writer.i64(input.sentAtMicros, 'sentAtMicros');
  writer.string(input.kind);
  writer.string(input.contentType);
  writer.string(input.payload);
  writer.u64(input.replyToSeq, 'replyToSeq');
  writer.string(input.idempotencyKey);
  return writer.finish();
}

/** sha256 (lowercase hex) of canonicalMessageEncoding(input). Throws TypeError on malformed fields. */
export function messageHash(input: MessageHashInput): string {
  return bytesToHex(sha256(canonicalMessageEncoding(input)));
}

/** A message_event row as clients hold it (generated bindings use camelCase fields). */
export interface MessageEventLike {
  readonly channelId: bigint;
  readonly seq: bigint;
  readonly sender: { toHexString(): string };
  readonly senderPubkey: string;
  readonly kind: string;
  readonly contentType: string;
  readonly payload: string;
  readonly replyToSeq: bigint;
  readonly idempotencyKey: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly sentAt: { readonly microsSinceUnixEpoch: bigint };
}

export function messageHashInputOf(row: MessageEventLike): MessageHashInput {
  return {
    prevHash: row.prevHash,
    channelId: row.channelId,
    seq: row.seq,
    senderHex: row.sender.toHexString(),
    senderPubkey: row.senderPubkey,
    sentAtMicros: row.sentAt.microsSinceUnixEpoch,
    kind: row.kind,
    contentType: row.contentType,
    payload: row.payload,
    replyToSeq: row.replyToSeq,
    idempotencyKey: row.idempotencyKey,
  };
}

export type ChainVerification =
  | { ok: true; head: string; count: number }
  | { ok: false; code: 'gap' | 'prev_mismatch' | 'hash_mismatch' | 'mixed_channels'; seq: bigint; message: string };

/**
 * Verifies one channel's messages from seq 1 (or from `from`, the hash and seq just before the
 * first row): seqs gapless, each prev_hash the previous hash, each hash recomputed. Rows may come
 * in any order; they are sorted by seq first.
 */
export function verifyMessageChain(
  rows: readonly MessageEventLike[],
  from: { seq: bigint; hash: string } = { seq: 0n, hash: GENESIS_HASH },
): ChainVerification {
  const sorted = [...rows].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  let expectedSeq = from.seq + 1n;
  let previous = from.hash;
  const channel = sorted[0]?.channelId;
  for (const row of sorted) {
    if (row.channelId !== channel) {
      return { ok: false, code: 'mixed_channels', seq: row.seq, message: `rows of channels ${channel} and ${row.channelId} mixed` };
    }
    if (row.seq !== expectedSeq) {
      return { ok: false, code: 'gap', seq: row.seq, message: `expected seq ${expectedSeq}, found ${row.seq}` };
    }
    if (row.prevHash !== previous) {
      return { ok: false, code: 'prev_mismatch', seq: row.seq, message: `seq ${row.seq} prev_hash ${row.prevHash} != previous hash ${previous}` };
    }
    const recomputed = messageHash(messageHashInputOf(row));
    if (recomputed !== row.hash) {
      return { ok: false, code: 'hash_mismatch', seq: row.seq, message: `seq ${row.seq} hash ${row.hash} != recomputed ${recomputed}` };
    }
    previous = row.hash;
    expectedSeq++;
  }
  return { ok: true, head: previous, count: sorted.length };
}

function hex32(hex: string, field: string): Uint8Array {
  if (typeof hex !== 'string' || !HASH_HEX.test(hex)) {
    throw new TypeError(`${field} must be 64 lowercase hex characters, got ${JSON.stringify(hex)}`);
  }
  return hexToBytes(hex);
}

/** Append-only big-endian writer (same conventions as @autopilot/line-ops' canonical encoding). */
class ByteWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  u32(value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    this.raw(bytes);
  }

  u64(value: bigint, field: string): void {
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) throw new TypeError(`${field} must be a u64 bigint, got ${String(value)}`);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value);
    this.raw(bytes);
  }

  i64(value: bigint, field: string): void {
    if (typeof value !== 'bigint' || value < I64_MIN || value > I64_MAX) throw new TypeError(`${field} must be an i64 bigint, got ${String(value)}`);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, value);
    this.raw(bytes);
  }

  string(value: string): void {
    const bytes = utf8ToBytes(value);
    this.u32(bytes.length);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
