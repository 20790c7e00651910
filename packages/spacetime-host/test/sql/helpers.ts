// Hand-built catalogs and an in-memory data source for the SQL engine tests.
import type { Catalog, ColumnDef, IndexDef, TableDef, ViewDef } from '../../src/module/catalog';
import type { RawModuleDefV10 } from '../../src/module/rawdef';
import { encode } from '../../src/sats/codec';
import type { Ty } from '../../src/sats/types';
import type { Relation, RelationChange, Row, SqlContext, SqlDataSource } from '../../src/sql/index';

const special = (name: string, inner: Ty['kind'], kind: 'identity' | 'connection_id' | 'timestamp' | 'time_duration' | 'uuid'): Ty => ({
  kind: 'Product',
  elements: [{ name, ty: { kind: inner } as Ty }],
  special: kind,
});

export const T = {
  bool: { kind: 'Bool' } as Ty,
  u8: { kind: 'U8' } as Ty,
  i8: { kind: 'I8' } as Ty,
  u16: { kind: 'U16' } as Ty,
  i16: { kind: 'I16' } as Ty,
  u32: { kind: 'U32' } as Ty,
  i32: { kind: 'I32' } as Ty,
  u64: { kind: 'U64' } as Ty,
  i64: { kind: 'I64' } as Ty,
  u128: { kind: 'U128' } as Ty,
  i128: { kind: 'I128' } as Ty,
  u256: { kind: 'U256' } as Ty,
  i256: { kind: 'I256' } as Ty,
  f32: { kind: 'F32' } as Ty,
  f64: { kind: 'F64' } as Ty,
  string: { kind: 'String' } as Ty,
  bytes: { kind: 'Array', elem: { kind: 'U8' } } as Ty,
  u32s: { kind: 'Array', elem: { kind: 'U32' } } as Ty,
  identity: special('__identity__', 'U256', 'identity'),
  connectionId: special('__connection_id__', 'U128', 'connection_id'),
  timestamp: special('__timestamp_micros_since_unix_epoch__', 'I64', 'timestamp'),
  timeDuration: special('__time_duration_micros__', 'I64', 'time_duration'),
  uuid: special('__uuid__', 'U128', 'uuid'),
  optionU32: {
    kind: 'Sum',
    variants: [
      { name: 'some', ty: { kind: 'U32' } },
      { name: 'none', ty: { kind: 'Product', elements: [] } },
    ],
    option: true,
  } as Ty,
  point: { kind: 'Product', elements: [{ name: 'x', ty: { kind: 'I32' } }, { name: 'y', ty: { kind: 'I32' } }] } as Ty,
};

export interface TableSpec {
  name: string;
  sourceName?: string;
  /** [canonical name, type, source name?] */
  columns: [string, Ty, string?][];
  /** Column lists of indexes (btree). */
  indexes?: number[][];
  primaryKey?: number;
  isPublic?: boolean;
  isEvent?: boolean;
}

export interface ViewSpec {
  name: string;
  sourceName?: string;
  columns: [string, Ty, string?][];
  isAnonymous?: boolean;
  isPublic?: boolean;
}

function columnsOf(cols: [string, Ty, string?][]): ColumnDef[] {
  return cols.map(([name, ty, sourceName], col) => ({ col, name, sourceName: sourceName ?? name, ty }));
}

export function makeCatalog(tableSpecs: TableSpec[], viewSpecs: ViewSpec[] = []): Catalog {
  let indexId = 0;
  const tables: TableDef[] = tableSpecs.map((s, id) => {
    const columns = columnsOf(s.columns);
    const rowTy = { kind: 'Product' as const, elements: columns.map((c) => ({ name: c.name, ty: c.ty })) };
    const indexes: IndexDef[] = (s.indexes ?? []).map((cols) => ({
      id: indexId++,
      name: `${s.name}_${cols.map((c) => columns[c]!.name).join('_')}_idx_btree`,
      sourceName: `${s.name}_${cols.join('_')}`,
      accessorName: undefined,
      algorithm: 'btree',
      columns: cols,
      unique: s.primaryKey !== undefined && cols.length === 1 && cols[0] === s.primaryKey,
      tableId: id,
      keyTy: { kind: 'Product', elements: cols.map((c) => ({ name: columns[c]!.name, ty: columns[c]!.ty })) },
    }));
    return {
      id,
      name: s.name,
      sourceName: s.sourceName ?? s.name,
      rowTy,
      rowTypeRef: 0,
      columns,
      primaryKey: s.primaryKey,
      indexes,
      uniqueConstraints: [],
      sequences: [],
      isPublic: s.isPublic ?? true,
      isEvent: s.isEvent ?? false,
      schedule: undefined,
      defaults: new Map(),
    };
  });
  const views: ViewDef[] = viewSpecs.map((v, hookIndex) => {
    const columns = columnsOf(v.columns);
    const rowTy = { kind: 'Product' as const, elements: columns.map((c) => ({ name: c.name, ty: c.ty })) };
    return {
      hookIndex,
      name: v.name,
      sourceName: v.sourceName ?? v.name,
      isAnonymous: v.isAnonymous ?? true,
      isPublic: v.isPublic ?? true,
      rowTy,
      returnTy: { kind: 'Array', elem: rowTy },
      columns,
      primaryKey: undefined,
    };
  });
  const tableByName = new Map<string, TableDef>();
  for (const t of tables) for (const n of new Set([t.name, t.sourceName])) tableByName.set(n, t);
  const viewByName = new Map<string, ViewDef>();
  for (const v of views) for (const n of new Set([v.name, v.sourceName])) viewByName.set(n, v);
  return {
    tables,
    reducers: [],
    procedures: [],
    views,
    rls: [],
    caseConversion: 'SnakeCase',
    raw: { sections: [] } as unknown as RawModuleDefV10,
    typespace: [],
    typeNames: [],
    tableByName,
    indexByName: new Map(tables.flatMap((t) => t.indexes.map((ix) => [ix.name, ix] as const))),
    reducerByName: new Map(),
    procedureByName: new Map(),
    viewByName,
  };
}

export function ctxFor(catalog: Catalog, opts: { sender?: bigint; isOwner?: boolean } = {}): SqlContext {
  return { catalog, sender: opts.sender ?? 0xc200n << 240n, isOwner: opts.isOwner ?? false };
}

export function relOf(catalog: Catalog, name: string): Relation {
  const t = catalog.tableByName.get(name);
  if (t) return { kind: 'table', def: t };
  const v = catalog.viewByName.get(name);
  if (v) return { kind: 'view', def: v };
  throw new Error(`test catalog has no relation ${name}`);
}

export function makeRow(rel: Relation, value: unknown[]): Row {
  return { bytes: encode(rel.def.rowTy, value), value };
}

const keyOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Committed state of every relation, with set semantics like the real datastore. `lookup` refuses
 * (throws) unless the relation is a table with an index on exactly the requested columns, which is
 * the contract the engine must respect.
 */
export class MemorySource implements SqlDataSource {
  readonly rows = new Map<string, Map<string, Row>>();
  lookups = 0;
  scans = 0;

  constructor(readonly catalog: Catalog) {}

  private bucket(rel: Relation): Map<string, Row> {
    let b = this.rows.get(rel.def.name);
    if (!b) this.rows.set(rel.def.name, (b = new Map()));
    return b;
  }

  insert(name: string, value: unknown[]): Row {
    const rel = relOf(this.catalog, name);
    const row = makeRow(rel, value);
    this.bucket(rel).set(keyOf(row.bytes), row);
    return row;
  }

  delete(name: string, row: Row): boolean {
    return this.bucket(relOf(this.catalog, name)).delete(keyOf(row.bytes));
  }

  has(name: string, row: Row): boolean {
    return this.bucket(relOf(this.catalog, name)).has(keyOf(row.bytes));
  }

  all(name: string): Row[] {
    return [...this.bucket(relOf(this.catalog, name)).values()];
  }

  scan(rel: Relation): Iterable<Row> {
    this.scans++;
    return [...this.bucket(rel).values()];
  }

  lookup(rel: Relation, cols: number[], key: unknown[]): Iterable<Row> {
    if (rel.kind !== 'table') throw new Error(`lookup on view ${rel.def.name}`);
    const ok = rel.def.indexes.some((ix) => ix.columns.length === cols.length && ix.columns.every((c, i) => c === cols[i]));
    if (!ok) throw new Error(`lookup on ${rel.def.name}(${cols.join(',')}) without an index on exactly those columns`);
    this.lookups++;
    const keyTy: Ty = { kind: 'Product', elements: cols.map((c) => ({ name: undefined, ty: rel.def.columns[c]!.ty })) };
    const want = keyOf(encode(keyTy, key));
    return [...this.bucket(rel).values()].filter((r) => keyOf(encode(keyTy, cols.map((c) => r.value[c]))) === want);
  }
}

/** Multiset of rows as a sorted list of hex keys with counts, for order-insensitive comparison. */
export function multiset(rows: Row[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(keyOf(r.bytes), (m.get(keyOf(r.bytes)) ?? 0) + 1);
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Apply a net change to a multiset of result rows; throws if a delete has nothing to cancel. */
export function applyToMultiset(m: Map<string, number>, d: { inserts: Row[]; deletes: Row[] }): void {
  for (const r of d.deletes) {
    const k = keyOf(r.bytes);
    const n = m.get(k) ?? 0;
    if (n <= 0) throw new Error(`delete of a row that was never delivered: ${k}`);
    if (n === 1) m.delete(k);
    else m.set(k, n - 1);
  }
  for (const r of d.inserts) m.set(keyOf(r.bytes), (m.get(keyOf(r.bytes)) ?? 0) + 1);
}

export function sortedMultiset(m: Map<string, number>): Map<string, number> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function changeMap(entries: [string, RelationChange][]): Map<string, RelationChange> {
  return new Map(entries);
}

export { prng } from '@autopilot/test-support';
