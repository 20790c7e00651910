import fc from 'fast-check';
import { seeded } from '@autopilot/test-support';
import { describe, expect, it } from 'vitest';
import {
  applyLineOps,
  checkLineOps,
  diffLines,
  rebaseLineOps,
  splitLines,
  textChangesToLineOps,
  textEditToLineOps,
  type LineOp,
  type TextChange,
} from '../src/index';

// Seeded through the shared harness: SEED seeds fast-check, ITERATIONS is its number of runs
// (each property keeps its own default); fast-check prints the shrunk counterexample.
const SEED = 20_250_611;
const seededProperty = (numRuns: number, body: (params: { seed: number; numRuns: number }) => void) =>
  seeded({ seed: SEED, iterations: numRuns }, ({ seed, iterations }) => body({ seed, numRuns: iterations }));

function applied(content: string, ops: readonly LineOp[]): string {
  const result = applyLineOps(content, ops);
  if (!result.ok) throw new Error(`apply of ${JSON.stringify(ops)} to ${JSON.stringify(content)} failed: ${result.message}`);
  return result.content;
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

// Few distinct characters and many newlines, so lines repeat and edits hit line boundaries often.
const textArb = fc.array(fc.constantFrom('a', 'b', '\n', '\n', 'é', '\r', '😀'), { maxLength: 40 }).map((parts) => parts.join(''));
const insertArb = fc.array(fc.constantFrom('a', 'x', '\n', 'é'), { maxLength: 6 }).map((parts) => parts.join(''));

/** An edit range inside `text` that never splits a surrogate pair (editors never do). */
function editArb(text: string): fc.Arbitrary<TextChange> {
  const boundaries = [0];
  for (let at = 0; at < text.length; ) {
    at += (text.codePointAt(at) ?? 0) > 0xffff ? 2 : 1;
    boundaries.push(at);
  }
  return fc
    .tuple(fc.constantFrom(...boundaries), fc.constantFrom(...boundaries), insertArb)
    .map(([x, y, insert]) => ({ from: Math.min(x, y), to: Math.max(x, y), insert }));
}

/** A valid batch on a document of `count` lines; inserted lines are unique so results are traceable. */
function batchArb(count: number, tag: string): fc.Arbitrary<LineOp[]> {
  const step = fc.record({ gap: fc.nat(3), deleteCount: fc.nat(2), insertCount: fc.nat(2) });
  return fc.array(step, { maxLength: 4 }).map((steps) => {
    const ops: LineOp[] = [];
    let position = 0;
    steps.forEach(({ gap, deleteCount, insertCount }, index) => {
      const start = position + gap;
      if (start > count) return;
      const deleting = Math.min(deleteCount, count - start);
      if (deleting === 0 && insertCount === 0) return;
      const lines = Array.from({ length: insertCount }, (_, n) => `${tag}${index}.${n}`);
      ops.push({ kind: 'replace', start, deleteCount: deleting, lines });
      position = start + deleting;
    });
    return ops;
  });
}

const baseLines = (count: number) => Array.from({ length: count }, (_, n) => `b${n}`);

/** Whether two batches on one base have closed ranges that intersect (the documented conflict rule). */
function rangesTouch(a: readonly LineOp[], b: readonly LineOp[]): boolean {
  return a.some((x) => b.some((y) => x.start <= y.start + y.deleteCount && y.start <= x.start + x.deleteCount));
}

describe('textEditToLineOps + applyLineOps', () => {
  it('reproduces any character edit with at most one valid op', seededProperty(1000, (params) => {
    const arb = textArb.chain((text) => editArb(text).map((edit) => ({ text, edit })));
    fc.assert(
      fc.property(arb, ({ text, edit }) => {
        const ops = textEditToLineOps(text, edit.from, edit.to, edit.insert);
        expect(checkLineOps(ops)).toBeNull();
        expect(ops.length).toBeLessThanOrEqual(1);
        const expected = splice(text, edit.from, edit.to, edit.insert);
        expect(applied(text, ops)).toBe(expected);
        if (expected === text) expect(ops).toEqual([]);
      }),
      params,
    );
  }));

  it('replays a sequence of edits like an editing trace', seededProperty(200, (params) => {
    const stepArb = fc.tuple(fc.nat(), fc.nat(4), insertArb);
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        let viaLines = '';
        let viaChars = '';
        for (const [position, deleteCount, insert] of steps) {
          const from = position % (viaChars.length + 1);
          const to = Math.min(viaChars.length, from + deleteCount);
          viaLines = applied(viaLines, textEditToLineOps(viaLines, from, to, insert));
          viaChars = splice(viaChars, from, to, insert);
        }
        expect(viaLines).toBe(viaChars);
      }),
      params,
    );
  }));

  it('reproduces several changes at once (CodeMirror ChangeSet shape)', seededProperty(500, (params) => {
    const arb = textArb.chain((text) =>
      fc.array(editArb(text), { maxLength: 5 }).map((edits) => {
        // Make them sorted and non-overlapping by cutting at sorted boundaries.
        const cuts = edits.flatMap((edit) => [edit.from, edit.to]).sort((x, y) => x - y);
        const changes = edits.map((edit, n) => ({ from: cuts[2 * n]!, to: cuts[2 * n + 1]!, insert: edit.insert }));
        return { text, changes };
      }),
    );
    fc.assert(
      fc.property(arb, ({ text, changes }) => {
        const ops = textChangesToLineOps(text, changes);
        expect(checkLineOps(ops)).toBeNull();
        let expected = text;
        for (const change of [...changes].reverse()) expected = splice(expected, change.from, change.to, change.insert);
        expect(applied(text, ops)).toBe(expected);
      }),
      params,
    );
  }));
});

describe('diffLines', () => {
  it('gives valid ops that turn a into b, and none for a into a', seededProperty(1000, (params) => {
    fc.assert(
      fc.property(textArb, textArb, (a, b) => {
        const ops = diffLines(a, b);
        expect(checkLineOps(ops)).toBeNull();
        expect(applied(a, ops)).toBe(b);
        expect(diffLines(a, a)).toEqual([]);
      }),
      params,
    );
  }));

  it('never deletes more lines than the two texts do not share at their ends', seededProperty(300, (params) => {
    fc.assert(
      fc.property(textArb, textArb, textArb, (prefix, middle, suffix) => {
        const a = `${prefix}\nOLD\n${suffix}`;
        const b = `${prefix}\n${middle}\n${suffix}`;
        const deleted = diffLines(a, b).reduce((sum, op) => sum + op.deleteCount, 0);
        expect(deleted).toBeLessThanOrEqual(1);
      }),
      params,
    );
  }));
});

describe('rebaseLineOps', () => {
  const pairArb = fc
    .integer({ min: 1, max: 8 })
    .chain((count) => fc.tuple(fc.constant(count), batchArb(count, 'A'), batchArb(count, 'B')));

  it('for non-conflicting concurrent batches, both orders give the same document as one merged batch', seededProperty(1000, (params) => {
    let merged = 0;
    fc.assert(
      fc.property(pairArb, ([count, ours, theirs]) => {
        const base = baseLines(count).join('\n');
        const oursOnTheirs = rebaseLineOps(ours, [theirs]);
        const theirsOnOurs = rebaseLineOps(theirs, [ours]);
        // The conflict rule is symmetric and is exactly "closed ranges intersect".
        expect(oursOnTheirs.ok).toBe(theirsOnOurs.ok);
        expect(oursOnTheirs.ok).toBe(!rangesTouch(ours, theirs));
        if (!oursOnTheirs.ok || !theirsOnOurs.ok) {
          for (const conflict of oursOnTheirs.ok ? [] : oursOnTheirs.conflicts) {
            expect(conflict.ours.start <= conflict.theirs.end && conflict.theirs.start <= conflict.ours.end).toBe(true);
          }
          return;
        }
        merged++;
        const oneBatch = [...ours, ...theirs].sort((x, y) => x.start - y.start);
        const expected = applied(base, oneBatch);
        expect(applied(applied(base, theirs), oursOnTheirs.ops)).toBe(expected);
        expect(applied(applied(base, ours), theirsOnOurs.ops)).toBe(expected);
      }),
      params,
    );
    // Guard against a generator that only ever produces conflicts.
    expect(merged).toBeGreaterThan(200);
  }));

  it('across several batches, rebased ops land on the same base lines at head', seededProperty(1000, (params) => {
    const arb = fc.integer({ min: 1, max: 8 }).chain((count) =>
      fc.tuple(fc.constant(count), batchArb(count, 'B'), batchArb(count, 'A')).chain(([n, ours, first]) => {
        const middleCount = splitLines(applied(baseLines(n).join('\n'), first)).length;
        return fc.tuple(fc.constant(n), fc.constant(ours), fc.constant(first), batchArb(middleCount, 'C'));
      }),
    );
    let merged = 0;
    fc.assert(
      fc.property(arb, ([count, ours, first, second]) => {
        const base = baseLines(count);
        const head = applied(applied(base.join('\n'), first), second);
        const result = rebaseLineOps(ours, [first, second]);
        if (!result.ok) return;
        merged++;
        // Oracle by identity: base lines are unique, so find where each op's base position is at head.
        const headLines = splitLines(head);
        const expectedOps = ours.map((op): LineOp => {
          const start =
            op.start < count ? headLines.indexOf(`b${op.start}`) : headLines.indexOf(`b${count - 1}`) + 1;
          expect(headLines.slice(start, start + op.deleteCount)).toEqual(base.slice(op.start, op.start + op.deleteCount));
          return { ...op, start };
        });
        expect(result.ops).toEqual(expectedOps);
        expect(applyLineOps(head, result.ops).ok).toBe(true);
      }),
      params,
    );
    expect(merged).toBeGreaterThan(200);
  }));

  it('rebase then apply equals applying both character edits, for edits a line apart', seededProperty(1000, (params) => {
    const arb = textArb.chain((text) =>
      fc
        .tuple(editArb(text), editArb(text), fc.boolean())
        .map(([x, y, theirsFirst]) => {
          const cuts = [x.from, x.to, y.from, y.to].sort((p, q) => p - q);
          const early = { from: cuts[0]!, to: cuts[1]!, insert: x.insert };
          const late = { from: cuts[2]!, to: cuts[3]!, insert: y.insert };
          return { text, early, late, theirsFirst };
        }),
    );
    let merged = 0;
    fc.assert(
      fc.property(arb, ({ text, early, late, theirsFirst }) => {
        const earlyOps = textEditToLineOps(text, early.from, early.to, early.insert);
        const lateOps = textEditToLineOps(text, late.from, late.to, late.insert);
        const [theirs, ours] = theirsFirst ? [earlyOps, lateOps] : [lateOps, earlyOps];
        const result = rebaseLineOps(ours, [theirs]);
        // Edits with at least one untouched line between them must merge.
        const lineOf = (offset: number) => splitLines(text.slice(0, offset)).length - 1;
        if (lineOf(late.from) >= lineOf(early.to) + 2) expect(result.ok).toBe(true);
        if (!result.ok) return;
        // Two inserts at one offset have no single right order; keep the oracle unambiguous.
        if (early.to === late.from) return;
        merged++;
        const bothChars = splice(splice(text, late.from, late.to, late.insert), early.from, early.to, early.insert);
        expect(applied(applied(text, theirs), result.ops)).toBe(bothChars);
      }),
      params,
    );
    expect(merged).toBeGreaterThan(100);
  }));
});
