// The message-event encoding and the chain/replay verifiers, without a host.
import { createHash } from 'node:crypto';
import { applyLineOps, contentHash, GENESIS_HASH, opHash, type LineOp } from '@autopilot/line-ops';
import { describe, expect, it } from 'vitest';
import {
  canonicalMessageEncoding,
  MESSAGE_HASH_TAG,
  messageHash,
  verifyMessageChain,
  type MessageEventLike,
  type MessageHashInput,
} from '../src/canonical';
import { replayFileOps, type FileOpLike } from '../src/replay';

const SENDER = 'c200'.padEnd(64, 'a');
const identity = (hex: string) => ({ toHexString: () => hex });

const base: MessageHashInput = {
  prevHash: GENESIS_HASH,
  channelId: 7n,
  seq: 1n,
  senderHex: SENDER,
  senderPubkey: 'b'.repeat(64),
  sentAtMicros: 1_750_000_000_000_000n,
  kind: 'text',
  contentType: 'text/plain',
  payload: 'héllo 🌍',
  replyToSeq: 0n,
  idempotencyKey: 'key-1',
};

/** The documented layout, written out independently of src/canonical.ts. */
function expectedBytes(input: MessageHashInput): Buffer {
  const str = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return b;
  };
  const i64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return b;
  };
  return Buffer.concat([
    str(MESSAGE_HASH_TAG),
    Buffer.from(input.prevHash, 'hex'),
    u64(input.channelId),
    u64(input.seq),
    Buffer.from(input.senderHex, 'hex'),
    str(input.senderPubkey),
    i64(input.sentAtMicros),
    str(input.kind),
    str(input.contentType),
    str(input.payload),
    u64(input.replyToSeq),
    str(input.idempotencyKey),
  ]);
}

function chain(count: number): MessageEventLike[] {
  const rows: MessageEventLike[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= count; i++) {
    const input = { ...base, seq: BigInt(i), prevHash: prev, payload: `message ${i}`, idempotencyKey: `k${i}` };
    const hash = messageHash(input);
    rows.push({
      channelId: input.channelId,
      seq: input.seq,
      sender: identity(input.senderHex),
      senderPubkey: input.senderPubkey,
      kind: input.kind,
      contentType: input.contentType,
      payload: input.payload,
      replyToSeq: input.replyToSeq,
      idempotencyKey: input.idempotencyKey,
      prevHash: prev,
      hash,
      sentAt: { microsSinceUnixEpoch: input.sentAtMicros },
    });
    prev = hash;
  }
  return rows;
}

describe('message canonical encoding', () => {
  it('is the documented byte layout, and the hash is its sha256', () => {
    const bytes = canonicalMessageEncoding(base);
    expect(Buffer.from(bytes).equals(expectedBytes(base))).toBe(true);
    expect(messageHash(base)).toBe(createHash('sha256').update(expectedBytes(base)).digest('hex'));
  });

  it('changes when any covered field changes', () => {
    const variants: Partial<MessageHashInput>[] = [
      { prevHash: 'f'.repeat(64) },
      { channelId: 8n },
      { seq: 2n },
      { senderHex: 'c200'.padEnd(64, 'b') },
      { senderPubkey: 'c'.repeat(64) },
      { sentAtMicros: base.sentAtMicros + 1n },
      { kind: 'data' },
      { contentType: 'application/json' },
      { payload: 'hello' },
      { replyToSeq: 1n },
      { idempotencyKey: 'key-2' },
    ];
    const hashes = new Set([messageHash(base), ...variants.map((v) => messageHash({ ...base, ...v }))]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('does not let field boundaries shift (length prefixes)', () => {
    expect(messageHash({ ...base, kind: 'ab', contentType: 'c' })).not.toBe(messageHash({ ...base, kind: 'a', contentType: 'bc' }));
  });

  it('refuses malformed hashes, identities and integers', () => {
    expect(() => messageHash({ ...base, prevHash: 'XYZ' })).toThrow(/prevHash must be 64 lowercase hex/);
    expect(() => messageHash({ ...base, senderHex: SENDER.toUpperCase() })).toThrow(/senderHex/);
    expect(() => messageHash({ ...base, seq: -1n })).toThrow(/seq must be a u64/);
    expect(() => messageHash({ ...base, channelId: 1n << 64n })).toThrow(/channelId must be a u64/);
  });
});

describe('verifyMessageChain', () => {
  it('accepts an intact chain in any order and returns its head', () => {
    const rows = chain(5);
    const result = verifyMessageChain([...rows].reverse());
    expect(result).toEqual({ ok: true, head: rows[4]!.hash, count: 5 });
  });

  it('verifies a suffix from a known seq and hash', () => {
    const rows = chain(5);
    expect(verifyMessageChain(rows.slice(2), { seq: 2n, hash: rows[1]!.hash }).ok).toBe(true);
    expect(verifyMessageChain(rows.slice(2)).ok).toBe(false);
  });

  it('reports a gap, a broken link and a tampered payload', () => {
    const rows = chain(4);
    expect(verifyMessageChain([rows[0]!, rows[1]!, rows[3]!])).toMatchObject({ ok: false, code: 'gap', seq: 4n });
    expect(verifyMessageChain([rows[0]!, { ...rows[1]!, prevHash: 'e'.repeat(64) }])).toMatchObject({ ok: false, code: 'prev_mismatch', seq: 2n });
    expect(verifyMessageChain([rows[0]!, { ...rows[1]!, payload: 'forged' }])).toMatchObject({ ok: false, code: 'hash_mismatch', seq: 2n });
    expect(verifyMessageChain([rows[0]!, { ...rows[1]!, channelId: 9n }])).toMatchObject({ ok: false, code: 'mixed_channels' });
  });
});

describe('replayFileOps', () => {
  const actor = identity(SENDER);
  function history(batches: LineOp[][]): { ops: FileOpLike[]; contents: string[] } {
    const contents = [''];
    const ops: FileOpLike[] = [];
    let chainHead = GENESIS_HASH;
    batches.forEach((batch, index) => {
      const before = contents[index]!;
      const applied = applyLineOps(before, batch);
      if (!applied.ok) throw new Error(applied.message);
      const input = {
        prevHash: chainHead,
        opId: `op-${index}`,
        actor: SENDER,
        baseVersion: BigInt(index),
        ops: batch,
        beforeHash: contentHash(before),
        afterHash: contentHash(applied.content),
      };
      const hash = opHash(input);
      ops.push({
        version: BigInt(index + 1),
        opId: input.opId,
        actor,
        expectedBaseVersion: input.baseVersion as bigint,
        ops: batch.map((op) => ({ start: op.start, deleteCount: op.deleteCount, lines: op.lines })),
        beforeHash: input.beforeHash,
        afterHash: input.afterHash,
        prevOpHash: chainHead,
        opHash: hash,
      });
      contents.push(applied.content);
      chainHead = hash;
    });
    return { ops, contents };
  }
  const batches: LineOp[][] = [
    [{ kind: 'replace', start: 0, deleteCount: 1, lines: ['a', 'b', 'c'] }],
    [{ kind: 'replace', start: 1, deleteCount: 1, lines: ['B'] }],
    [{ kind: 'replace', start: 3, deleteCount: 0, lines: ['d'] }],
  ];

  it('rebuilds the head from version 0 and from a snapshot', () => {
    const { ops, contents } = history(batches);
    const full = replayFileOps({ version: 0n, content: '', opHash: GENESIS_HASH }, ops);
    expect(full).toMatchObject({ ok: true, version: 3n, content: contents[3], opHash: ops[2]!.opHash });
    const fromSnapshot = replayFileOps({ version: 1n, content: contents[1]!, opHash: ops[0]!.opHash }, ops.slice(1));
    expect(fromSnapshot).toMatchObject({ ok: true, version: 3n, content: 'a\nB\nc\nd' });
  });

  it('detects gaps, wrong links, wrong before/after hashes and forged ops', () => {
    const { ops } = history(batches);
    const start = { version: 0n, content: '', opHash: GENESIS_HASH };
    expect(replayFileOps(start, [ops[0]!, ops[2]!])).toMatchObject({ ok: false, code: 'gap', version: 3n });
    expect(replayFileOps(start, [{ ...ops[0]!, prevOpHash: 'a'.repeat(64) }])).toMatchObject({ ok: false, code: 'prev_mismatch' });
    expect(replayFileOps({ ...start, content: 'x' }, ops)).toMatchObject({ ok: false, code: 'before_mismatch' });
    const forged = { ...ops[1]!, ops: [{ start: 1, deleteCount: 1, lines: ['Z'] }] };
    expect(replayFileOps(start, [ops[0]!, forged])).toMatchObject({ ok: false, code: 'after_mismatch', version: 2n });
    expect(replayFileOps(start, [{ ...ops[0]!, opId: 'other' }])).toMatchObject({ ok: false, code: 'hash_mismatch' });
  });
});
