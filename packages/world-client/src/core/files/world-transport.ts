// The FileTransport over a WorldClient: batches go through `applyFileOps` (the client's outbox,
// idempotent op ids), and the file's applied ops come from a subscription to `my_file_ops` that
// this adapter opens on every link (the client's own subscriptions do not include op history,
// which only live editors need). `openFileSession` reads the head once from the files store.
import type { DbConnection } from '../../module_bindings';
import { errorMessage, failure, type Result } from '../result';
import { RETRYABLE_CODES } from '../world/errors';
import type { WorldClient, WorldLink } from '../world/client';
import { FileSession, type FileSessionOptions } from './session';
import type { FileBatch, FileOpRecord, FileTransport, SendOutcome } from './transport';

export interface WorldFileTarget {
  readonly workspaceId: string;
  readonly path: string;
  readonly fileId: string;
}

/** The row shape the adapter reads from `my_file_ops`. */
interface FileOpRow {
  fileId: bigint;
  version: bigint;
  opId: string;
  actor: { toHexString(): string };
  ops: { start: number; deleteCount: number; lines: string[] }[];
  afterHash: string;
}

export class WorldFileTransport implements FileTransport {
  readonly #client: WorldClient;
  readonly #target: WorldFileTarget;
  readonly #fileId: bigint;

  constructor(client: WorldClient, target: WorldFileTarget) {
    this.#client = client;
    this.#target = target;
    this.#fileId = BigInt(target.fileId);
  }

  async sendBatch(batch: FileBatch): Promise<SendOutcome> {
    const result = await this.#client.applyFileOps({
      workspaceId: this.#target.workspaceId,
      path: this.#target.path,
      expectedBaseVersion: batch.baseVersion,
      ops: batch.ops.map((op) => ({ start: op.start, deleteCount: op.deleteCount, lines: [...op.lines] })),
      opId: batch.opId,
    });
    if (!result.ok) return { ok: false, code: result.code, message: result.message, retryable: RETRYABLE_CODES.has(result.code) };
    if (result.conflictTicketId === null) return { ok: true, outcome: 'applied' };
    const ticket = this.#client.stores.conflicts.getState().tickets[result.conflictTicketId];
    return { ok: true, outcome: 'conflict', ticketId: result.conflictTicketId, headVersion: ticket?.headVersion ?? 0 };
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    let current: { unsubscribe(): void } | undefined;
    const attach = (link: WorldLink) => {
      current?.unsubscribe();
      current = this.#subscribe(link.conn, listener);
    };
    const stopLinks = this.#client.onLink((link) => attach(link));
    const link = this.#client.link;
    if (link) attach(link);
    return () => {
      stopLinks();
      current?.unsubscribe();
      current = undefined;
    };
  }

  #subscribe(conn: DbConnection, listener: (ops: readonly FileOpRecord[]) => void): { unsubscribe(): void } {
    const table = (conn.db as unknown as Record<string, TableLike>).myFileOps!;
    let active = true;
    const onInsert = (_ctx: unknown, row: FileOpRow) => {
      if (active && row.fileId === this.#fileId) listener([toRecord(row)]);
    };
    table.onInsert(onInsert);
    const handle = conn
      .subscriptionBuilder()
      .onApplied(() => {
        // Rows already in the cache (from before this subscription) come once here; repeats are ignored by the session.
        if (!active) return;
        const rows: FileOpRecord[] = [];
        for (const row of table.iter() as Iterable<FileOpRow>) if (row.fileId === this.#fileId) rows.push(toRecord(row));
        if (rows.length > 0) listener(rows);
      })
      .subscribe([`SELECT * FROM my_file_ops WHERE file_id = ${this.#fileId}`]);
    return {
      unsubscribe: () => {
        active = false;
        table.removeOnInsert?.(onInsert);
        try {
          if (handle.isActive()) handle.unsubscribe();
        } catch {
          // The link is gone already: nothing to end.
        }
      },
    };
  }
}

interface TableLike {
  iter(): Iterable<unknown>;
  onInsert(callback: (ctx: unknown, row: FileOpRow) => void): void;
  removeOnInsert?(callback: (ctx: unknown, row: FileOpRow) => void): void;
}

function toRecord(row: FileOpRow): FileOpRecord {
  return {
    version: Number(row.version),
    opId: row.opId,
    actor: row.actor.toHexString(),
    ops: row.ops.map((op) => ({ kind: 'replace', start: op.start, deleteCount: op.deleteCount, lines: op.lines })),
    afterHash: row.afterHash,
  };
}

/**
 * Opens a live session on a file the client can already see (its head is in the files store):
 * the head is read once, then only ops flow.
 */
export function openFileSession(
  client: WorldClient,
  target: { workspaceId: string; path: string },
  options: Omit<FileSessionOptions, 'head' | 'transport'> = {},
): Result<{ session: FileSession; fileId: string }, 'no_file' | 'invalid_argument'> {
  const file = Object.values(client.stores.files.getState().files).find((f) => f.workspaceId === target.workspaceId && f.path === target.path);
  if (!file) return failure('no_file', `no file ${JSON.stringify(target.path)} in workspace ${target.workspaceId} (create it first, or wait for it to sync)`);
  try {
    const transport = new WorldFileTransport(client, { ...target, fileId: file.id });
    const session = new FileSession({ ...options, head: { version: file.version, content: file.content }, transport });
    return { ok: true, session, fileId: file.id };
  } catch (error) {
    return failure('invalid_argument', errorMessage(error));
  }
}
