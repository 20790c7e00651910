// An in-memory stand-in for the world's apply_file_ops, for unit tests of the FileSession engine:
// the same line-ops rules as the module (rebase of stale edits over the applied history, conflict
// tickets instead of overlapping writes), with delivery of results and rows under the test's
// control, so interleavings can be chosen exactly. Integration tests use the real world instead.
import { applyLineOps, contentHash, rebaseLineOps, type LineOp } from '@autopilot/line-ops';
import type { FileBatch, FileOpRecord, FileTransport, SendOutcome } from '../../src/core/files/index';

export interface Ticket {
  id: string;
  actor: string;
  batch: FileBatch;
  headVersion: number;
}

export class MemoryFileWorld {
  content: string;
  version = 0;
  readonly records: FileOpRecord[] = [];
  readonly tickets: Ticket[] = [];
  readonly seenOpIds = new Map<string, SendOutcome>();

  constructor(content = '') {
    this.content = content;
  }

  /** What apply_file_ops does with one batch. */
  apply(actor: string, batch: FileBatch): SendOutcome {
    const previous = this.seenOpIds.get(batch.opId);
    if (previous) return previous;
    if (batch.baseVersion > this.version) return { ok: false, code: 'invalid_argument', message: 'base ahead of head', retryable: false };
    const history = this.records.slice(batch.baseVersion).map((record) => [...record.ops]);
    let ops: LineOp[] = [...batch.ops];
    if (history.length > 0) {
      const rebased = rebaseLineOps(ops, history);
      if (!rebased.ok) {
        const ticket = { id: `t${this.tickets.length + 1}`, actor, batch, headVersion: this.version };
        this.tickets.push(ticket);
        const outcome: SendOutcome = { ok: true, outcome: 'conflict', ticketId: ticket.id, headVersion: this.version };
        this.seenOpIds.set(batch.opId, outcome);
        return outcome;
      }
      ops = rebased.ops;
    }
    const applied = applyLineOps(this.content, ops);
    if (!applied.ok) return { ok: false, code: 'invalid_argument', message: applied.message, retryable: false };
    this.content = applied.content;
    this.version += 1;
    this.records.push({ version: this.version, opId: batch.opId, actor, ops, afterHash: contentHash(this.content) });
    const outcome: SendOutcome = { ok: true, outcome: 'applied' };
    this.seenOpIds.set(batch.opId, outcome);
    return outcome;
  }
}

/**
 * One client's link to the memory world. Calls reach the world when `deliverCalls` runs (or at
 * once with `auto`), and results and rows are handed back when `deliverRows`/`deliverResults` run.
 */
export class MemoryTransport implements FileTransport {
  readonly sent: FileBatch[] = [];
  #listeners = new Set<(ops: readonly FileOpRecord[]) => void>();
  #calls: Array<{ batch: FileBatch; resolve: (outcome: SendOutcome) => void }> = [];
  #results: Array<() => void> = [];
  #rowsSeen = 0;
  /** The next sendBatch answers this instead of reaching the world. */
  failNext: SendOutcome | undefined;

  constructor(
    readonly world: MemoryFileWorld,
    readonly actor: string,
    readonly auto = false,
  ) {
    this.#rowsSeen = world.version;
  }

  sendBatch(batch: FileBatch): Promise<SendOutcome> {
    this.sent.push(batch);
    return new Promise((resolve) => {
      if (this.failNext) {
        const outcome = this.failNext;
        this.failNext = undefined;
        resolve(outcome);
        return;
      }
      this.#calls.push({ batch, resolve });
      if (this.auto) this.deliverCalls();
    });
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The world runs the queued calls; their results wait for deliverResults (unless auto). */
  deliverCalls(): void {
    for (const call of this.#calls.splice(0)) {
      const outcome = this.world.apply(this.actor, call.batch);
      this.#results.push(() => call.resolve(outcome));
    }
    if (this.auto) {
      this.deliverResults();
      this.deliverRows();
    }
  }

  deliverResults(): void {
    for (const deliver of this.#results.splice(0)) deliver();
  }

  /** Hands over the rows this client has not seen yet. */
  deliverRows(upTo = this.world.version): void {
    const rows = this.world.records.slice(this.#rowsSeen, upTo);
    this.#rowsSeen = Math.max(this.#rowsSeen, upTo);
    if (rows.length > 0) for (const listener of this.#listeners) listener(rows);
  }

  get pendingCalls(): number {
    return this.#calls.length;
  }
}

/** Timers the test advances by hand. */
export class ManualTimers {
  #now = 0;
  #next = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();

  readonly clock = { now: () => this.#now };

  set = (callback: () => void, delayMs: number): number => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + delayMs, callback });
    return id;
  };

  clear = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: { at: number; callback: () => void } | undefined;
      for (const [id, timer] of this.#timers) if (timer.at <= end && (!due || timer.at < due.at)) [dueId, due] = [id, timer];
      if (!due) break;
      this.#timers.delete(dueId!);
      this.#now = due.at;
      due.callback();
    }
    this.#now = end;
  }

  get pending(): number {
    return this.#timers.size;
  }
}
