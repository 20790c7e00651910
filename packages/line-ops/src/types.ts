/**
 * Replace the base lines [start, start + deleteCount) with `lines`.
 * deleteCount 0 is an insert before line `start`; an empty `lines` is a delete.
 * `start` may equal the line count (insert after the last line).
 */
export interface ReplaceLineOp {
  readonly kind: 'replace';
  readonly start: number;
  readonly deleteCount: number;
  /** Each entry is one line without its '\n'. */
  readonly lines: readonly string[];
}

/** One kind today; a union so new kinds can be added without breaking callers that switch on `kind`. */
export type LineOp = ReplaceLineOp;

/** Half-open line range [start, end); start === end marks an insertion point. */
export interface LineRange {
  readonly start: number;
  readonly end: number;
}

export type LineOpsErrorCode =
  | 'not_array'
  | 'not_object'
  | 'unknown_field'
  | 'bad_kind'
  | 'bad_start'
  | 'bad_delete_count'
  | 'bad_lines'
  | 'bad_line_text'
  | 'empty_op'
  | 'overlapping';

export interface LineOpsError {
  readonly ok: false;
  readonly code: LineOpsErrorCode;
  readonly message: string;
}

export type ParseLineOpsResult = { readonly ok: true; readonly ops: LineOp[] } | LineOpsError;

export type ApplyLineOpsResult =
  | { readonly ok: true; readonly content: string }
  | LineOpsError
  | { readonly ok: false; readonly code: 'out_of_range'; readonly message: string };

export interface LineConflict {
  /** Our op's range, in base coordinates. */
  readonly ours: LineRange;
  /** The lines changed since base that ours overlaps or touches, in base coordinates. */
  readonly theirs: LineRange;
  /** What those base lines became at head, in head coordinates (for showing the user). */
  readonly theirsAtHead: LineRange;
}

export type RebaseLineOpsResult =
  | { readonly ok: true; readonly ops: LineOp[] }
  | { readonly ok: false; readonly code: 'conflict'; readonly message: string; readonly conflicts: LineConflict[] };

/** A character edit in UTF-16 offsets of the text it applies to (like a CodeMirror change). */
export interface TextChange {
  readonly from: number;
  readonly to: number;
  readonly insert: string;
}
