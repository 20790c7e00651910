// Line ops and character changes on a CodeMirror `Text` (a balanced tree of lines), so an edit to
// a large file costs O(log n) instead of copying the whole string. Same document model as
// @autopilot/line-ops: lines are split on '\n' only, and a document always has at least one line.
import { Text } from '@codemirror/state';
import { diffLines, type LineOp } from '@autopilot/line-ops';

/** One character-level change in the coordinates of the document before it (CodeMirror's shape). */
export interface CharChange {
  readonly from: number;
  readonly to: number;
  readonly insert: string;
}

export function textOf(content: string): Text {
  return Text.of(content.split('\n'));
}

/**
 * Applies a batch of line ops (base coordinates, line-ops rules) to `doc`. Returns the new text and
 * the same edit as character changes in `doc`'s coordinates (sorted, non-overlapping), which is
 * what an editor view needs to show it. Throws RangeError when an op reaches past the last line.
 */
export function applyOpsToText(doc: Text, batch: readonly LineOp[]): { text: Text; changes: CharChange[] } {
  const ops = mergeTouchingOps(foldAppends(doc, batch));
  const changes: CharChange[] = [];
  let text = doc;
  // Last op first, so the base coordinates of the ops before it stay valid. Several inserts at one
  // position then land in batch order, before a replace starting there (the line-ops rule).
  for (let i = ops.length - 1; i >= 0; i--) {
    const change = opToChange(text, ops[i]!);
    text = text.replace(change.from, change.to, Text.of(change.insert.split('\n')));
    changes.push(change);
  }
  return { text, changes: toBaseCoordinates(changes) };
}

/**
 * Inserts after the last line become a replace of the last line (merged into an op that already
 * ends there). Then no op depends on where the document ends after the ops behind it, so every
 * change computed while applying the batch from the end stays in the original coordinates.
 */
function foldAppends(doc: Text, ops: readonly LineOp[]): readonly LineOp[] {
  const lines = doc.lines;
  let firstAppend = ops.length;
  while (firstAppend > 0 && ops[firstAppend - 1]!.deleteCount === 0 && ops[firstAppend - 1]!.start === lines) firstAppend--;
  if (firstAppend === ops.length) return ops;
  const appended = ops.slice(firstAppend).flatMap((op) => op.lines);
  const head = ops.slice(0, firstAppend);
  const last = head[head.length - 1];
  if (last && last.deleteCount > 0 && last.start + last.deleteCount === lines) {
    head[head.length - 1] = { kind: 'replace', start: last.start, deleteCount: last.deleteCount, lines: [...last.lines, ...appended] };
  } else {
    head.push({ kind: 'replace', start: lines - 1, deleteCount: 1, lines: [doc.line(lines).text, ...appended] });
  }
  return head;
}

/**
 * Ops that touch (one ends where the next starts, inserts at one position) become one op with
 * their lines concatenated: the same edit, with at least one untouched line between any two ops, so
 * a deletion's line break never belongs to a neighbouring op.
 */
function mergeTouchingOps(ops: readonly LineOp[]): LineOp[] {
  const out: LineOp[] = [];
  for (const op of ops) {
    const last = out[out.length - 1];
    if (last && last.start + last.deleteCount === op.start) {
      out[out.length - 1] = { kind: 'replace', start: last.start, deleteCount: last.deleteCount + op.deleteCount, lines: [...last.lines, ...op.lines] };
    } else out.push(op);
  }
  return out;
}

/** The character change that performs one line op on `doc`. */
export function opToChange(doc: Text, op: LineOp): CharChange {
  const lines = doc.lines;
  const end = op.start + op.deleteCount;
  if (end > lines) throw new RangeError(`op [${op.start}, ${end}) reaches past the last line (${lines} lines)`);
  const joined = op.lines.join('\n');
  if (op.deleteCount === 0) {
    if (op.start < lines) return { from: doc.line(op.start + 1).from, to: doc.line(op.start + 1).from, insert: `${joined}\n` };
    return { from: doc.length, to: doc.length, insert: `\n${joined}` };
  }
  const from = doc.line(op.start + 1).from;
  const to = doc.line(end).to;
  if (op.lines.length > 0) return { from, to, insert: joined };
  // A pure deletion of whole lines also removes one line break: the following one, else the one before.
  if (end < lines) return { from, to: to + 1, insert: '' };
  if (op.start > 0) return { from: from - 1, to, insert: '' };
  return { from: 0, to: doc.length, insert: '' };
}

/**
 * The changes were made from the last op to the first, each on a text changed only at or after its
 * own end, so every one is already in the original coordinates; reversed, they ascend. Touching
 * changes (inserts at one spot, a delete running into the next op) become one.
 */
function toBaseCoordinates(applied: CharChange[]): CharChange[] {
  return mergeTouching(applied.slice().reverse());
}

/** Two changes at the same spot (inserts in batch order) become one, keeping the list sorted and disjoint. */
function mergeTouching(changes: CharChange[]): CharChange[] {
  const out: CharChange[] = [];
  for (const change of changes) {
    const last = out[out.length - 1];
    if (last && change.from <= last.to) {
      out[out.length - 1] = { from: last.from, to: Math.max(last.to, change.to), insert: last.insert + change.insert };
    } else out.push(change);
  }
  return out;
}

/** Applies sorted, non-overlapping changes (original coordinates) to `doc`. */
export function applyChangesToText(doc: Text, changes: readonly CharChange[]): Text {
  let text = doc;
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i]!;
    text = text.replace(change.from, change.to, Text.of(change.insert.split('\n')));
  }
  return text;
}

/**
 * Line ops that turn `before` into `after`, when only lines [start, beforeEnd) of `before` and
 * [start, afterEnd) of `after` may differ (the rest is known equal). Diffing just that window keeps
 * separate edits separate (so they merge with concurrent edits between them) without scanning the
 * whole file.
 */
export function diffWindow(before: Text, after: Text, start: number, beforeEnd: number, afterEnd: number): LineOp[] {
  const a = lineSlice(before, start, beforeEnd);
  const b = lineSlice(after, start, afterEnd);
  if (a.length === 0 && b.length === 0) return [];
  // An empty window cannot go through a string diff ("" reads back as one empty line).
  if (a.length === 0 || b.length === 0) return [{ kind: 'replace', start, deleteCount: a.length, lines: b }];
  return diffLines(a.join('\n'), b.join('\n')).map((op) => ({ ...op, start: op.start + start }));
}

/** Lines [start, end) of `doc`, 0-based. */
export function lineSlice(doc: Text, start: number, end: number): string[] {
  const out: string[] = [];
  if (end <= start) return out;
  const iter = doc.iterLines(start + 1, end + 1);
  for (let next = iter.next(); !next.done; next = iter.next()) out.push(next.value);
  return out;
}
