import { describe, expect, it } from 'vitest';
import { applyLineOps, joinLines, lineCount, lineStartOffset, sliceLines, splitLines, type LineOp } from '../src/index';

const replace = (start: number, deleteCount: number, lines: string[]): LineOp => ({ kind: 'replace', start, deleteCount, lines });

function applied(content: string, ops: LineOp[]): string {
  const result = applyLineOps(content, ops);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(ops)} to apply to ${JSON.stringify(content)}: ${result.message}`);
  return result.content;
}

describe('document model', () => {
  it('splits on \\n only, so every document has at least one line and a trailing \\n adds an empty last line', () => {
    expect(splitLines('')).toEqual(['']);
    expect(splitLines('a')).toEqual(['a']);
    expect(splitLines('a\n')).toEqual(['a', '']);
    expect(splitLines('a\r\nb')).toEqual(['a\r', 'b']);
    expect(splitLines('\n\n')).toEqual(['', '', '']);
    expect(lineCount('')).toBe(1);
    expect(lineCount('a\nb\n')).toBe(3);
    for (const text of ['', 'a', 'a\n', '\n', 'x\ny\n\nz']) expect(joinLines(splitLines(text))).toBe(text);
  });

  it('finds line start offsets, with the line just past the end at length + 1', () => {
    expect(lineStartOffset('ab\ncd', 0)).toBe(0);
    expect(lineStartOffset('ab\ncd', 1)).toBe(3);
    expect(lineStartOffset('ab\ncd', 2)).toBe(6);
    expect(lineStartOffset('ab\ncd', 3)).toBe(-1);
  });

  it('slices whole lines and refuses ranges outside the document', () => {
    expect(sliceLines('a\nb\nc', 1, 3)).toEqual(['b', 'c']);
    expect(sliceLines('a\nb\nc', 3, 3)).toEqual([]);
    expect(sliceLines('a\n', 1, 2)).toEqual(['']);
    expect(sliceLines('a\nb', 1, 3)).toBeNull();
    expect(sliceLines('a', 2, 2)).toBeNull();
    expect(sliceLines('a', 1, 0)).toBeNull();
  });
});

describe('applyLineOps', () => {
  it('edits the empty document, which has one empty line', () => {
    expect(applied('', [replace(0, 1, ['hello'])])).toBe('hello');
    // Inserting before the only (empty) line keeps it, so the result ends with '\n'.
    expect(applied('', [replace(0, 0, ['hello'])])).toBe('hello\n');
    expect(applied('', [replace(1, 0, ['hello'])])).toBe('\nhello');
    expect(applied('', [replace(0, 1, [])])).toBe('');
    expect(applied('', [])).toBe('');
  });

  it('treats a trailing newline as an empty last line', () => {
    expect(applied('a\nb\n', [replace(2, 0, ['c'])])).toBe('a\nb\nc\n');
    expect(applied('a\nb\n', [replace(2, 1, ['c'])])).toBe('a\nb\nc');
    expect(applied('a\nb\n', [replace(3, 0, ['c'])])).toBe('a\nb\n\nc');
    expect(applied('a\nb', [replace(1, 1, ['b', ''])])).toBe('a\nb\n');
  });

  it('inserts at the start, in the middle and after the last line', () => {
    expect(applied('a\nb', [replace(0, 0, ['x'])])).toBe('x\na\nb');
    expect(applied('a\nb', [replace(1, 0, ['x', 'y'])])).toBe('a\nx\ny\nb');
    expect(applied('a\nb', [replace(2, 0, ['x'])])).toBe('a\nb\nx');
  });

  it('deletes everything, a part, or the last line', () => {
    expect(applied('a\nb\nc', [replace(0, 3, [])])).toBe('');
    expect(applied('a\nb\nc', [replace(0, 3, [''])])).toBe('');
    expect(applied('a\nb\nc', [replace(1, 1, [])])).toBe('a\nc');
    expect(applied('a\nb\nc', [replace(2, 1, [])])).toBe('a\nb');
    expect(applied('a\nb\nc', [replace(0, 1, [])])).toBe('b\nc');
  });

  it('applies every op of a batch against the same base, including touching ops', () => {
    const base = 'l0\nl1\nl2\nl3\nl4';
    expect(applied(base, [replace(0, 1, ['A']), replace(2, 2, ['B', 'C', 'D']), replace(5, 0, ['E'])])).toBe(
      'A\nl1\nB\nC\nD\nl4\nE',
    );
    expect(applied(base, [replace(1, 1, ['X']), replace(2, 1, ['Y'])])).toBe('l0\nX\nY\nl3\nl4');
    // Two inserts at one position go in batch order, before a replace that starts there.
    expect(applied(base, [replace(1, 0, ['p']), replace(1, 0, ['q']), replace(1, 1, ['r'])])).toBe('l0\np\nq\nr\nl2\nl3\nl4');
  });

  it('keeps lines with \\r and non-ASCII text intact', () => {
    expect(applied('a\r\nb', [replace(1, 1, ['é😀'])])).toBe('a\r\né😀');
  });

  it('rejects ops past the end of the document with out_of_range', () => {
    const tooFarStart = applyLineOps('a\nb', [replace(3, 0, ['x'])]);
    expect(tooFarStart).toMatchObject({ ok: false, code: 'out_of_range' });
    const tooLong = applyLineOps('a\nb', [replace(1, 2, [])]);
    expect(tooLong).toMatchObject({ ok: false, code: 'out_of_range' });
    if (!tooLong.ok) expect(tooLong.message).toContain('2 lines');
    expect(applyLineOps('', [replace(0, 2, [])])).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('rejects malformed typed ops with the same codes as parseLineOps', () => {
    expect(applyLineOps('a', [replace(0, 0, [])])).toMatchObject({ ok: false, code: 'empty_op' });
    expect(applyLineOps('a\nb', [replace(1, 1, ['x']), replace(0, 1, ['y'])])).toMatchObject({ ok: false, code: 'overlapping' });
    expect(applyLineOps('a', [replace(0, 1, ['x\ny'])])).toMatchObject({ ok: false, code: 'bad_line_text' });
  });
});
