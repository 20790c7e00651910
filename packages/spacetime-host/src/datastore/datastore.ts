// The in-memory relational store behind the ABI: tables with set semantics, unique constraints,
// sequences and ordered indexes, and one mutable transaction at a time with an undo log.
// Commit yields the transaction's net delta per table (what subscribers and the commit log see).
import type { Catalog, IndexDef, SequenceDef, TableDef } from '../module/catalog';
import { decodeExact, encode } from '../sats/codec';
import { CallInterruptedError, DatastoreError, Errno } from './errors';
import { IndexStore } from './index_store';
import { bytesKey, type StoredRow } from './rows';

export const DEFAULT_MAX_ROW_CHANGES_PER_TX = 1_000_000;

export class TableStore {
  readonly rows = new Map<number, StoredRow>();
  readonly byKey = new Map<string, StoredRow>();
  readonly indexes: IndexStore[];
  readonly uniqueIndexes: IndexStore[];
  constructor(readonly def: TableDef) {
    this.indexes = def.indexes.map((d) => new IndexStore(d));
    this.uniqueIndexes = this.indexes.filter((i) => i.def.unique);
  }
  // `rows` is the source of truth: it changes last on add and first on remove, so a call cut
  // short by the reducer time budget leaves at worst derived structures to rebuild (`rebuild`).
  add(row: StoredRow): void {
    for (const ix of this.indexes) ix.insert(row);
    this.byKey.set(row.key, row);
    this.rows.set(row.id, row);
  }
  remove(row: StoredRow): void {
    this.rows.delete(row.id);
    this.byKey.delete(row.key);
    for (const ix of this.indexes) ix.remove(row);
  }
  /** Replace `prev` by `next` (an update): unique indexes whose key did not change keep their slot. */
  replace(prev: StoredRow, next: StoredRow): void {
    for (const ix of this.indexes) ix.replace(prev, next);
    this.byKey.delete(prev.key);
    this.byKey.set(next.key, next);
    this.rows.delete(prev.id);
    this.rows.set(next.id, next);
  }

  /** Bulk loading (recovery): rows and keys only; call `rebuild` once at the end. */
  addUnindexed(row: StoredRow): void {
    this.byKey.set(row.key, row);
    this.rows.set(row.id, row);
  }

  removeUnindexed(row: StoredRow): void {
    this.rows.delete(row.id);
    this.byKey.delete(row.key);
  }

  /** Recreate the key map and indexes from `rows`. */
  rebuild(): void {
    this.byKey.clear();
    for (const row of this.rows.values()) this.byKey.set(row.key, row);
    for (const ix of this.indexes) ix.rebuildFrom(this.rows.values());
  }
}

type UndoEntry = { op: 'insert'; table: TableStore; row: StoredRow } | { op: 'delete'; table: TableStore; row: StoredRow };

/**
 * Reverse a transaction's changes, newest first. `unindexed`: touch only rows and keys (the caller
 * rebuilds the indexes), for undoing work that may have been cut short inside an index update.
 */
function undoLog(log: UndoEntry[], unindexed = false): void {
  for (let i = log.length - 1; i >= 0; i--) {
    const e = log[i]!;
    // Entries are logged before the change is made, so an interrupted change may be half-done.
    if (e.op === 'insert') {
      if (e.table.rows.get(e.row.id) === e.row) {
        if (unindexed) e.table.removeUnindexed(e.row);
        else e.table.remove(e.row);
      }
    } else if (!e.table.rows.has(e.row.id)) {
      if (unindexed) e.table.addUnindexed(e.row);
      else e.table.add(e.row);
    }
  }
}

export interface TableDelta {
  table: TableDef;
  inserts: StoredRow[];
  deletes: StoredRow[];
}

export interface CommitResult {
  /** Net change per table that changed (persistent tables), in table id order. */
  tables: TableDelta[];
  /** Rows inserted into event tables during the transaction (gone after commit). */
  events: TableDelta[];
  /** Sequence values after the transaction, for durability. */
  empty: boolean;
}

interface SequenceState {
  def: SequenceDef;
  next: bigint;
}

export class Datastore {
  readonly tables: TableStore[];
  private readonly sequences = new Map<TableStore, SequenceState[]>();
  private readonly indexById: { table: TableStore; index: IndexStore }[] = [];
  private nextRowId = 1;
  private undo: UndoEntry[] | null = null;
  /** While a batch runs: the undo logs of its committed transactions, so the batch can be undone. */
  private batchLogs: UndoEntry[][] | null = null;

  /** Row changes one transaction may make (documented limit); past it the transaction fails. */
  maxRowChangesPerTx = DEFAULT_MAX_ROW_CHANGES_PER_TX;
  /** Set when the open transaction hit a host limit, so the caller can be told which. */
  limitExceeded: string | undefined;

  constructor(readonly catalog: Catalog) {
    this.tables = catalog.tables.map((def) => new TableStore(def));
    for (const t of this.tables) {
      this.sequences.set(
        t,
        t.def.sequences.map((def) => ({ def, next: def.start })),
      );
      for (const ix of t.indexes) this.indexById[ix.def.id] = { table: t, index: ix };
    }
  }

  get inTransaction(): boolean {
    return this.undo !== null;
  }

  table(id: number): TableStore {
    const t = this.tables[id];
    if (!t) throw new DatastoreError(Errno.NO_SUCH_TABLE);
    return t;
  }

  tableByName(name: string): TableStore | undefined {
    const def = this.catalog.tableByName.get(name);
    return def ? this.tables[def.id] : undefined;
  }

  index(id: number): { table: TableStore; index: IndexStore } {
    const ix = this.indexById[id];
    if (!ix) throw new DatastoreError(Errno.NO_SUCH_INDEX);
    return ix;
  }

  indexDef(id: number): IndexDef {
    return this.index(id).index.def;
  }

  // ---- transactions ----

  begin(): void {
    if (this.undo) throw new DatastoreError(Errno.WOULD_BLOCK_TRANSACTION, 'a transaction is already open');
    this.undo = [];
    this.limitExceeded = undefined;
  }

  private requireTx(): UndoEntry[] {
    if (!this.undo) throw new DatastoreError(Errno.NOT_IN_TRANSACTION);
    return this.undo;
  }

  /** The open transaction's log, refusing a change past the per-transaction limit. */
  private requireRoom(): UndoEntry[] {
    const log = this.requireTx();
    if (log.length >= this.maxRowChangesPerTx) {
      this.limitExceeded = `transaction exceeds the limit of ${this.maxRowChangesPerTx} row changes`;
      throw new DatastoreError(Errno.HOST_CALL_FAILURE, this.limitExceeded);
    }
    return log;
  }

  /**
   * Roll back the open transaction after `error` ended it. A call interrupted mid-change
   * (CallInterruptedError) may have left derived structures half updated: those are rebuilt too.
   */
  rollbackAfter(error: unknown): void {
    this.rollback();
    if (error instanceof CallInterruptedError) for (const t of this.tables) t.rebuild();
  }

  rollback(): void {
    undoLog(this.requireTx());
    this.undo = null;
  }

  // ---- batches: several transactions that can still be undone together ----

  /** Start keeping the undo logs of committed transactions (see ModuleHost.runBatch). */
  beginBatch(): void {
    if (this.undo || this.batchLogs) throw new DatastoreError(Errno.WOULD_BLOCK_TRANSACTION, 'a transaction or batch is already open');
    this.batchLogs = [];
  }

  /** The batch's transactions stay committed. */
  endBatch(): void {
    this.batchLogs = null;
  }

  /**
   * Undo the open transaction and every transaction committed since `beginBatch`, then rebuild the
   * derived structures: the batch may have been cut short anywhere, even inside a commit.
   * Undoing an entry twice is harmless (each undo checks the row's presence), which covers a
   * commit cut short between keeping its log and closing the transaction.
   */
  abortBatch(): void {
    if (this.undo) undoLog(this.undo, true);
    const logs = this.batchLogs ?? [];
    for (let i = logs.length - 1; i >= 0; i--) undoLog(logs[i]!, true);
    this.undo = null;
    this.batchLogs = null;
    for (const t of this.tables) t.rebuild();
  }

  /** Net delta of the open transaction so far, without ending it (views refresh against it). */
  pendingDelta(): CommitResult {
    const log = this.requireTx();
    const perTable = new Map<TableStore, { ins: Map<string, StoredRow>; del: Map<string, StoredRow> }>();
    for (const e of log) {
      let d = perTable.get(e.table);
      if (!d) perTable.set(e.table, (d = { ins: new Map(), del: new Map() }));
      if (e.op === 'insert') {
        // Delete-then-reinsert of identical bytes cancels out.
        if (d.del.has(e.row.key)) d.del.delete(e.row.key);
        else d.ins.set(e.row.key, e.row);
      } else if (d.ins.has(e.row.key)) d.ins.delete(e.row.key);
      else d.del.set(e.row.key, e.row);
    }
    const tables: TableDelta[] = [];
    const events: TableDelta[] = [];
    for (const t of this.tables) {
      const d = perTable.get(t);
      if (!d || (d.ins.size === 0 && d.del.size === 0)) continue;
      const delta = { table: t.def, inserts: [...d.ins.values()], deletes: [...d.del.values()] };
      if (t.def.isEvent) {
        if (delta.inserts.length) events.push({ ...delta, deletes: [] });
      } else tables.push(delta);
    }
    return { tables, events, empty: tables.length === 0 && events.length === 0 };
  }

  commit(): CommitResult {
    const result = this.pendingDelta();
    // Event rows live only inside their transaction.
    for (const ev of result.events) {
      const t = this.tables[ev.table.id]!;
      for (const row of ev.inserts) if (t.rows.get(row.id) === row) t.remove(row);
    }
    this.batchLogs?.push(this.undo!);
    this.undo = null;
    return result;
  }

  // ---- row operations (inside a transaction) ----

  decodeRow(table: TableStore, bytes: Uint8Array): unknown[] {
    try {
      return decodeExact(table.def.rowTy, bytes) as unknown[];
    } catch (e) {
      throw new DatastoreError(Errno.BSATN_DECODE_ERROR, `row of table ${table.def.name}: ${(e as Error).message}`);
    }
  }

  /** Allocate sequence values for sentinel (zero) columns; returns the generated columns in column order. */
  private applySequences(table: TableStore, value: unknown[]): number[] {
    const seqs = this.sequences.get(table)!;
    const generated: number[] = [];
    for (const s of seqs) {
      const cur = value[s.def.col];
      const isZero = typeof cur === 'bigint' ? cur === 0n : cur === 0;
      if (!isZero) continue;
      const v = s.next;
      if (v > s.def.max || v < s.def.min) throw new DatastoreError(Errno.AUTO_INC_OVERFLOW, `sequence ${s.def.name} is exhausted`);
      s.next = v + s.def.increment; // allocations survive rollback: ids are never reused
      value[s.def.col] = typeof cur === 'bigint' ? v : Number(v);
      generated.push(s.def.col);
    }
    return generated.sort((a, b) => a - b);
  }

  /** Sequence state for persistence. */
  sequenceSnapshot(): { table: string; col: number; next: bigint }[] {
    const out: { table: string; col: number; next: bigint }[] = [];
    for (const [t, seqs] of this.sequences) for (const s of seqs) out.push({ table: t.def.name, col: s.def.col, next: s.next });
    return out;
  }

  restoreSequence(table: string, col: number, next: bigint): void {
    const t = this.tableByName(table);
    const s = t && this.sequences.get(t)?.find((x) => x.def.col === col);
    if (s && next > s.next) s.next = next;
  }

  private makeRow(table: TableStore, value: unknown[]): StoredRow {
    const bytes = encode(table.def.rowTy, value);
    return { id: this.nextRowId++, bytes, value, key: bytesKey(bytes) };
  }

  private checkUnique(table: TableStore, row: StoredRow, except?: StoredRow): void {
    for (const ix of table.uniqueIndexes) {
      if (ix.findOther(ix.keyOf(row), except)) {
        throw new DatastoreError(
          Errno.UNIQUE_ALREADY_EXISTS,
          `duplicate key in unique index ${ix.def.name} of table ${table.def.name}`,
        );
      }
    }
  }

  /** Insert a decoded row (sentinels filled from sequences). Returns the stored row and generated columns. */
  insert(table: TableStore, value: unknown[]): { row: StoredRow; generated: number[] } {
    const log = this.requireRoom();
    const generated = this.applySequences(table, value);
    const row = this.makeRow(table, value);
    const existing = table.byKey.get(row.key);
    if (existing) return { row: existing, generated }; // set semantics: identical row is a no-op
    this.checkUnique(table, row);
    log.push({ op: 'insert', table, row });
    table.add(row);
    return { row, generated };
  }

  delete(table: TableStore, row: StoredRow): void {
    const log = this.requireRoom();
    if (table.rows.get(row.id) !== row) return;
    log.push({ op: 'delete', table, row });
    table.remove(row);
  }

  /** Replace the row matching `value` on unique index `index` with `value`. */
  update(index: IndexStore, table: TableStore, value: unknown[]): { row: StoredRow; generated: number[] } {
    this.requireRoom();
    if (!index.def.unique) throw new DatastoreError(Errno.INDEX_NOT_UNIQUE, `index ${index.def.name} is not unique`);
    const generated = this.applySequences(table, value);
    const key = index.def.columns.map((c) => value[c]);
    const old = index.point(key)[0];
    if (!old) throw new DatastoreError(Errno.NO_SUCH_ROW, `no row in ${table.def.name} with that ${index.def.name} key`);
    const row = this.makeRow(table, value);
    if (row.key === old.key) return { row: old, generated };
    this.checkUnique(table, row, old);
    const twin = table.byKey.get(row.key);
    if (twin) {
      this.delete(table, old);
      return { row: twin, generated }; // the new value already exists: the update merges into it
    }
    const log = this.requireRoom();
    log.push({ op: 'delete', table, row: old });
    log.push({ op: 'insert', table, row });
    table.replace(old, row);
    return { row, generated };
  }

  clear(table: TableStore): number {
    this.requireTx();
    const rows = [...table.rows.values()];
    for (const r of rows) this.delete(table, r);
    return rows.length;
  }

  /**
   * Insert a row outside the module (recovery, system writes) with its exact bytes. With
   * `indexed: false` (bulk recovery) indexes are left for one `TableStore.rebuild` at the end.
   */
  restoreRow(table: TableStore, bytes: Uint8Array, opts: { indexed?: boolean } = {}): StoredRow {
    const value = this.decodeRow(table, bytes);
    const row = { id: this.nextRowId++, bytes, value, key: bytesKey(bytes) };
    if (!table.byKey.has(row.key)) {
      if (opts.indexed === false) table.addUnindexed(row);
      else table.add(row);
    }
    return row;
  }
}
