import { lineCount } from './lines';
import type { ApplyLineOpsResult, LineOp } from './types';
import { checkLineOps } from './validate';

/**
 * Applies one batch (all positions in base coordinates, see README) to `content`.
 * Works on the string directly: it scans only up to the last touched line and copies untouched
 * runs as slices, so a keystroke near the top of a large file stays cheap.
 */
export function applyLineOps(content: string, ops: readonly LineOp[]): ApplyLineOpsResult {
  const problem = checkLineOps(ops);
  if (problem) return problem;
  if (ops.length === 0) return { ok: true, content };

  // Each chunk is one or more whole lines joined by '\n'; the result joins chunks with '\n'.
  const chunks: string[] = [];
  // `offset` is where line `line` starts; line lineCount "starts" at pastEnd.
  const pastEnd = content.length + 1;
  let line = 0;
  let offset = 0;
  const seek = (target: number): boolean => {
    while (line < target) {
      if (offset >= pastEnd) return false;
      const newline = content.indexOf('\n', offset);
      offset = newline === -1 ? pastEnd : newline + 1;
      line++;
    }
    return true;
  };

  let keptLine = 0;
  let keptOffset = 0;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index]!;
    const end = op.start + op.deleteCount;
    if (!seek(op.start)) return outOfRange(content, index, op.start, end);
    // The untouched run [keptLine, op.start) ends just before the '\n' that precedes op.start.
    if (op.start > keptLine) chunks.push(content.slice(keptOffset, offset - 1));
    if (op.lines.length > 0) chunks.push(op.lines.join('\n'));
    if (!seek(end)) return outOfRange(content, index, op.start, end);
    keptLine = line;
    keptOffset = offset;
  }
  if (keptOffset < pastEnd) chunks.push(content.slice(keptOffset));
  return { ok: true, content: chunks.join('\n') };
}

function outOfRange(content: string, index: number, start: number, end: number): ApplyLineOpsResult {
  return {
    ok: false,
    code: 'out_of_range',
    message: `ops[${index}] covers lines [${start}, ${end}) but the document has only ${lineCount(content)} lines`,
  };
}
