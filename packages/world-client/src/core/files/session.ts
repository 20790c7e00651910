// FileSession: the live edit pipeline of one shared file, used by the editor and by autopilots alike.
// It holds the confirmed head (the world's version, built from file_op rows in version order) and
// the local document. Local character edits are coalesced and sent as one line-op batch at a time
// (`apply_file_ops` with expected_base_version and an idempotent op id). Incoming ops are merged into
// the local document by rebasing: the in-flight batch the same way the world will (so the client
// predicts the world's outcome exactly) and the unsent edits over what arrived. When local work and
// someone else's change touch the same lines, nothing is merged or dropped silently: the session
// freezes the local text, makes sure the world holds a conflict ticket for it, then records the
// conflict (base / mine / head) and returns to the head. Undo/redo undoes the user's own edits as
// new operations.
//
// Three texts (CodeMirror `Text`, shared structure, O(log n) edits):
//   head     the world's file at `version`
//   base     head plus the in-flight batch as rebased onto head ("optimistic head")
//   doc      what the user sees: base plus the unsent edits, which differ from base only inside
//            the dirty window [start, lines - suffix)
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { contentHash, diffLines, rebaseLineOps, type LineOp } from '@autopilot/line-ops';
import type { Text } from '@codemirror/state';
import { systemClock, systemTimers, type Clock, type TimerHandle, type Timers } from '../clock';
import { failure, errorMessage, type Result } from '../result';
import { Listeners } from '../listeners';
import { silentLogger, type Logger } from '../logger';
import { applyChangesToText, applyOpsToText, diffWindow, textOf, type CharChange } from './text';
import { UndoHistory } from './undo';
import type { FileBatch, FileOpRecord, FileTransport, SendOutcome } from './transport';

export interface FileSessionOptions {
  /** The file as fetched once; afterwards only ops flow. */
  head: { version: number; content: string };
  transport: FileTransport;
  /** Local edits are gathered this long before a batch is sent (default 16 ms, about a frame). */
  coalesceMs?: number;
  /** Check every applied op's after_hash against the head (default true). */
  verifyHashes?: boolean;
  /** Edits closer together than this undo as one step (default 500 ms). */
  undoGroupMs?: number;
  /** Undo steps kept (default 200). */
  undoLimit?: number;
  /** Delay before a batch that failed retryably (offline, timeout) is sent again (default 250 ms). */
  retryMs?: number;
  newOpId?: () => string;
  clock?: Clock;
  timers?: Timers;
  logger?: Logger;
}

/** Why the document changed: typed here, undone/redone here, someone else's op, or a return to head after a conflict. */
export type ChangeOrigin = 'local' | 'undo' | 'redo' | 'remote' | 'reset';

/**
 * Local work that could not be merged. The world holds it in `ticketIds` (the module's conflict
 * tickets) unless it refused the batch outright (`failures`); `mine` is the user's full text, kept
 * so it can be shown beside base and head and merged by hand.
 */
export interface FileConflict {
  readonly ticketIds: readonly string[];
  readonly failures: readonly { code: string; message: string }[];
  readonly baseVersion: number;
  readonly base: string;
  readonly mine: string;
  readonly headVersion: number;
  readonly head: string;
}

export type FileSessionState = 'synced' | 'pending' | 'conflicted' | 'desynced' | 'closed';

interface InFlight extends FileBatch {
  readonly baseText: Text;
  /** The ops that arrived since baseVersion, oldest first (as applied), to rebase exactly like the world. */
  readonly history: LineOp[][];
  /** The batch rebased onto head, while it still applies cleanly. */
  rebased: readonly LineOp[];
  /** A rescue batch (sent to obtain a conflict ticket for frozen local text). */
  readonly rescue: boolean;
}

interface Rescue {
  readonly anchorVersion: number;
  readonly anchorText: Text;
  readonly ticketIds: string[];
  readonly failures: { code: string; message: string }[];
  waitVersion: number;
  sent: boolean;
}

/** Lines [start, lines - suffix) may differ between base and doc; the rest is equal. */
interface Dirty {
  start: number;
  suffix: number;
}

export type EditResult = Result<object, 'bad_change' | 'closed' | 'desynced'>;

export class FileSession {
  readonly #transport: FileTransport;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #coalesceMs: number;
  readonly #retryMs: number;
  readonly #verify: boolean;
  readonly #newOpId: () => string;
  readonly #undo: UndoHistory;
  readonly #changeListeners: Listeners<[readonly CharChange[], ChangeOrigin]>;
  readonly #conflictListeners: Listeners<[FileConflict]>;
  readonly #stateListeners: Listeners<[FileSessionState]>;
  readonly #unsubscribe: () => void;

  #head: Text;
  #version: number;
  #base: Text;
  #doc: Text;
  #dirty: Dirty | null = null;
  #inflight: InFlight | null = null;
  #editedSinceSend = false;
  #rescue: Rescue | null = null;
  #arrived = new Map<number, FileOpRecord>();
  #flushTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #conflicts: FileConflict[] = [];
  #desynced: string | undefined;
  #closed = false;
  #lastState: FileSessionState = 'synced';
  #idleWaiters: Array<() => void> = [];

  constructor(options: FileSessionOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger ?? silentLogger;
    this.#coalesceMs = options.coalesceMs ?? 16;
    this.#retryMs = options.retryMs ?? 250;
    this.#verify = options.verifyHashes ?? true;
    this.#newOpId = options.newOpId ?? (() => `edit-${bytesToHex(randomBytes(12))}`);
    this.#undo = new UndoHistory({ groupMs: options.undoGroupMs ?? 500, limit: options.undoLimit ?? 200 });
    this.#changeListeners = new Listeners('file change', this.#logger);
    this.#conflictListeners = new Listeners('file conflict', this.#logger);
    this.#stateListeners = new Listeners('file session state', this.#logger);
    if (!Number.isSafeInteger(options.head.version) || options.head.version < 0) throw new RangeError('head.version must be a non-negative integer');
    this.#version = options.head.version;
    this.#head = textOf(options.head.content);
    this.#base = this.#head;
    this.#doc = this.#head;
    this.#unsubscribe = this.#transport.onOps((ops) => this.#receive(ops));
  }

  /** The user's document. */
  get text(): string {
    return this.#doc.toString();
  }

  get doc(): Text {
    return this.#doc;
  }

  /** The confirmed head: the world's version and text as far as its ops have arrived. */
  get version(): number {
    return this.#version;
  }

  get headText(): string {
    return this.#head.toString();
  }

  get conflicts(): readonly FileConflict[] {
    return this.#conflicts;
  }

  get canUndo(): boolean {
    return this.#undo.canUndo;
  }

  get canRedo(): boolean {
    return this.#undo.canRedo;
  }

  get state(): FileSessionState {
    if (this.#closed) return 'closed';
    if (this.#desynced !== undefined) return 'desynced';
    if (this.#rescue) return 'conflicted';
    if (this.#inflight || this.#dirty || this.#flushTimer !== undefined) return 'pending';
    return 'synced';
  }

  onChange(listener: (changes: readonly CharChange[], origin: ChangeOrigin) => void): () => void {
    return this.#changeListeners.add(listener);
  }

  onConflict(listener: (conflict: FileConflict) => void): () => void {
    return this.#conflictListeners.add(listener);
  }

  onState(listener: (state: FileSessionState) => void): () => void {
    return this.#stateListeners.add(listener);
  }

  /** Resolves once every local edit is confirmed or settled as a conflict (or the session closed). */
  whenIdle(): Promise<void> {
    const state = this.state;
    if (state === 'synced' || state === 'closed' || state === 'desynced') return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * A local edit: changes sorted, non-overlapping, in the current document's coordinates (what a
   * CodeMirror transaction's `iterChanges` yields as fromA/toA/inserted).
   */
  edit(changes: readonly CharChange[]): EditResult {
    const checked = this.#checkChanges(changes);
    if (!checked.ok) return checked;
    if (changes.length === 0) return { ok: true };
    this.#undo.recordEdit(changes, (c) => this.#doc.sliceString(c.from, c.to), this.#clock.now());
    this.#applyLocal(changes, 'local');
    return { ok: true };
  }

  /** Undoes the newest group of the user's own edits, as a new edit. False when there is nothing to undo. */
  undo(): boolean {
    return this.#history(this.#undo.popUndo(), 'undo');
  }

  redo(): boolean {
    return this.#history(this.#undo.popRedo(), 'redo');
  }

  /** Sends the coalesced edits now instead of after coalesceMs (when no batch is in flight). */
  flush(): void {
    this.#clearFlushTimer();
    if (this.#closed || this.#desynced !== undefined) return;
    if (this.#rescue) {
      this.#advanceRescue();
      return;
    }
    if (this.#inflight) return;
    const ops = this.#dirtyOps();
    this.#dirty = null;
    if (ops.length === 0) {
      this.#base = this.#doc;
      this.#notifyState();
      return;
    }
    // base first: a transport may answer (and deliver our row) before sendBatch returns.
    this.#base = this.#doc;
    this.#send({ opId: this.#newOpId(), baseVersion: this.#version, baseText: this.#head, ops, history: [], rebased: ops, rescue: false });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearFlushTimer();
    if (this.#retryTimer !== undefined) this.#timers.clear(this.#retryTimer);
    this.#unsubscribe();
    this.#notifyState();
  }

  // ---- local edits ----

  #checkChanges(changes: readonly CharChange[]): EditResult {
    if (this.#closed) return failure('closed', 'the file session is closed');
    if (this.#desynced !== undefined) return failure('desynced', `the file session lost sync with the world: ${this.#desynced}`);
    if (!Array.isArray(changes)) return failure('bad_change', 'changes must be an array');
    let previousEnd = 0;
    for (const [i, change] of changes.entries()) {
      if (change === null || typeof change !== 'object') return failure('bad_change', `changes[${i}] must be an object`);
      const { from, to, insert } = change;
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || to > this.#doc.length) {
        return failure('bad_change', `changes[${i}]: [${from}, ${to}) is not a range of the ${this.#doc.length}-character document`);
      }
      if (typeof insert !== 'string') return failure('bad_change', `changes[${i}].insert must be a string`);
      if (from < previousEnd) return failure('bad_change', `changes[${i}] starts before the end of changes[${i - 1}]; changes must be sorted and not overlap`);
      previousEnd = to;
    }
    return { ok: true };
  }

  #history(changes: CharChange[] | undefined, origin: 'undo' | 'redo'): boolean {
    if (!changes || this.#closed || this.#desynced !== undefined) return false;
    // The inverse changes apply one after another; each is its own step in the document.
    for (const change of changes) this.#applyLocal([change], origin);
    return true;
  }

  #applyLocal(changes: readonly CharChange[], origin: ChangeOrigin): void {
    const before = this.#doc;
    let start = this.#dirty?.start ?? Infinity;
    let suffix = this.#dirty?.suffix ?? Infinity;
    for (const change of changes) {
      start = Math.min(start, before.lineAt(change.from).number - 1);
      suffix = Math.min(suffix, before.lines - before.lineAt(change.to).number);
    }
    this.#doc = applyChangesToText(before, changes);
    this.#editedSinceSend = true;
    if (!this.#rescue) {
      this.#dirty = { start, suffix };
      if (this.#flushTimer === undefined) this.#flushTimer = this.#timers.set(() => this.#onFlushTimer(), this.#coalesceMs);
    }
    this.#changeListeners.emit(changes, origin);
    this.#notifyState();
  }

  #onFlushTimer(): void {
    this.#flushTimer = undefined;
    this.flush();
  }

  #clearFlushTimer(): void {
    if (this.#flushTimer === undefined) return;
    this.#timers.clear(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  /** The unsent edits as line ops in base coordinates. */
  #dirtyOps(): LineOp[] {
    const dirty = this.#dirty;
    if (!dirty) return [];
    return diffWindow(this.#base, this.#doc, dirty.start, this.#base.lines - dirty.suffix, this.#doc.lines - dirty.suffix);
  }

  // ---- the world ----

  #send(batch: InFlight): void {
    this.#inflight = batch;
    this.#editedSinceSend = false;
    this.#notifyState();
    const wire: FileBatch = { opId: batch.opId, baseVersion: batch.baseVersion, ops: batch.ops };
    this.#transport.sendBatch(wire).then(
      (outcome) => this.#settle(batch, outcome),
      (error: unknown) => this.#settle(batch, { ok: false, code: 'transport_error', message: errorMessage(error), retryable: true }),
    );
  }

  #settle(batch: InFlight, outcome: SendOutcome): void {
    if (this.#inflight !== batch || this.#closed) return; // its row already confirmed it
    if (outcome.ok && outcome.outcome === 'applied') return; // confirmed when its row arrives
    if (!outcome.ok && outcome.retryable) {
      this.#logger.warn({ code: outcome.code, opId: batch.opId }, 'file batch not delivered; sending it again');
      this.#retryTimer = this.#timers.set(() => {
        this.#retryTimer = undefined;
        if (this.#inflight === batch && !this.#closed) this.#send(batch);
      }, this.#retryMs);
      return;
    }
    this.#inflight = null;
    this.#enterRescue(batch.baseVersion, batch.baseText);
    const rescue = this.#rescue!;
    if (outcome.ok) {
      rescue.ticketIds.push((outcome as { ticketId: string }).ticketId);
      rescue.waitVersion = Math.max(rescue.waitVersion, (outcome as { headVersion: number }).headVersion);
    } else {
      rescue.failures.push({ code: outcome.code, message: outcome.message });
    }
    this.#advanceRescue();
  }

  #receive(records: readonly FileOpRecord[]): void {
    if (this.#closed) return;
    for (const record of records) if (record.version > this.#version) this.#arrived.set(record.version, record);
    for (let next = this.#arrived.get(this.#version + 1); next; next = this.#arrived.get(this.#version + 1)) {
      this.#arrived.delete(next.version);
      if (this.#desynced !== undefined) return;
      this.#applyRecord(next);
    }
    if (this.#rescue) this.#advanceRescue();
    this.#notifyState();
  }

  #applyRecord(record: FileOpRecord): void {
    const previousHead = this.#head;
    const previousVersion = this.#version;
    try {
      this.#head = applyOpsToText(this.#head, record.ops).text;
    } catch (error) {
      this.#desync(`op ${record.version} does not apply to the head: ${errorMessage(error)}`);
      return;
    }
    this.#version = record.version;
    if (this.#verify && contentHash(this.#head.toString()) !== record.afterHash) {
      this.#desync(`after op ${record.version} the head does not hash to ${record.afterHash}`);
      return;
    }
    const inflight = this.#inflight;
    if (inflight && record.opId === inflight.opId) {
      // Ours, as the world applied it. Without a conflict base already equals the new head.
      this.#inflight = null;
      if (!this.#rescue) {
        // The world rebases exactly as we did, so base already is this head; a difference means a bug.
        if (!this.#base.eq(this.#head)) {
          this.#desync(`op ${record.version} (ours) left the head different from the predicted text`);
          return;
        }
        this.#base = this.#head;
        if (this.#dirty && this.#flushTimer === undefined) this.flush();
      }
      return;
    }
    if (this.#rescue) {
      inflight?.history.push([...record.ops]);
      return;
    }
    this.#mergeRemote(record, previousHead, previousVersion);
  }

  /** Someone else's op: rebase the in-flight and unsent edits over it and show it in the document. */
  #mergeRemote(record: FileOpRecord, previousHead: Text, previousVersion: number): void {
    const ops = record.ops;
    const inflight = this.#inflight;
    let theirsOnBase: readonly LineOp[] = ops;
    if (inflight) {
      inflight.history.push([...ops]);
      const rebased = rebaseLineOps([...inflight.ops], inflight.history);
      const over = rebaseLineOps([...ops], [[...inflight.rebased]]);
      if (!rebased.ok || !over.ok) {
        this.#enterRescue(inflight.baseVersion, inflight.baseText);
        return;
      }
      inflight.rebased = rebased.ops;
      theirsOnBase = over.ops;
    }
    const mine = this.#dirtyOps();
    if (mine.length === 0) {
      const applied = applyOpsToText(this.#base, theirsOnBase);
      this.#base = applied.text;
      this.#dirty = null;
      this.#doc = applied.text;
      this.#undo.mapRemote(applied.changes);
      this.#changeListeners.emit(applied.changes, 'remote');
      return;
    }
    const mineOnHead = rebaseLineOps(mine, [[...theirsOnBase]]);
    const theirsOnDoc = rebaseLineOps([...theirsOnBase], [mine]);
    if (!mineOnHead.ok || !theirsOnDoc.ok) {
      this.#enterRescue(inflight ? inflight.baseVersion : previousVersion, inflight ? inflight.baseText : previousHead);
      return;
    }
    this.#base = applyOpsToText(this.#base, theirsOnBase).text;
    const applied = applyOpsToText(this.#doc, theirsOnDoc.ops);
    this.#doc = applied.text;
    const first = mineOnHead.ops[0]!;
    const last = mineOnHead.ops[mineOnHead.ops.length - 1]!;
    this.#dirty = { start: first.start, suffix: this.#base.lines - (last.start + last.deleteCount) };
    this.#undo.mapRemote(applied.changes);
    this.#changeListeners.emit(applied.changes, 'remote');
  }

  // ---- conflicts ----

  /** Local work collides with the world: freeze the document until the world holds it as a ticket. */
  #enterRescue(anchorVersion: number, anchorText: Text): void {
    if (this.#rescue) return;
    this.#clearFlushTimer();
    this.#rescue = { anchorVersion, anchorText, ticketIds: [], failures: [], waitVersion: 0, sent: false };
    this.#dirty = null;
    this.#notifyState();
  }

  #advanceRescue(): void {
    const rescue = this.#rescue;
    if (!rescue || this.#inflight || this.#closed || this.#desynced !== undefined) return;
    if (!rescue.sent) {
      rescue.sent = true;
      // A ticket for a batch that was all the local work covers it; anything typed since needs its own.
      // A refused batch is not sent again in another form: it would be refused again.
      if (rescue.failures.length === 0 && (rescue.ticketIds.length === 0 || this.#editedSinceSend)) {
        const ops = diffLines(rescue.anchorText.toString(), this.#doc.toString());
        if (ops.length > 0) {
          this.#send({
            opId: this.#newOpId(),
            baseVersion: rescue.anchorVersion,
            baseText: rescue.anchorText,
            ops,
            history: [],
            rebased: ops,
            rescue: true,
          });
          return;
        }
      }
    }
    if (this.#version < rescue.waitVersion) return;
    this.#rescue = null;
    const mine = this.#doc.toString();
    const head = this.#head.toString();
    // A rescue batch that merged cleanly (nothing typed after it) leaves nothing aside.
    const merged = rescue.ticketIds.length === 0 && rescue.failures.length === 0 && !this.#editedSinceSend;
    if (!merged && (mine !== head || rescue.ticketIds.length > 0 || rescue.failures.length > 0)) {
      const conflict: FileConflict = {
        ticketIds: [...rescue.ticketIds],
        failures: [...rescue.failures],
        baseVersion: rescue.anchorVersion,
        base: rescue.anchorText.toString(),
        mine,
        headVersion: this.#version,
        head,
      };
      this.#conflicts.push(conflict);
      this.#conflictListeners.emit(conflict);
    }
    this.#resetToHead(mine, head);
  }

  /** Shows the head again (one change covering what differs), after the local work was set aside. */
  #resetToHead(mine: string, head: string): void {
    this.#undo.clear();
    this.#base = this.#head;
    this.#dirty = null;
    this.#editedSinceSend = false;
    if (mine === head) {
      this.#doc = this.#head;
      this.#notifyState();
      return;
    }
    let prefix = 0;
    const max = Math.min(mine.length, head.length);
    while (prefix < max && mine.charCodeAt(prefix) === head.charCodeAt(prefix)) prefix++;
    let suffix = 0;
    while (suffix < max - prefix && mine.charCodeAt(mine.length - 1 - suffix) === head.charCodeAt(head.length - 1 - suffix)) suffix++;
    this.#doc = this.#head;
    this.#changeListeners.emit([{ from: prefix, to: mine.length - suffix, insert: head.slice(prefix, head.length - suffix) }], 'reset');
    this.#notifyState();
  }

  #desync(reason: string): void {
    this.#desynced = reason;
    this.#logger.error({ reason }, 'file session lost sync with the world');
    this.#clearFlushTimer();
    this.#notifyState();
  }

  #notifyState(): void {
    const state = this.state;
    if (state !== this.#lastState) {
      this.#lastState = state;
      this.#stateListeners.emit(state);
    }
    if (state === 'synced' || state === 'closed' || state === 'desynced') {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
