import { diff_core as myersDiff } from 'fast-myers-diff';
import { splitLines } from './lines';
import type { LineOp, TextChange } from './types';

/**
 * Line ops for one character edit of `before`: replace UTF-16 range [from, to) with `insert`
 * (the same as a trace patch [from, to - from, insert] or a CodeMirror change).
 * Throws RangeError when the range is not inside `before`.
 */
export function textEditToLineOps(before: string, from: number, to: number, insert: string): LineOp[] {
  return textChangesToLineOps(before, [{ from, to, insert }]);
}

/**
 * Line ops for several character changes of `before`, all in `before`'s offsets, sorted and not
 * overlapping (touching is fine) — the shape of a CodeMirror ChangeSet (`iterChanges` fromA/toA).
 * Changes that share a line become one op; each op keeps only the lines that really differ, so a
 * keystroke inside a line replaces that one line and typing Enter inserts one line.
 * Cost: one forward scan of `before` up to the last change, plus the touched lines.
 */
export function textChangesToLineOps(before: string, changes: readonly TextChange[]): LineOp[] {
  checkChanges(before, changes);
  const ops: LineOp[] = [];
  // Cursor on the line holding some offset: its number, start offset and end offset ('\n' or length).
  let line = 0;
  let lineStart = 0;
  let lineEnd = endOfLine(before, 0);
  const moveTo = (offset: number): void => {
    while (lineEnd < offset) {
      line++;
      lineStart = lineEnd + 1;
      lineEnd = endOfLine(before, lineStart);
    }
  };

  let index = 0;
  while (index < changes.length) {
    const first = changes[index]!;
    moveTo(first.from);
    const groupLine = line;
    const groupStart = lineStart;
    moveTo(first.to);
    let groupEndIndex = index + 1;
    // A later change starting on the line where this group ends edits the same line: same op.
    while (groupEndIndex < changes.length && changes[groupEndIndex]!.from <= lineEnd) {
      moveTo(changes[groupEndIndex]!.to);
      groupEndIndex++;
    }
    const groupEnd = lineEnd;

    let after = '';
    let copied = groupStart;
    for (let k = index; k < groupEndIndex; k++) {
      const change = changes[k]!;
      after += before.slice(copied, change.from) + change.insert;
      copied = change.to;
    }
    after += before.slice(copied, groupEnd);
    const op = trimmedReplace(groupLine, splitLines(before.slice(groupStart, groupEnd)), splitLines(after));
    if (op) ops.push(op);
    index = groupEndIndex;
  }
  return ops;
}

/**
 * Ops that turn `a` into `b`: common leading and trailing lines are skipped, the rest is diffed
 * line by line with Myers' algorithm (fast-myers-diff, linear space), so separate edits give
 * separate ops. Deterministic. Time O((N + M) · D) for N, M lines and D differing lines.
 */
export function diffLines(a: string, b: string): LineOp[] {
  const oldLines = splitLines(a);
  const newLines = splitLines(b);
  const { prefix, suffix } = commonEnds(oldLines, newLines);
  const oldMiddle = oldLines.length - prefix - suffix;
  const newMiddle = newLines.length - prefix - suffix;
  if (oldMiddle === 0 && newMiddle === 0) return [];
  if (oldMiddle === 0 || newMiddle === 0) {
    return [{ kind: 'replace', start: prefix, deleteCount: oldMiddle, lines: newLines.slice(prefix, prefix + newMiddle) }];
  }

  const ops: LineOp[] = [];
  const same = (i: number, j: number): boolean => oldLines[i] === newLines[j];
  for (const [oldStart, oldEnd, newStart, newEnd] of myersDiff(prefix, oldMiddle, prefix, newMiddle, same)) {
    const last = ops[ops.length - 1];
    if (last && last.start + last.deleteCount === oldStart) {
      // Adjacent hunks (no common line between) read better as one op.
      ops[ops.length - 1] = {
        kind: 'replace',
        start: last.start,
        deleteCount: oldEnd - last.start,
        lines: [...last.lines, ...newLines.slice(newStart, newEnd)],
      };
    } else {
      ops.push({ kind: 'replace', start: oldStart, deleteCount: oldEnd - oldStart, lines: newLines.slice(newStart, newEnd) });
    }
  }
  return ops;
}

/** Replace op for old→new lines starting at `start`, without their common first and last lines. */
function trimmedReplace(start: number, oldLines: string[], newLines: string[]): LineOp | null {
  const { prefix, suffix } = commonEnds(oldLines, newLines);
  const deleteCount = oldLines.length - prefix - suffix;
  const lines = newLines.slice(prefix, newLines.length - suffix);
  if (deleteCount === 0 && lines.length === 0) return null;
  return { kind: 'replace', start: start + prefix, deleteCount, lines };
}

/** How many leading lines, then how many of the remaining trailing lines, the two sides share. */
function commonEnds(oldLines: readonly string[], newLines: readonly string[]): { prefix: number; suffix: number } {
  const shorter = Math.min(oldLines.length, newLines.length);
  let prefix = 0;
  while (prefix < shorter && oldLines[prefix] === newLines[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < shorter - prefix &&
    oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]
  ) {
    suffix++;
  }
  return { prefix, suffix };
}

function endOfLine(text: string, lineStart: number): number {
  const newline = text.indexOf('\n', lineStart);
  return newline === -1 ? text.length : newline;
}

function checkChanges(before: string, changes: readonly TextChange[]): void {
  let previousTo = 0;
  for (let index = 0; index < changes.length; index++) {
    const { from, to, insert } = changes[index]!;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < previousTo || to < from || to > before.length) {
      throw new RangeError(
        `change ${index} [${from}, ${to}) must be integers with ${previousTo} <= from <= to <= ${before.length} (text length; changes sorted, not overlapping)`,
      );
    }
    if (typeof insert !== 'string') throw new RangeError(`change ${index} insert must be a string`);
    previousTo = to;
  }
}
