import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  canonicalFileOpEncoding,
  canonicalOpsEncoding,
  contentHash,
  opHash,
  parseLineOps,
  rangeHash,
  type FileOpHashInput,
  type LineOp,
} from '../src/index';

// Expected bytes and hashes below were computed independently (Python struct + hashlib) from the
// layout in README.md, so they pin the encoding, not just this implementation's self-consistency.
const OPS_HEX =
  '00000015' + hexOf('autopilot/line-ops/v1') + // tag
  '00000002' + // op count
  '01' + '00000002' + '00000001' + '00000002' + '00000002c3a9' + '00000000' + // replace 2,1,['é','']
  '01' + '00000007' + '00000000' + '00000001' + '0000000178'; // replace 7,0,['x']
const PREIMAGE_HEX =
  '00000014' + hexOf('autopilot/file-op/v1') +
  '00'.repeat(32) + // prevHash (genesis)
  '00000004' + hexOf('op-1') +
  '00000006' + hexOf('c200ab') +
  '0000000000000029' + // baseVersion 41
  '00000046' + OPS_HEX + // ops, length-prefixed
  'aa'.repeat(32) + // beforeHash
  '0123456789abcdef'.repeat(4); // afterHash
const OP_HASH = '47e2ce5d5c83c12959f9bdfa015478481ad15f0e04f2925b3504002a02e669f1';

function hexOf(ascii: string): string {
  return [...ascii].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

const ops: LineOp[] = [
  { kind: 'replace', start: 2, deleteCount: 1, lines: ['é', ''] },
  { kind: 'replace', start: 7, deleteCount: 0, lines: ['x'] },
];
const hashA = 'a'.repeat(64);
const hashB = '0123456789abcdef'.repeat(4);
const input: FileOpHashInput = {
  prevHash: GENESIS_HASH,
  opId: 'op-1',
  actor: 'c200ab',
  baseVersion: 41,
  ops,
  beforeHash: hashA,
  afterHash: hashB,
};

describe('contentHash', () => {
  it('is sha256 hex of the UTF-8 bytes', () => {
    expect(contentHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(contentHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(contentHash('é😀\n')).toBe('f26b68b6994ea006d176890661e1c0401f133bb6cffe91cecfc5bd0570921cb8');
  });
});

describe('canonicalOpsEncoding', () => {
  it('writes the documented layout: tag, count, then kind/start/deleteCount/lines per op', () => {
    expect(bytesToHex(canonicalOpsEncoding(ops))).toBe(OPS_HEX);
  });

  it('does not depend on JSON key order or extra copies', () => {
    const shuffled = JSON.parse('[{"lines":["é",""],"start":2,"deleteCount":1,"kind":"replace"},{"deleteCount":0,"kind":"replace","lines":["x"],"start":7}]');
    const parsed = parseLineOps(shuffled);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(canonicalOpsEncoding(parsed.ops)).toEqual(canonicalOpsEncoding(ops));
  });

  it('distinguishes batches that JSON-like joining would confuse', () => {
    const oneLine: LineOp[] = [{ kind: 'replace', start: 0, deleteCount: 0, lines: ['ab'] }];
    const twoLines: LineOp[] = [{ kind: 'replace', start: 0, deleteCount: 0, lines: ['a', 'b'] }];
    const emptyLine: LineOp[] = [{ kind: 'replace', start: 0, deleteCount: 1, lines: [''] }];
    const noLine: LineOp[] = [{ kind: 'replace', start: 0, deleteCount: 1, lines: [] }];
    expect(canonicalOpsEncoding(oneLine)).not.toEqual(canonicalOpsEncoding(twoLines));
    expect(canonicalOpsEncoding(emptyLine)).not.toEqual(canonicalOpsEncoding(noLine));
  });
});

describe('opHash', () => {
  it('hashes the documented preimage', () => {
    expect(bytesToHex(canonicalFileOpEncoding(input))).toBe(PREIMAGE_HEX);
    expect(opHash(input)).toBe(OP_HASH);
  });

  it('is deterministic and accepts bigint versions (u64 columns)', () => {
    expect(opHash(input)).toBe(opHash({ ...input, ops: JSON.parse(JSON.stringify(ops)) as LineOp[] }));
    expect(opHash({ ...input, baseVersion: 41n })).toBe(opHash(input));
    expect(() => opHash({ ...input, baseVersion: (1n << 64n) - 1n })).not.toThrow();
  });

  it('changes when any field changes, so the chain commits to all of them', () => {
    const variants: FileOpHashInput[] = [
      { ...input, prevHash: hashA },
      { ...input, opId: 'op-2' },
      { ...input, actor: 'c200ac' },
      { ...input, baseVersion: 42 },
      { ...input, ops: [{ kind: 'replace', start: 2, deleteCount: 1, lines: ['é'] }] },
      { ...input, beforeHash: hashB },
      { ...input, afterHash: hashA },
      // Moving bytes between adjacent string fields must not collide.
      { ...input, opId: 'op-1c', actor: '200ab' },
    ];
    const hashes = new Set([opHash(input), ...variants.map(opHash)]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('chains: each link commits to the previous one', () => {
    const first = opHash(input);
    const second = opHash({ ...input, prevHash: first, opId: 'op-2', baseVersion: 42, beforeHash: hashB, afterHash: hashA });
    expect(second).toMatch(/^[0-9a-f]{64}$/);
    expect(opHash({ ...input, prevHash: first, opId: 'op-2', baseVersion: 42, beforeHash: hashB, afterHash: hashA })).toBe(second);
  });

  it('rejects malformed hashes and versions with a TypeError naming the field', () => {
    expect(() => opHash({ ...input, prevHash: 'abc' })).toThrow(/prevHash/);
    expect(() => opHash({ ...input, beforeHash: 'A'.repeat(64) })).toThrow(/beforeHash/);
    expect(() => opHash({ ...input, afterHash: 'g'.repeat(64) })).toThrow(TypeError);
    expect(() => opHash({ ...input, baseVersion: -1 })).toThrow(/u64/);
    expect(() => opHash({ ...input, baseVersion: 1.5 })).toThrow(/baseVersion/);
    expect(() => opHash({ ...input, baseVersion: 1n << 64n })).toThrow(/u64/);
  });
});

describe('rangeHash', () => {
  it('hashes the tagged line list of the range', () => {
    expect(rangeHash('a\nb\nc', { start: 1, end: 3 })).toEqual({
      ok: true,
      hash: 'a34b5786419e389fc76da24e98b6659f29537ed801ce26ace95b98d42e77c5ec',
    });
  });

  it('tells an empty range from one empty line, and depends only on the lines in range', () => {
    const empty = rangeHash('a\n', { start: 1, end: 1 });
    const emptyLine = rangeHash('a\n', { start: 1, end: 2 });
    expect(empty.ok && emptyLine.ok && empty.hash !== emptyLine.hash).toBe(true);
    expect(rangeHash('x\nb\nc\ny', { start: 1, end: 3 })).toEqual(rangeHash('a\nb\nc', { start: 1, end: 3 }));
  });

  it('reports a range outside the document', () => {
    expect(rangeHash('a\nb', { start: 1, end: 3 })).toMatchObject({ ok: false, code: 'out_of_range' });
  });
});
