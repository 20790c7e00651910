export type {
  ApplyLineOpsResult,
  LineConflict,
  LineOp,
  LineOpsError,
  LineOpsErrorCode,
  LineRange,
  ParseLineOpsResult,
  RebaseLineOpsResult,
  ReplaceLineOp,
  TextChange,
} from './types';
export { joinLines, lineCount, lineStartOffset, sliceLines, splitLines } from './lines';
export { MAX_LINE_INDEX, checkLineOps, parseLineOps } from './validate';
export { applyLineOps } from './apply';
export { changedRanges, rebaseLineOps } from './rebase';
export { diffLines, textChangesToLineOps, textEditToLineOps } from './text';
export {
  FILE_OP_HASH_TAG,
  GENESIS_HASH,
  LINE_RANGE_HASH_TAG,
  OPS_ENCODING_TAG,
  canonicalFileOpEncoding,
  canonicalOpsEncoding,
  contentHash,
  opHash,
  rangeHash,
  type FileOpHashInput,
} from './canonical';
