// Rebuilds a file from a snapshot plus the file_op rows after it, checking every link of the op
// chain on the way (the same line-ops functions the module used to write them). Pure, so clients
// and tests can prove a head from its history.
import { applyLineOps, contentHash, opHash, type LineOp } from '@autopilot/line-ops';

/** A file_op row as clients hold it (generated bindings use camelCase fields). */
export interface FileOpLike {
  readonly version: bigint;
  readonly opId: string;
  readonly actor: { toHexString(): string };
  readonly expectedBaseVersion: bigint;
  readonly ops: readonly { readonly start: number; readonly deleteCount: number; readonly lines: readonly string[] }[];
  readonly beforeHash: string;
  readonly afterHash: string;
  readonly prevOpHash: string;
  readonly opHash: string;
}

/** Where replay starts: a file_snapshot, or version 0 (empty text, GENESIS_HASH). */
export interface ReplayStart {
  readonly version: bigint;
  readonly content: string;
  readonly opHash: string;
}

export type ReplayResult =
  | { ok: true; version: bigint; content: string; contentHash: string; opHash: string }
  | { ok: false; version: bigint; code: 'gap' | 'prev_mismatch' | 'before_mismatch' | 'apply_failed' | 'after_mismatch' | 'hash_mismatch'; message: string };

export function replayFileOps(start: ReplayStart, ops: readonly FileOpLike[]): ReplayResult {
  const sorted = [...ops].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  let version = start.version;
  let content = start.content;
  let currentHash = contentHash(content);
  let chain = start.opHash;
  for (const op of sorted) {
    const fail = (code: Extract<ReplayResult, { ok: false }>['code'], message: string): ReplayResult => ({ ok: false, version: op.version, code, message });
    if (op.version !== version + 1n) return fail('gap', `expected version ${version + 1n}, found ${op.version}`);
    if (op.prevOpHash !== chain) return fail('prev_mismatch', `prev_op_hash ${op.prevOpHash} != chain head ${chain}`);
    if (op.beforeHash !== currentHash) return fail('before_mismatch', `before_hash ${op.beforeHash} != replayed ${currentHash}`);
    const lineOps: LineOp[] = op.ops.map((row) => ({ kind: 'replace', start: row.start, deleteCount: row.deleteCount, lines: row.lines }));
    const applied = applyLineOps(content, lineOps);
    if (!applied.ok) return fail('apply_failed', applied.message);
    const afterHash = contentHash(applied.content);
    if (afterHash !== op.afterHash) return fail('after_mismatch', `after_hash ${op.afterHash} != replayed ${afterHash}`);
    const recomputed = opHash({
      prevHash: chain,
      opId: op.opId,
      actor: op.actor.toHexString(),
      baseVersion: op.expectedBaseVersion,
      ops: lineOps,
      beforeHash: currentHash,
      afterHash,
    });
    if (recomputed !== op.opHash) return fail('hash_mismatch', `op_hash ${op.opHash} != recomputed ${recomputed}`);
    version = op.version;
    content = applied.content;
    currentHash = afterHash;
    chain = recomputed;
  }
  return { ok: true, version, content, contentHash: currentHash, opHash: chain };
}
