import { describe, expect, it } from 'vitest';
import { applyLineOps, diffLines, textChangesToLineOps, textEditToLineOps, type LineOp } from '../src/index';

const replace = (start: number, deleteCount: number, lines: string[]): LineOp => ({ kind: 'replace', start, deleteCount, lines });

describe('textEditToLineOps', () => {
  const text = 'alpha\nbeta\ngamma';

  it('turns a keystroke inside a line into a one-line replace', () => {
    expect(textEditToLineOps(text, 8, 8, 'X')).toEqual([replace(1, 1, ['beXta'])]);
    expect(textEditToLineOps(text, 6, 7, '')).toEqual([replace(1, 1, ['eta'])]);
  });

  it('turns Enter at a line end or start into a single inserted empty line', () => {
    expect(textEditToLineOps(text, 10, 10, '\n')).toEqual([replace(2, 0, [''])]);
    expect(textEditToLineOps(text, 6, 6, '\n')).toEqual([replace(1, 0, [''])]);
    expect(textEditToLineOps(text, 16, 16, '\n')).toEqual([replace(3, 0, [''])]);
  });

  it('splits and joins lines', () => {
    expect(textEditToLineOps(text, 8, 8, '\n')).toEqual([replace(1, 1, ['be', 'ta'])]);
    // Deleting the '\n' after "alpha" joins lines 0 and 1.
    expect(textEditToLineOps(text, 5, 6, '')).toEqual([replace(0, 2, ['alphabeta'])]);
  });

  it('drops whole lines without touching their neighbours', () => {
    expect(textEditToLineOps(text, 6, 11, '')).toEqual([replace(1, 1, [])]);
    expect(textEditToLineOps(text, 5, 10, '')).toEqual([replace(1, 1, [])]);
  });

  it('pastes several lines', () => {
    expect(textEditToLineOps(text, 11, 11, 'one\ntwo\n')).toEqual([replace(2, 0, ['one', 'two'])]);
  });

  it('gives no ops for an edit that changes nothing', () => {
    expect(textEditToLineOps(text, 3, 3, '')).toEqual([]);
    expect(textEditToLineOps(text, 0, 5, 'alpha')).toEqual([]);
  });

  it('works on the empty document and at its end', () => {
    expect(textEditToLineOps('', 0, 0, 'hi')).toEqual([replace(0, 1, ['hi'])]);
    expect(textEditToLineOps('', 0, 0, '\n')).toEqual([replace(1, 0, [''])]);
    expect(textEditToLineOps('a\n', 2, 2, 'b')).toEqual([replace(1, 1, ['b'])]);
    expect(textEditToLineOps('a\nb', 0, 3, '')).toEqual([replace(0, 2, [''])]);
  });

  it('throws a RangeError for offsets outside the text', () => {
    expect(() => textEditToLineOps('abc', 2, 1, '')).toThrow(RangeError);
    expect(() => textEditToLineOps('abc', -1, 0, '')).toThrow(RangeError);
    expect(() => textEditToLineOps('abc', 0, 4, '')).toThrow(/0 <= from <= to <= 3/);
    expect(() => textEditToLineOps('abc', 0.5, 1, '')).toThrow(RangeError);
  });
});

describe('textChangesToLineOps', () => {
  const text = 'a1\nb2\nc3\nd4';

  it('merges changes on one line into one op and keeps other lines separate', () => {
    const ops = textChangesToLineOps(text, [
      { from: 0, to: 1, insert: 'A' },
      { from: 2, to: 2, insert: '!' },
      { from: 9, to: 11, insert: 'DD' },
    ]);
    expect(ops).toEqual([replace(0, 1, ['A1!']), replace(3, 1, ['DD'])]);
  });

  it('allows touching changes and changes on neighbouring lines', () => {
    const ops = textChangesToLineOps(text, [
      { from: 1, to: 2, insert: 'x' },
      { from: 2, to: 3, insert: '' },
      { from: 4, to: 5, insert: 'y' },
    ]);
    expect(ops).toEqual([replace(0, 2, ['axby'])]);
    const result = applyLineOps(text, ops);
    expect(result).toEqual({ ok: true, content: 'axby\nc3\nd4' });
  });

  it('rejects unsorted or overlapping changes', () => {
    expect(() =>
      textChangesToLineOps(text, [
        { from: 4, to: 5, insert: '' },
        { from: 0, to: 1, insert: '' },
      ]),
    ).toThrow(RangeError);
    expect(() =>
      textChangesToLineOps(text, [
        { from: 0, to: 3, insert: '' },
        { from: 2, to: 4, insert: '' },
      ]),
    ).toThrow(/sorted/);
  });
});

describe('diffLines', () => {
  it('gives no ops for equal texts', () => {
    expect(diffLines('', '')).toEqual([]);
    expect(diffLines('a\nb', 'a\nb')).toEqual([]);
  });

  it('keeps separate edits separate so unrelated concurrent edits between them do not conflict', () => {
    const a = 'h\n1\n2\n3\n4\n5\nt';
    const b = 'H\n1\n2\n3\n4\n5\nt\nz';
    expect(diffLines(a, b)).toEqual([replace(0, 1, ['H']), replace(7, 0, ['z'])]);
  });

  it('handles the empty document and trailing newlines', () => {
    expect(diffLines('', 'x')).toEqual([replace(0, 1, ['x'])]);
    expect(diffLines('x', '')).toEqual([replace(0, 1, [''])]);
    expect(diffLines('x', 'x\n')).toEqual([replace(1, 0, [''])]);
    expect(diffLines('a\nb\nc', 'a\nc')).toEqual([replace(1, 1, [])]);
  });

  it('produces ops that turn a into b for a mixed rewrite', () => {
    const a = 'one\ntwo\nthree\nfour\nfive\nsix';
    const b = 'zero\none\n2\nthree\nfive\nsix\nseven';
    expect(applyLineOps(a, diffLines(a, b))).toEqual({ ok: true, content: b });
  });
});
