// The only way a FileSession talks to the world: send one batch, hear the file's applied ops. Keeping
// it this small lets the engine run against the real world client (world-transport.ts), a test's
// delaying wrapper, or anything else that can carry `apply_file_ops` and `file_op` rows.
import type { LineOp } from '@autopilot/line-ops';

/** One `apply_file_ops` call: ops in the coordinates of `baseVersion`, idempotent by `opId`. */
export interface FileBatch {
  readonly opId: string;
  readonly baseVersion: number;
  readonly ops: readonly LineOp[];
}

/** One applied batch as the world stored it (a `file_op` row of this file). */
export interface FileOpRecord {
  readonly version: number;
  readonly opId: string;
  /** Identity hex of the writer. */
  readonly actor: string;
  /** The ops as applied (after the world's rebase), in the coordinates of `version - 1`. */
  readonly ops: readonly LineOp[];
  /** contentHash of the file after this op. */
  readonly afterHash: string;
}

export type SendOutcome =
  /** The world applied the batch; its file_op row follows through `onOps`. */
  | { readonly ok: true; readonly outcome: 'applied' }
  /** The batch overlapped newer changes: nothing was applied, ticket `ticketId` was opened at `headVersion`. */
  | { readonly ok: true; readonly outcome: 'conflict'; readonly ticketId: string; readonly headVersion: number }
  /** Not applied. `retryable` failures (offline, timeout) are sent again with the same opId. */
  | { readonly ok: false; readonly code: string; readonly message: string; readonly retryable: boolean };

export interface FileTransport {
  sendBatch(batch: FileBatch): Promise<SendOutcome>;
  /**
   * Hands over this file's applied ops as they arrive (any order, repeats allowed: the session
   * orders them by version and ignores what it already has). Returns the unsubscribe function.
   */
  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void;
}
