// The contract between the SQL engine and its callers (the subscription manager and the
// datastore that exposes committed state).
import type { Catalog, TableDef, ViewDef } from '../module/catalog';

/** One stored row: its BSATN bytes (its identity under set semantics) and its positional column values. */
export interface Row {
  bytes: Uint8Array;
  value: unknown[];
}

export type Relation = { kind: 'table'; def: TableDef } | { kind: 'view'; def: ViewDef };

export interface SqlContext {
  catalog: Catalog;
  /** Identity of the subscriber (or caller of an ad hoc query); what `:sender` means. */
  sender: bigint;
  /** The database owner may read private tables. */
  isOwner: boolean;
}

export interface SqlDataSource {
  scan(rel: Relation): Iterable<Row>;
  /** Rows whose columns `cols` equal `key` (raw values). Only called for tables with an index on exactly `cols`. */
  lookup(rel: Relation, cols: number[], key: unknown[]): Iterable<Row>;
}

/** Net change of one relation in one transaction (event tables: inserts only). */
export interface RelationChange {
  inserts: Row[];
  deletes: Row[];
}

export interface RowDelta {
  inserts: Row[];
  deletes: Row[];
}
