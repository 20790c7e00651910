// The document model: lines are exactly `content.split('\n')`, so every document has at least one
// line, a trailing '\n' means the last line is '', and joinLines(splitLines(c)) === c.

export function splitLines(content: string): string[] {
  return content.split('\n');
}

/** Inverse of splitLines. An empty array gives '' (the same text as ['']). */
export function joinLines(lines: readonly string[]): string {
  return lines.join('\n');
}

export function lineCount(content: string): number {
  let count = 1;
  for (let at = content.indexOf('\n'); at !== -1; at = content.indexOf('\n', at + 1)) count++;
  return count;
}

/**
 * The lines [start, end) of `content`, or null when the range is not inside the document.
 * Scans only up to line `end`, so it is cheap near the top of large documents.
 */
export function sliceLines(content: string, start: number, end: number): string[] | null {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) return null;
  const from = advanceLines(content, 0, start);
  if (from === -1) return null;
  const to = advanceLines(content, from, end - start);
  if (to === -1) return null;
  if (start === end) return [];
  // `to` is the start of line `end` (or one past the text), so the '\n' before it is not ours.
  return content.slice(from, to - 1).split('\n');
}

/**
 * Offset where line `line` starts. Line `lineCount` (just past the last line) "starts" at
 * content.length + 1, as if the text had one more '\n'; beyond that the answer is -1.
 */
export function lineStartOffset(content: string, line: number): number {
  return advanceLines(content, 0, line);
}

/** From the start offset of some line, the start offset `count` lines further on (-1 past the end). */
function advanceLines(content: string, lineStart: number, count: number): number {
  let offset = lineStart;
  for (let moved = 0; moved < count; moved++) {
    if (offset > content.length) return -1;
    const newline = content.indexOf('\n', offset);
    offset = newline === -1 ? content.length + 1 : newline + 1;
  }
  return offset;
}
