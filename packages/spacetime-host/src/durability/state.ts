// Operations on a datastore's persistent state: capture for snapshots, apply log records on
// replay, and a deterministic state hash (tables by name, rows in primary-key order).
import { createHash } from 'node:crypto';
import type { Datastore } from '../datastore/datastore';
import type { StoredRow } from '../datastore/rows';
import { bytesKey } from '../datastore/rows';
import { compareValues } from '../sats/compare';
import type { LogRecord, SequenceState } from './records';

export function captureTables(ds: Datastore): { table: string; rows: Uint8Array[] }[] {
  return ds.tables.filter((t) => !t.def.isEvent).map((t) => ({ table: t.def.name, rows: [...t.rows.values()].map((r) => r.bytes) }));
}

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** Turns stored row bytes into the current row layout (appends defaults of columns added since). */
export type RowUpgrade = (table: string, bytes: Uint8Array) => Uint8Array;
const asIs: RowUpgrade = (_t, b) => b;

export function restoreTables(ds: Datastore, tables: { table: string; rows: Uint8Array[] }[], upgrade: RowUpgrade = asIs): void {
  for (const t of tables) {
    const store = ds.tableByName(t.table);
    if (!store) throw new ReplayError(`snapshot has rows for table ${t.table}, which the module no longer defines`);
    for (const r of t.rows) ds.restoreRow(store, upgrade(t.table, r), { indexed: false });
  }
}

export function restoreSequences(ds: Datastore, seqs: SequenceState[]): void {
  for (const s of seqs) ds.restoreSequence(s.table, s.col, s.next);
}

/**
 * Apply one committed transaction's mutations exactly (deletes by row bytes, then inserts), to rows
 * and keys only: recovery rebuilds every index once at the end (`rebuildIndexes`).
 */
export function replayTx(ds: Datastore, rec: Extract<LogRecord, { kind: 'tx' }>, upgrade: RowUpgrade = asIs): void {
  for (const m of rec.tables) {
    const store = ds.tableByName(m.table);
    if (!store) throw new ReplayError(`log record ${rec.txId} writes table ${m.table}, which the module no longer defines`);
    for (const d of m.deletes) {
      const row = store.byKey.get(bytesKey(upgrade(m.table, d)));
      if (!row) throw new ReplayError(`log record ${rec.txId} deletes a row of ${m.table} that does not exist`);
      store.removeUnindexed(row);
    }
    for (const i of m.inserts) ds.restoreRow(store, upgrade(m.table, i), { indexed: false });
  }
  restoreSequences(ds, rec.sequences);
}

/** sha256 over every persistent table (by name) and its rows in primary-key order (else byte order). */
export function stateHash(ds: Datastore): string {
  const h = createHash('sha256');
  const tables = ds.tables.filter((t) => !t.def.isEvent).sort((a, b) => (a.def.name < b.def.name ? -1 : a.def.name > b.def.name ? 1 : 0));
  for (const t of tables) {
    const pk = t.def.primaryKey;
    const rows: StoredRow[] = [...t.rows.values()];
    if (pk !== undefined) {
      const ty = t.def.columns[pk]!.ty;
      rows.sort((a, b) => compareValues(ty, a.value[pk], b.value[pk]));
    } else rows.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const name = Buffer.from(t.def.name, 'utf8');
    const head = Buffer.alloc(8);
    head.writeUInt32LE(name.length, 0);
    head.writeUInt32LE(rows.length, 4);
    h.update(head).update(name);
    for (const r of rows) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(r.bytes.length, 0);
      h.update(len).update(r.bytes);
    }
  }
  return h.digest('hex');
}

/** After bulk restore/replay: build every table's indexes once. */
export function rebuildIndexes(ds: Datastore): void {
  for (const t of ds.tables) t.rebuild();
}
