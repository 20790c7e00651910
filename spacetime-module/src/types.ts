// Product types shared by tables and reducer parameters (they appear by these names in bindings).
import { t } from 'spacetimedb/server';

/**
 * One line operation: replace the base lines [start, start + delete_count) with `lines`.
 * The same model as @autopilot/line-ops `ReplaceLineOp` (its only kind today), in snake_case.
 */
export const LineOpType = t.object('LineOp', {
  start: t.u32(),
  delete_count: t.u32(),
  lines: t.array(t.string()),
});

/** The caller's claim that base lines [start, end) hash to `hash` (line-ops rangeHash). */
export const RangeHashType = t.object('RangeHash', {
  start: t.u32(),
  end: t.u32(),
  hash: t.string(),
});

/**
 * Why an edit could not be rebased. `kind` is "edit" (one of the submitted ops) or "range_hash"
 * (a claimed range). ours/theirs are base-version line ranges, head_* what theirs became at head.
 */
export const ConflictRangeType = t.object('ConflictRange', {
  kind: t.string(),
  ours_start: t.u32(),
  ours_end: t.u32(),
  theirs_start: t.u32(),
  theirs_end: t.u32(),
  head_start: t.u32(),
  head_end: t.u32(),
});

export interface LineOpRow {
  start: number;
  delete_count: number;
  lines: string[];
}

export interface ConflictRangeRow {
  kind: string;
  ours_start: number;
  ours_end: number;
  theirs_start: number;
  theirs_end: number;
  head_start: number;
  head_end: number;
}
