// ModuleHost: one database running one module. It owns the realm, the datastore and the
// catalog; runs reducers, lifecycle hooks, procedures, schedules and views one at a time, each
// in its own transaction; and publishes every commit (net table deltas, event rows, view
// deltas) to listeners such as the subscription manager.
import pino, { type Logger } from 'pino';
import { Datastore, type CommitResult, type TableDelta } from '../datastore/datastore';
import { DatastoreError, Errno } from '../datastore/errors';
import { Reader, decodeValue } from '../sats/codec';
import { Abi } from './abi';
import { bundleModule, type ModuleBundle } from './bundle';
import { buildCatalog, type Catalog, type ProcedureDef, type ReducerDef, type ViewDef } from './catalog';
import { decodeRawModuleDef } from './rawdef';
import { evaluateModule, ReducerTimeoutError, type LoadedRealm, type ModuleHooks } from './realm';
import { Scheduler } from './scheduler';
import { ViewCache, type ViewDelta, type ViewHandle, type ViewInstance, type ViewRow } from './views';

export { ViewInstance, type ViewDelta, type ViewHandle, type ViewRow } from './views';

/** Default time budget of one reducer, view or procedure call. */
export const DEFAULT_CALL_BUDGET_MS = 5000;

export const INTERNAL_ERROR_TEXT = 'The instance encountered a fatal error.';

export interface Caller {
  identity: bigint;
  /** 0n = no connection (scheduled and system calls). */
  connectionId: bigint;
}

export interface CommitEvent {
  /** Monotonic transaction number within this host process. */
  txId: number;
  timestamp: bigint;
  /** The reducer call that produced the transaction, if any (procedures and schedule cleanup have none). */
  reducer: { def: ReducerDef; args: Uint8Array; caller: Caller } | undefined;
  tables: TableDelta[];
  events: TableDelta[];
  views: ViewDelta[];
}

export type ClientEvent =
  | { kind: 'connect'; connectionId: bigint; identity: bigint; jwtPayload: string }
  | { kind: 'disconnect'; connectionId: bigint };

export type CallOutcome =
  | { kind: 'committed'; timestamp: bigint; commit: CommitEvent }
  | { kind: 'user_error'; timestamp: bigint; message: string }
  | { kind: 'internal_error'; timestamp: bigint; message: string; detail: string };

export type ProcedureOutcome =
  | { kind: 'returned'; timestamp: bigint; durationMicros: bigint; value: Uint8Array }
  | { kind: 'internal_error'; timestamp: bigint; durationMicros: bigint; message: string };

/**
 * Told when a batch starts and how it ends. Commit listeners that act outside memory (sockets,
 * files) must hold back what a batch produces until `end(true)` and drop it on `end(false)`:
 * an aborted batch never happened.
 */
export interface BatchListener {
  begin(): void;
  end(kept: boolean): void;
}

export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ModuleHostOptions {
  module: string | ModuleBundle;
  name: string;
  databaseIdentity: bigint;
  ownerIdentity?: bigint;
  logger?: Logger;
  now?: () => bigint;
  /** Time budget per module call in ms (default 5000; 0 = unlimited). A call past it is stopped and rolled back. */
  callBudgetMs?: number;
  /** Row changes one transaction may make (default 1 000 000). */
  maxRowChangesPerTx?: number;
  /** Evaluates a view's RawSql result (module query builder) against committed state + the open tx. */
  rawSqlView?: (host: ModuleHost, view: ViewDef, sender: bigint | null, sql: string) => ViewRow[];
}

export class ModuleHost {
  readonly catalog: Catalog;
  readonly datastore: Datastore;
  readonly logger: Logger;
  private readonly realm: LoadedRealm;
  private hooksReady = false;
  private readonly clients = new Map<bigint, { identity: bigint; jwtPayload: string }>();
  private readonly listeners = new Set<(c: CommitEvent) => void>();
  private readonly clientListeners = new Set<(e: ClientEvent) => void>();
  private readonly batchListeners = new Set<BatchListener>();
  private inBatch = false;
  private readonly views: ViewCache;
  private readonly scheduler: Scheduler;
  private readonly immediateQueue: { name: string; args: Uint8Array }[] = [];
  private nextTxId = 1;
  private lastTimestamp = 0n;
  private runningFunction: string | undefined;
  private procedureTx: { timestamp: bigint } | undefined;
  private closed = false;

  static async create(opts: ModuleHostOptions): Promise<ModuleHost> {
    const bundle = typeof opts.module === 'string' ? await bundleModule(opts.module) : opts.module;
    return new ModuleHost(bundle, opts);
  }

  private constructor(
    readonly bundle: ModuleBundle,
    private readonly opts: ModuleHostOptions,
  ) {
    this.logger = opts.logger ?? pino({ level: 'silent' });
    // The ABI exists before the datastore (the module is evaluated first); it sees none until then.
    const ref: { datastore?: Datastore } = {};
    const abi = new Abi({
      get datastore() {
        return ref.datastore;
      },
      logger: this.logger,
      hooks: () => (this.hooksReady ? this.realm.hooks : undefined),
      databaseIdentity: () => opts.databaseIdentity,
      jwtPayload: (cid) => this.clients.get(cid)?.jwtPayload,
      currentFunction: () => this.runningFunction,
      scheduleImmediate: (name, args) => this.enqueueImmediate(name, args),
      checkScheduleRow: (table, row) => this.scheduler.check(table, row),
      procedureStartTx: () => this.procedureStartTx(),
      procedureCommitTx: () => this.procedureCommitTx(),
      procedureAbortTx: () => this.procedureAbortTx(),
    });
    this.realm = evaluateModule(bundle, abi.syscalls());
    this.catalog = buildCatalog(decodeRawModuleDef(this.realm.hooks.__describe_module__()));
    ref.datastore = this.datastore = new Datastore(this.catalog);
    if (opts.maxRowChangesPerTx) this.datastore.maxRowChangesPerTx = opts.maxRowChangesPerTx;
    this.views = new ViewCache((inst) => this.viewRowsBetweenTransactions(inst));
    this.scheduler = new Scheduler({
      datastore: this.datastore,
      logger: this.logger,
      databaseIdentity: opts.databaseIdentity,
      now: () => this.now(),
      reducerByName: (name) => this.catalog.reducerByName.get(name),
      runReducer: (def, args, caller, timestamp) => this.runReducer(def, args, caller, timestamp),
      callProcedure: (name, args, caller, o) => this.callProcedure(name, args, caller, o),
      transact: (name, body) => this.transact(name, this.now(), undefined, body),
      drainImmediate: () => this.drainImmediate(),
    });
    this.hooksReady = true;
  }

  private invoke<T>(fn: () => T): T {
    return this.realm.invoke(fn, this.callBudgetMs);
  }

  /** Time budget of one module call (and of one batch) in ms; 0 = unlimited. */
  get callBudgetMs(): number {
    return this.opts.callBudgetMs ?? DEFAULT_CALL_BUDGET_MS;
  }

  onBatch(listener: BatchListener): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  /**
   * Run `work` — several calls, each its own transaction — under ONE call budget. Starting the
   * realm's watchdog costs a thread per entry (tens of µs, far more on a busy machine), which
   * dominated the host's time when paid per call. If the budget runs out anywhere in the batch
   * (inside a module call, a commit, or a listener), everything the batch did is undone:
   * datastore, views, schedules, immediate calls, and what listeners held back. The caller then
   * re-runs the calls one by one, each with its own budget, so only a real runaway fails.
   */
  runBatch<T>(work: () => T): BatchOutcome<T> {
    if (this.inBatch || this.datastore.inTransaction) throw new Error('runBatch: a batch or transaction is already open');
    const txMark = this.nextTxId;
    const immediateMark = this.immediateQueue.length;
    this.datastore.beginBatch();
    this.inBatch = true;
    for (const l of this.batchListeners) l.begin();
    try {
      const value = this.realm.invoke(work, this.callBudgetMs);
      this.datastore.endBatch();
      this.inBatch = false;
      for (const l of this.batchListeners) l.end(true);
      return { ok: true, value };
    } catch (e) {
      if (!(e instanceof ReducerTimeoutError)) {
        // `work` handles its calls' errors; anything else is a host bug. Keep what committed.
        this.datastore.endBatch();
        this.inBatch = false;
        for (const l of this.batchListeners) l.end(true);
        throw e;
      }
      this.datastore.abortBatch();
      this.inBatch = false;
      this.nextTxId = txMark;
      this.immediateQueue.length = Math.min(this.immediateQueue.length, immediateMark);
      this.runningFunction = undefined;
      this.procedureTx = undefined;
      for (const l of this.batchListeners) l.end(false);
      // Timers and view contents may reflect undone transactions: rebuild both from the tables.
      this.scheduler.reset();
      this.views.rematerialize((inst) => {
        try {
          return this.viewRowsBetweenTransactions(inst);
        } catch (err) {
          this.logger.error({ view: inst.def.name }, `view ${inst.def.name} could not be recomputed: ${this.describeError(err)}`);
          return undefined;
        }
      });
      this.logger.info(`a batch of calls ran past the ${this.callBudgetMs} ms budget and was undone; its calls run again one by one`);
      return { ok: false, reason: e.message };
    }
  }

  get hooks(): ModuleHooks {
    return this.realm.hooks;
  }

  get databaseIdentity(): bigint {
    return this.opts.databaseIdentity;
  }

  get ownerIdentity(): bigint {
    return this.opts.ownerIdentity ?? this.opts.databaseIdentity;
  }

  onCommit(listener: (c: CommitEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connections registered and removed (the durable log records them, to clear stale ones after a crash). */
  onClientEvent(listener: (e: ClientEvent) => void): () => void {
    this.clientListeners.add(listener);
    return () => this.clientListeners.delete(listener);
  }

  private emitClientEvent(e: ClientEvent): void {
    for (const l of this.clientListeners) l(e);
  }

  /** The id the next committed transaction gets (continues across restarts). */
  get txCounter(): number {
    return this.nextTxId;
  }

  setTxCounter(next: number): void {
    this.nextTxId = next;
  }

  private now(): bigint {
    const t = this.opts.now ? this.opts.now() : BigInt(Date.now()) * 1000n;
    this.lastTimestamp = t > this.lastTimestamp ? t : this.lastTimestamp;
    return this.lastTimestamp;
  }

  // ---- initialisation ----

  /** Run `init` for a fresh database (not on restarts). */
  initialize(): CallOutcome | undefined {
    const init = this.catalog.reducers.find((r) => r.lifecycle === 'init');
    const outcome = init ? this.runReducer(init, new Uint8Array(0), { identity: this.ownerIdentity, connectionId: 0n }) : undefined;
    this.scheduler.armAll();
    return outcome;
  }

  /** Reopen a recovered database: schedules come back from their tables; init does not run again. */
  resume(): void {
    this.scheduler.armAll();
  }

  // ---- reducers ----

  private describeError(e: unknown): string {
    if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
    try {
      return String(e);
    } catch {
      return 'unprintable error';
    }
  }

  private isSenderError(e: unknown): boolean {
    const cls = this.realm.hooks.__sender_error_class__;
    return typeof e === 'object' && e !== null && e instanceof cls;
  }

  /** Run `body` in a fresh transaction; commit (with view refresh) on success, roll back on a throw. */
  private transact(
    fnName: string,
    timestamp: bigint,
    reducer: CommitEvent['reducer'],
    body: () => void,
  ): CallOutcome {
    if (this.datastore.inTransaction) throw new Error('transaction already open');
    this.datastore.begin();
    this.runningFunction = fnName;
    try {
      body();
    } catch (e) {
      this.runningFunction = undefined;
      if (e instanceof ReducerTimeoutError) {
        this.datastore.rollbackAfter(e);
        this.logger.error({ function: fnName }, `${fnName}: ${e.message}; its transaction was rolled back`);
        return { kind: 'internal_error', timestamp, message: `${fnName}: ${e.message}`, detail: e.message };
      }
      const limit = this.datastore.limitExceeded;
      this.datastore.rollback();
      if (this.isSenderError(e)) return { kind: 'user_error', timestamp, message: String((e as Error).message) };
      const detail = this.describeError(e);
      if (limit) {
        this.logger.warn({ function: fnName }, `${fnName}: ${limit}`);
        return { kind: 'internal_error', timestamp, message: `${fnName}: ${limit}`, detail };
      }
      this.logger.error({ function: fnName }, `reducer ${fnName} failed: ${detail}`);
      return { kind: 'internal_error', timestamp, message: INTERNAL_ERROR_TEXT, detail };
    }
    let commit: CommitEvent;
    try {
      commit = this.finishTransaction(timestamp, reducer);
    } catch (e) {
      // A view that throws while refreshing fails the whole transaction, as upstream does.
      if (this.datastore.inTransaction) this.datastore.rollbackAfter(e);
      const detail = this.describeError(e);
      this.logger.error({ function: fnName }, `transaction of ${fnName} failed while refreshing views: ${detail}`);
      return { kind: 'internal_error', timestamp, message: INTERNAL_ERROR_TEXT, detail };
    } finally {
      this.runningFunction = undefined;
    }
    return { kind: 'committed', timestamp, commit };
  }

  /** Refresh views, commit, re-arm schedules, notify listeners. */
  private finishTransaction(timestamp: bigint, reducer: CommitEvent['reducer']): CommitEvent {
    const pending = this.datastore.pendingDelta();
    const refresh = pending.empty ? undefined : this.views.refresh((inst) => this.computeView(inst));
    const result: CommitResult = this.datastore.commit();
    const views = refresh?.deltas ?? [];
    const commit: CommitEvent = { txId: this.nextTxId++, timestamp, reducer, tables: result.tables, events: result.events, views };
    refresh?.apply();
    this.scheduler.rearm(result.tables);
    for (const l of this.listeners) {
      try {
        l(commit);
      } catch (e) {
        this.logger.error({ err: e }, 'commit listener failed');
      }
    }
    return commit;
  }

  runReducer(def: ReducerDef, args: Uint8Array, caller: Caller, timestamp = this.now()): CallOutcome {
    const hooks = this.realm.hooks;
    const copy = new ArrayBuffer(args.length);
    new Uint8Array(copy).set(args);
    const view = new this.realm.DataView(copy);
    return this.transact(def.name, timestamp, { def, args, caller }, () => {
      const ret = this.invoke(() => hooks.__call_reducer__(def.id, caller.identity, caller.connectionId, timestamp, view));
      if (ret !== undefined) throw new TypeError('Reducer returned a value other than `undefined`');
    });
  }

  /** A client's CallReducer: by canonical or source name; lifecycle/scheduled reducers are refused. */
  callReducer(
    name: string,
    args: Uint8Array,
    caller: Caller,
  ): CallOutcome | { kind: 'refused'; timestamp: bigint; message: string } {
    const def = this.catalog.reducerByName.get(name);
    const timestamp = this.now();
    if (!def) return { kind: 'refused', timestamp, message: `no such reducer: ${name}` };
    if (def.lifecycle) return { kind: 'refused', timestamp, message: `can't directly call special ${def.lifecycle} lifecycle reducer ${def.name}` };
    if (!def.clientCallable && caller.identity !== this.ownerIdentity) return { kind: 'refused', timestamp, message: `no such reducer: ${name}` };
    try {
      const r = new Reader(args);
      decodeValue(def.paramsTy, r);
      if (r.remaining) throw new Error(`${r.remaining} trailing bytes`);
    } catch (e) {
      return { kind: 'refused', timestamp, message: `invalid arguments for reducer ${def.name}: ${(e as Error).message}` };
    }
    const outcome = this.runReducer(def, args, caller, timestamp);
    this.drainImmediate();
    return outcome;
  }

  // ---- connections ----

  /** Register a connection and run on_connect; a failure refuses the connection. */
  connectClient(identity: bigint, connectionId: bigint, jwtPayload: string): CallOutcome | undefined {
    this.clients.set(connectionId, { identity, jwtPayload });
    const def = this.catalog.reducers.find((r) => r.lifecycle === 'on_connect');
    const outcome = def ? this.runReducer(def, new Uint8Array(0), { identity, connectionId }) : undefined;
    if (outcome && outcome.kind !== 'committed') this.clients.delete(connectionId);
    else this.emitClientEvent({ kind: 'connect', connectionId, identity, jwtPayload });
    return outcome;
  }

  /** After a crash: a connection recorded as open is gone; run on_disconnect for it, as upstream does. */
  clearStaleClient(identity: bigint, connectionId: bigint, jwtPayload: string): void {
    this.clients.set(connectionId, { identity, jwtPayload });
    this.disconnectClient(identity, connectionId);
  }

  disconnectClient(identity: bigint, connectionId: bigint): void {
    if (!this.clients.has(connectionId)) return;
    const def = this.catalog.reducers.find((r) => r.lifecycle === 'on_disconnect');
    if (def && !this.closed) this.runReducer(def, new Uint8Array(0), { identity, connectionId });
    this.clients.delete(connectionId);
    this.emitClientEvent({ kind: 'disconnect', connectionId });
  }

  connectedClients(): { identity: bigint; connectionId: bigint }[] {
    return [...this.clients].map(([connectionId, c]) => ({ identity: c.identity, connectionId }));
  }

  // ---- procedures ----

  /** `internal`: a call by the host itself (a schedule), allowed to run private procedures. */
  callProcedure(name: string, args: Uint8Array, caller: Caller, opts: { internal?: boolean } = {}): ProcedureOutcome {
    const started = this.now();
    const def: ProcedureDef | undefined = this.catalog.procedureByName.get(name);
    const fail = (message: string): ProcedureOutcome => ({ kind: 'internal_error', timestamp: 0n, durationMicros: 0n, message });
    if (!def || (!def.clientCallable && !opts.internal && caller.identity !== this.ownerIdentity)) return fail(`no such procedure: ${name}`);
    try {
      const r = new Reader(args);
      decodeValue(def.paramsTy, r);
      if (r.remaining) throw new Error(`${r.remaining} trailing bytes`);
    } catch (e) {
      return fail(`invalid arguments for procedure ${def.name}: ${(e as Error).message}`);
    }
    this.runningFunction = def.name;
    const t0 = process.hrtime.bigint();
    let failure: unknown;
    try {
      const value = this.invoke(() => this.realm.hooks.__call_procedure__(def.id, caller.identity, caller.connectionId, started, new Uint8Array(args)));
      return { kind: 'returned', timestamp: started, durationMicros: (process.hrtime.bigint() - t0) / 1000n, value: new Uint8Array(value) };
    } catch (e) {
      failure = e;
      const detail = this.describeError(e);
      this.logger.error({ function: def.name }, `procedure ${def.name} failed: ${detail}`);
      return { kind: 'internal_error', timestamp: started, durationMicros: (process.hrtime.bigint() - t0) / 1000n, message: e instanceof Error ? e.message : String(e) };
    } finally {
      if (this.procedureTx || this.datastore.inTransaction) {
        this.datastore.rollbackAfter(failure);
        this.procedureTx = undefined;
      }
      this.runningFunction = undefined;
      this.drainImmediate();
    }
  }

  private procedureStartTx(): bigint {
    if (this.procedureTx || this.datastore.inTransaction) throw new DatastoreError(Errno.WOULD_BLOCK_TRANSACTION);
    const timestamp = this.now();
    this.datastore.begin();
    this.procedureTx = { timestamp };
    return timestamp;
  }

  private procedureCommitTx(): void {
    if (!this.procedureTx) throw new DatastoreError(Errno.TRANSACTION_NOT_ANONYMOUS);
    const { timestamp } = this.procedureTx;
    this.procedureTx = undefined;
    try {
      this.finishTransaction(timestamp, undefined);
    } catch (e) {
      if (this.datastore.inTransaction) this.datastore.rollbackAfter(e);
      throw e;
    }
  }

  private procedureAbortTx(): void {
    if (!this.procedureTx) throw new DatastoreError(Errno.TRANSACTION_NOT_ANONYMOUS);
    this.procedureTx = undefined;
    this.datastore.rollback();
  }

  // ---- views ----

  /** Take a handle on a view instance (materialised between transactions on first use); release it when done. */
  acquireView(def: ViewDef, sender: bigint): ViewHandle {
    return this.views.acquire(def, sender);
  }

  /** A view's rows computed in a throwaway transaction (views write nothing, but may be cut short). */
  private viewRowsBetweenTransactions(inst: ViewInstance): ViewRow[] {
    this.datastore.begin();
    let failure: unknown;
    try {
      return this.computeView(inst);
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      this.datastore.rollbackAfter(failure);
    }
  }

  private computeView(inst: ViewInstance): ViewRow[] {
    const { def } = inst;
    const hooks = this.realm.hooks;
    const prev = this.runningFunction;
    this.runningFunction = def.name;
    try {
      const out = this.invoke(() =>
        def.isAnonymous ? hooks.__call_view_anon__(def.hookIndex, new Uint8Array(0)) : hooks.__call_view__(def.hookIndex, inst.sender!, new Uint8Array(0)),
      );
      const data: Uint8Array = out instanceof Uint8Array || ArrayBuffer.isView(out) ? (out as Uint8Array) : (out as { data: Uint8Array }).data;
      const r = new Reader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      const header = r.u8();
      if (header === 1) {
        const sql = r.string();
        if (!this.opts.rawSqlView) throw new Error(`view ${def.name} returned a query, which this host cannot evaluate`);
        return this.opts.rawSqlView(this, def, inst.sender, sql);
      }
      if (header !== 0) throw new Error(`view ${def.name} returned an unknown result header ${header}`);
      const n = r.u32();
      const rows: ViewRow[] = [];
      for (let i = 0; i < n; i++) {
        const start = r.offset;
        const value = decodeValue(def.rowTy, r) as unknown[];
        rows.push({ bytes: r.bytes.slice(start, r.offset), value });
      }
      return rows;
    } finally {
      this.runningFunction = prev;
    }
  }

  private enqueueImmediate(name: string, args: Uint8Array): void {
    this.immediateQueue.push({ name, args });
  }

  private drainImmediate(): void {
    if (!this.immediateQueue.length) return;
    setImmediate(() => {
      while (this.immediateQueue.length && !this.closed) {
        const { name, args } = this.immediateQueue.shift()!;
        const def = this.catalog.reducerByName.get(name);
        if (!def) {
          this.logger.warn(`volatile_nonatomic_schedule_immediate: no such reducer ${name}`);
          continue;
        }
        this.runReducer(def, args, { identity: this.databaseIdentity, connectionId: 0n });
      }
    });
  }

  close(): void {
    this.closed = true;
    this.scheduler.close();
  }
}
