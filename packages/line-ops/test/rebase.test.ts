import { describe, expect, it } from 'vitest';
import { applyLineOps, changedRanges, rebaseLineOps, type LineOp } from '../src/index';

const replace = (start: number, deleteCount: number, lines: string[]): LineOp => ({ kind: 'replace', start, deleteCount, lines });

function applied(content: string, ops: readonly LineOp[]): string {
  const result = applyLineOps(content, ops);
  if (!result.ok) throw new Error(`apply failed: ${result.message}`);
  return result.content;
}

function rebased(ops: LineOp[], since: LineOp[][]): LineOp[] {
  const result = rebaseLineOps(ops, since);
  if (!result.ok) throw new Error(`unexpected conflict: ${result.message}`);
  return result.ops;
}

const base = 'l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7';

describe('changedRanges', () => {
  it('gives each op its half-open base range, inserts as empty ranges', () => {
    expect(changedRanges([replace(0, 2, ['a']), replace(3, 0, ['b']), replace(5, 1, [])])).toEqual([
      { start: 0, end: 2 },
      { start: 3, end: 3 },
      { start: 5, end: 6 },
    ]);
  });
});

describe('rebaseLineOps', () => {
  it('returns the ops unchanged when nothing happened since base', () => {
    const ours = [replace(2, 1, ['x'])];
    expect(rebased(ours, [])).toEqual(ours);
    expect(rebased(ours, [[], []])).toEqual(ours);
  });

  it('shifts ours past earlier edits and gives the same document in either order', () => {
    const ours = [replace(5, 1, ['OURS'])];
    const theirs = [replace(1, 1, ['T1', 'T2', 'T3'])];
    const oursOnHead = rebased(ours, [theirs]);
    expect(oursOnHead).toEqual([replace(7, 1, ['OURS'])]);
    const theirsOnOurs = rebased(theirs, [ours]);
    expect(theirsOnOurs).toEqual(theirs);
    const expected = 'l0\nT1\nT2\nT3\nl2\nl3\nl4\nOURS\nl6\nl7';
    expect(applied(applied(base, theirs), oursOnHead)).toBe(expected);
    expect(applied(applied(base, ours), theirsOnOurs)).toBe(expected);
  });

  it('shifts back after deletions and across several batches', () => {
    // theirs: delete l0 and l1, then (on that result) insert a line before old l3.
    const since = [[replace(0, 2, [])], [replace(1, 0, ['new'])]];
    const ours = [replace(4, 1, ['L4']), replace(7, 1, [])];
    const head = applied(applied(base, since[0]!), since[1]!);
    expect(head).toBe('l2\nnew\nl3\nl4\nl5\nl6\nl7');
    const onHead = rebased(ours, since);
    expect(onHead).toEqual([replace(3, 1, ['L4']), replace(6, 1, [])]);
    expect(applied(head, onHead)).toBe('l2\nnew\nl3\nL4\nl5\nl6');
  });

  it('keeps an insert at the end of the document at the end', () => {
    const ours = [replace(8, 0, ['tail'])];
    const theirs = [replace(0, 1, [])];
    expect(applied(applied(base, theirs), rebased(ours, [theirs]))).toBe('l1\nl2\nl3\nl4\nl5\nl6\nl7\ntail');
  });

  it('reports overlapping edits as a conflict with both ranges in base coordinates', () => {
    const result = rebaseLineOps([replace(2, 3, ['x'])], [[replace(4, 2, ['a', 'b', 'c'])]]);
    expect(result).toEqual({
      ok: false,
      code: 'conflict',
      message: expect.stringContaining('ours [2, 5) vs theirs [4, 6)'),
      conflicts: [{ ours: { start: 2, end: 5 }, theirs: { start: 4, end: 6 }, theirsAtHead: { start: 4, end: 7 } }],
    });
  });

  it('treats touching ranges as a conflict (edits on neighbouring lines)', () => {
    const result = rebaseLineOps([replace(3, 1, ['x'])], [[replace(2, 1, ['y'])]]);
    expect(result).toMatchObject({ ok: false, conflicts: [{ ours: { start: 3, end: 4 }, theirs: { start: 2, end: 3 } }] });
    // One untouched line in between is enough to merge.
    expect(rebaseLineOps([replace(4, 1, ['x'])], [[replace(2, 1, ['y'])]]).ok).toBe(true);
  });

  it('makes two inserts at the same position conflict instead of picking an order', () => {
    const result = rebaseLineOps([replace(3, 0, ['ours'])], [[replace(3, 0, ['theirs'])]]);
    expect(result).toMatchObject({
      ok: false,
      conflicts: [{ ours: { start: 3, end: 3 }, theirs: { start: 3, end: 3 }, theirsAtHead: { start: 3, end: 4 } }],
    });
    // Inserting at an edge of a replaced range conflicts too; one line away does not.
    expect(rebaseLineOps([replace(5, 0, ['x'])], [[replace(3, 2, ['y'])]]).ok).toBe(false);
    expect(rebaseLineOps([replace(3, 0, ['x'])], [[replace(3, 2, ['y'])]]).ok).toBe(false);
    expect(rebaseLineOps([replace(6, 0, ['x'])], [[replace(3, 2, ['y'])]]).ok).toBe(true);
  });

  it('lists every conflicting pair and applies nothing when any op conflicts', () => {
    const ours = [replace(0, 1, ['a']), replace(3, 1, ['b']), replace(7, 1, ['c'])];
    const theirs = [replace(1, 1, ['x']), replace(7, 0, ['y'])];
    const result = rebaseLineOps(ours, [theirs]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.conflicts).toEqual([
        { ours: { start: 0, end: 1 }, theirs: { start: 1, end: 2 }, theirsAtHead: { start: 1, end: 2 } },
        { ours: { start: 7, end: 8 }, theirs: { start: 7, end: 7 }, theirsAtHead: { start: 7, end: 8 } },
      ]);
    }
  });

  it('composes batches: a later batch editing lines an earlier one inserted maps back to the insert point', () => {
    // Batch 1 inserts two lines before l4; batch 2 rewrites the second of them (head line 5).
    const since = [[replace(4, 0, ['n1', 'n2'])], [replace(5, 1, ['N2'])]];
    const result = rebaseLineOps([replace(4, 1, ['x'])], since);
    expect(result).toMatchObject({ ok: false, conflicts: [{ ours: { start: 4, end: 5 }, theirs: { start: 4, end: 4 }, theirsAtHead: { start: 4, end: 6 } }] });
    expect(rebased([replace(5, 1, ['x'])], since)).toEqual([replace(7, 1, ['x'])]);
  });

  it('ignores lines inserted and deleted again since base', () => {
    const since = [[replace(4, 0, ['tmp'])], [replace(4, 1, [])]];
    expect(rebased([replace(4, 0, ['x'])], since)).toEqual([replace(4, 0, ['x'])]);
  });

  it('conflicts with everything when a concurrent edit deleted the whole document', () => {
    const result = rebaseLineOps([replace(3, 1, ['x'])], [[replace(0, 8, [])], [replace(0, 1, ['fresh'])]]);
    expect(result).toMatchObject({ ok: false, code: 'conflict' });
  });
});
