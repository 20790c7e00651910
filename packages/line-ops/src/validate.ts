import type { LineOp, LineOpsError, LineOpsErrorCode, ParseLineOpsResult } from './types';

/** Line positions are encoded as u32 in the canonical encoding, so they must fit. */
export const MAX_LINE_INDEX = 0xffff_ffff;

const OP_FIELDS = new Set(['kind', 'start', 'deleteCount', 'lines']);
// A lone surrogate would be hashed as U+FFFD, so two different texts could share a hash.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function fail(code: LineOpsErrorCode, message: string): LineOpsError {
  return { ok: false, code, message };
}

function isLineIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_LINE_INDEX;
}

/**
 * Checks a batch against the rules every batch must follow (see README): each op well formed and
 * non-empty, ops sorted by start and not overlapping in base coordinates. Returns null when valid.
 * Line counts of the document are not known here; applyLineOps checks ranges.
 */
export function checkLineOps(value: unknown): LineOpsError | null {
  if (!Array.isArray(value)) return fail('not_array', `line ops must be an array, got ${describe(value)}`);
  let previousEnd = 0;
  for (let index = 0; index < value.length; index++) {
    const op: unknown = value[index];
    const where = `ops[${index}]`;
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      return fail('not_object', `${where} must be an object, got ${describe(op)}`);
    }
    for (const key of Object.keys(op)) {
      if (!OP_FIELDS.has(key)) return fail('unknown_field', `${where} has unknown field "${key}"`);
    }
    const { kind, start, deleteCount, lines } = op as Record<string, unknown>;
    if (kind !== 'replace') return fail('bad_kind', `${where}.kind must be "replace", got ${describe(kind)}`);
    if (!isLineIndex(start)) {
      return fail('bad_start', `${where}.start must be an integer in [0, ${MAX_LINE_INDEX}], got ${describe(start)}`);
    }
    if (!isLineIndex(deleteCount) || start + deleteCount > MAX_LINE_INDEX) {
      return fail(
        'bad_delete_count',
        `${where}.deleteCount must be an integer >= 0 with start + deleteCount <= ${MAX_LINE_INDEX}, got ${describe(deleteCount)}`,
      );
    }
    if (!Array.isArray(lines)) return fail('bad_lines', `${where}.lines must be an array of strings, got ${describe(lines)}`);
    for (let lineIndex = 0; lineIndex < lines.length; lineIndex++) {
      const line: unknown = lines[lineIndex];
      if (typeof line !== 'string') {
        return fail('bad_lines', `${where}.lines[${lineIndex}] must be a string, got ${describe(line)}`);
      }
      if (line.includes('\n')) {
        return fail('bad_line_text', `${where}.lines[${lineIndex}] contains '\\n'; split it into separate lines`);
      }
      if (LONE_SURROGATE.test(line)) {
        return fail('bad_line_text', `${where}.lines[${lineIndex}] contains an unpaired UTF-16 surrogate`);
      }
    }
    if (deleteCount === 0 && lines.length === 0) {
      return fail('empty_op', `${where} deletes nothing and inserts nothing`);
    }
    if (start < previousEnd) {
      return fail(
        'overlapping',
        `${where} starts at line ${start}, before the previous op ends (${previousEnd}); ops must be sorted and not overlap`,
      );
    }
    previousEnd = start + deleteCount;
  }
  return null;
}

/** Validates untrusted JSON (e.g. a reducer argument) and returns fresh ops holding only known fields. */
export function parseLineOps(json: unknown): ParseLineOpsResult {
  const problem = checkLineOps(json);
  if (problem) return problem;
  const ops = (json as LineOp[]).map(
    (op): LineOp => ({ kind: 'replace', start: op.start, deleteCount: op.deleteCount, lines: op.lines.slice() }),
  );
  return { ok: true, ops };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}
