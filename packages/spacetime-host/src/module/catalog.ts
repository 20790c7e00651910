// The catalog the host builds from a module's RawModuleDef: tables with resolved row types and
// canonical names, indexes, constraints, sequences, schedules, reducers, procedures and views.
import { resolveType, type Field, type Ty } from '../sats/types';
import { toSnakeCase } from './names';
import type { RawModuleDefV10 } from './rawdef';

export type IndexAlgorithm = 'btree' | 'hash' | 'direct';

export interface ColumnDef {
  col: number;
  name: string; // canonical
  sourceName: string;
  ty: Ty;
}

export interface IndexDef {
  id: number;
  name: string; // canonical
  sourceName: string;
  accessorName: string | undefined;
  algorithm: IndexAlgorithm;
  columns: number[];
  unique: boolean;
  tableId: number;
  /** Product type of the key columns, in index column order. */
  keyTy: Ty & { kind: 'Product' };
}

export interface SequenceDef {
  name: string;
  col: number;
  start: bigint;
  min: bigint;
  max: bigint;
  increment: bigint;
}

export interface ScheduleDef {
  name: string;
  functionName: string; // canonical reducer/procedure name
  atCol: number;
  idCol: number;
}

export interface TableDef {
  id: number;
  name: string; // canonical
  sourceName: string;
  rowTy: Ty & { kind: 'Product' };
  rowTypeRef: number;
  columns: ColumnDef[];
  primaryKey: number | undefined;
  indexes: IndexDef[];
  uniqueConstraints: { name: string; columns: number[] }[];
  sequences: SequenceDef[];
  isPublic: boolean;
  isEvent: boolean;
  schedule: ScheduleDef | undefined;
  /** BSATN default values by column (`.default(...)`): what stored rows get when a column is added. */
  defaults: Map<number, Uint8Array>;
}

export type Lifecycle = 'init' | 'on_connect' | 'on_disconnect';

export interface ReducerDef {
  id: number;
  name: string; // canonical
  sourceName: string;
  paramsTy: Ty & { kind: 'Product' };
  lifecycle: Lifecycle | undefined;
  /** Lifecycle and scheduled reducers are not callable by clients. */
  clientCallable: boolean;
}

export interface ProcedureDef {
  id: number;
  name: string;
  sourceName: string;
  paramsTy: Ty & { kind: 'Product' };
  returnTy: Ty;
  clientCallable: boolean;
}

export interface ViewDef {
  /** Index into the runtime's sender-view or anonymous-view list (the hook id). */
  hookIndex: number;
  name: string;
  sourceName: string;
  isAnonymous: boolean;
  isPublic: boolean;
  rowTy: Ty & { kind: 'Product' };
  returnTy: Ty;
  columns: ColumnDef[];
  primaryKey: number | undefined;
}

export interface Catalog {
  tables: TableDef[];
  reducers: ReducerDef[];
  procedures: ProcedureDef[];
  views: ViewDef[];
  rls: string[];
  caseConversion: 'SnakeCase' | 'None';
  raw: RawModuleDefV10;
  /** Resolved typespace (for codegen and describe). */
  typespace: Ty[];
  typeNames: { name: string; scope: string[]; ty: number }[];
  tableByName: Map<string, TableDef>; // canonical and source names
  indexByName: Map<string, IndexDef>; // canonical and source names
  reducerByName: Map<string, ReducerDef>;
  procedureByName: Map<string, ProcedureDef>;
  viewByName: Map<string, ViewDef>;
}

export class CatalogError extends Error {
  override name = 'CatalogError';
}

function section<T>(raw: RawModuleDefV10, tag: string): T | undefined {
  return raw.sections.find((s) => s.tag === tag)?.value as T | undefined;
}

function asProduct(ty: Ty, what: string): Ty & { kind: 'Product' } {
  if (ty.kind !== 'Product') throw new CatalogError(`${what} must be a product type`);
  return ty;
}

export function buildCatalog(raw: RawModuleDefV10): Catalog {
  if (section(raw, 'Submodules') && (section<unknown[]>(raw, 'Submodules') ?? []).length > 0) {
    throw new CatalogError('submodules are not supported by this host yet');
  }
  const typespaceRaw = section<{ types: any[] }>(raw, 'Typespace') ?? { types: [] };
  const memo = new Map<number, Ty>();
  const typespace = typespaceRaw.types.map((_, i) => resolveType({ tag: 'Ref', value: i } as any, typespaceRaw, memo));
  const resolve = (t: any) => resolveType(t, typespaceRaw, memo);
  const policy = (section<{ tag: string }>(raw, 'CaseConversionPolicy')?.tag ?? 'SnakeCase') as 'SnakeCase' | 'None';
  const explicit = { Table: new Map<string, string>(), Function: new Map<string, string>(), Index: new Map<string, string>() };
  for (const e of section<{ entries: { tag: keyof typeof explicit; value: { sourceName: string; canonicalName: string } }[] }>(raw, 'ExplicitNames')?.entries ?? []) {
    explicit[e.tag].set(e.value.sourceName, e.value.canonicalName);
  }
  const canon = (kind: keyof typeof explicit, source: string) =>
    explicit[kind].get(source) ?? (policy === 'SnakeCase' ? toSnakeCase(source) : source);
  const colName = (source: string) => (policy === 'SnakeCase' ? toSnakeCase(source) : source);

  const lifecycle = new Map<string, Lifecycle>();
  for (const l of section<any[]>(raw, 'LifeCycleReducers') ?? []) {
    const spec = l.lifecycleSpec.tag as string;
    lifecycle.set(l.functionName, spec === 'Init' ? 'init' : spec === 'OnConnect' ? 'on_connect' : 'on_disconnect');
  }
  const scheduledFns = new Set<string>((section<any[]>(raw, 'Schedules') ?? []).map((s) => s.functionName));

  const tableByName = new Map<string, TableDef>();
  const indexByName = new Map<string, IndexDef>();
  const tables: TableDef[] = [];
  let nextIndexId = 0;
  for (const [tableId, rt] of (section<any[]>(raw, 'Tables') ?? []).entries()) {
    const rowTy = asProduct(typespace[rt.productTypeRef] ?? resolve({ tag: 'Ref', value: rt.productTypeRef }), `table ${rt.sourceName} row`);
    const name = canon('Table', rt.sourceName);
    const columns: ColumnDef[] = rowTy.elements.map((e: Field, col: number) => {
      const source = e.name ?? `col_${col}`;
      return { col, name: colName(source), sourceName: source, ty: e.ty };
    });
    const uniqueSets = (rt.constraints as any[]).map((c) => c.data.value.columns as number[]);
    const sameCols = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const indexes: IndexDef[] = (rt.indexes as any[]).map((ri) => {
      const algo = ri.algorithm.tag as 'BTree' | 'Hash' | 'Direct';
      const cols: number[] = algo === 'Direct' ? [ri.algorithm.value] : ri.algorithm.value;
      const algorithm: IndexAlgorithm = algo === 'BTree' ? 'btree' : algo === 'Hash' ? 'hash' : 'direct';
      const sourceName: string = ri.sourceName ?? `${rt.sourceName}_${cols.map((c) => columns[c]!.sourceName).join('_')}_idx_${algorithm}`;
      const generated = `${name}_${cols.map((c) => columns[c]!.name).join('_')}_idx_${algorithm}`;
      const canonical = explicit.Index.get(sourceName) ?? generated;
      return {
        id: nextIndexId++,
        name: canonical,
        sourceName,
        accessorName: ri.accessorName,
        algorithm,
        columns: cols,
        unique: uniqueSets.some((u) => sameCols(u, [...cols].sort((a, b) => a - b)) || sameCols(u, cols)),
        tableId,
        keyTy: { kind: 'Product', elements: cols.map((c) => ({ name: columns[c]!.name, ty: columns[c]!.ty })) },
      };
    });
    for (const u of uniqueSets) {
      if (!indexes.some((ix) => sameCols([...ix.columns].sort((a, b) => a - b), [...u].sort((a, b) => a - b)))) {
        throw new CatalogError(`table ${name}: unique constraint on columns [${u}] has no index on the same columns`);
      }
    }
    const sequences: SequenceDef[] = (rt.sequences as any[]).map((s) => {
      const col = columns[s.column]!;
      const bits = Number(col.ty.kind.slice(1));
      const signed = col.ty.kind.startsWith('I');
      const typeMax = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
      return {
        name: `${name}_${col.name}_seq`,
        col: s.column,
        start: s.start ?? s.minValue ?? 1n,
        min: s.minValue ?? 1n,
        max: s.maxValue ?? typeMax,
        increment: s.increment,
      };
    });
    const pk: number[] = rt.primaryKey;
    const table: TableDef = {
      id: tableId,
      name,
      sourceName: rt.sourceName,
      rowTy,
      rowTypeRef: rt.productTypeRef,
      columns,
      primaryKey: pk.length === 1 ? pk[0] : undefined,
      indexes,
      uniqueConstraints: uniqueSets.map((cols) => ({ name: `${name}_${cols.map((c) => columns[c]!.name).join('_')}_key`, columns: cols })),
      sequences,
      isPublic: rt.tableAccess.tag === 'Public',
      isEvent: rt.isEvent,
      schedule: undefined,
      defaults: new Map((rt.defaultValues as { colId: number; value: Uint8Array }[]).map((d) => [d.colId, d.value])),
    };
    for (const alias of new Set([table.name, table.sourceName])) {
      if (tableByName.has(alias)) throw new CatalogError(`duplicate table name ${alias}`);
      tableByName.set(alias, table);
    }
    for (const ix of indexes) {
      indexByName.set(ix.name, ix);
      indexByName.set(ix.sourceName, ix);
    }
    tables.push(table);
  }

  const reducerByName = new Map<string, ReducerDef>();
  const reducers: ReducerDef[] = (section<any[]>(raw, 'Reducers') ?? []).map((r, id) => {
    const lc = lifecycle.get(r.sourceName);
    const def: ReducerDef = {
      id,
      name: canon('Function', r.sourceName),
      sourceName: r.sourceName,
      paramsTy: asProduct(resolve({ tag: 'Product', value: r.params }), `reducer ${r.sourceName} params`),
      lifecycle: lc,
      clientCallable: !lc && !scheduledFns.has(r.sourceName) && r.visibility.tag === 'ClientCallable',
    };
    reducerByName.set(def.name, def);
    reducerByName.set(def.sourceName, def);
    return def;
  });

  const procedureByName = new Map<string, ProcedureDef>();
  const procedures: ProcedureDef[] = (section<any[]>(raw, 'Procedures') ?? []).map((p, id) => {
    const def: ProcedureDef = {
      id,
      name: canon('Function', p.sourceName),
      sourceName: p.sourceName,
      paramsTy: asProduct(resolve({ tag: 'Product', value: p.params }), `procedure ${p.sourceName} params`),
      returnTy: resolve(p.returnType),
      clientCallable: !scheduledFns.has(p.sourceName) && p.visibility.tag === 'ClientCallable',
    };
    procedureByName.set(def.name, def);
    procedureByName.set(def.sourceName, def);
    return def;
  });

  for (const s of section<any[]>(raw, 'Schedules') ?? []) {
    const table = tableByName.get(s.tableName);
    if (!table) throw new CatalogError(`schedule refers to unknown table ${s.tableName}`);
    if (table.primaryKey === undefined || table.columns[table.primaryKey]!.ty.kind !== 'U64') {
      throw new CatalogError(`schedule table ${table.name} must have a u64 primary key`);
    }
    const fn = reducerByName.get(s.functionName) ?? procedureByName.get(s.functionName);
    if (!fn) throw new CatalogError(`schedule on ${table.name} refers to unknown function ${s.functionName}`);
    table.schedule = { name: s.sourceName ?? `${table.name}_sched`, functionName: fn.name, atCol: s.scheduleAtCol, idCol: table.primaryKey };
  }

  const viewPks = new Map<string, string[]>();
  for (const v of section<any[]>(raw, 'ViewPrimaryKeys') ?? []) viewPks.set(v.viewSourceName, v.columns);
  const viewByName = new Map<string, ViewDef>();
  const views: ViewDef[] = (section<any[]>(raw, 'Views') ?? []).map((v) => {
    const returnTy = resolve(v.returnType);
    let rowTy: Ty;
    if (returnTy.kind === 'Array') rowTy = returnTy.elem;
    else if (returnTy.kind === 'Sum' && returnTy.option) rowTy = returnTy.variants[0]!.ty;
    else throw new CatalogError(`view ${v.sourceName} must return an array or an option of rows`);
    const row = asProduct(rowTy, `view ${v.sourceName} row`);
    const columns = row.elements.map((e, col) => ({ col, name: colName(e.name ?? `col_${col}`), sourceName: e.name ?? `col_${col}`, ty: e.ty }));
    const pkNames = viewPks.get(v.sourceName) ?? [];
    const pkCol = pkNames.length === 1 ? columns.find((c) => c.sourceName === pkNames[0] || c.name === pkNames[0])?.col : undefined;
    const def: ViewDef = {
      hookIndex: v.index,
      name: canon('Function', v.sourceName),
      sourceName: v.sourceName,
      isAnonymous: v.isAnonymous,
      isPublic: v.isPublic,
      rowTy: row,
      returnTy,
      columns,
      primaryKey: pkCol,
    };
    viewByName.set(def.name, def);
    viewByName.set(def.sourceName, def);
    return def;
  });

  const typeNames = (section<any[]>(raw, 'Types') ?? []).map((td) => ({ name: td.sourceName.sourceName, scope: td.sourceName.scope, ty: td.ty }));
  return {
    tables,
    reducers,
    procedures,
    views,
    rls: (section<any[]>(raw, 'RowLevelSecurity') ?? []).map((r) => r.sql),
    caseConversion: policy,
    raw,
    typespace,
    typeNames,
    tableByName,
    indexByName,
    reducerByName,
    procedureByName,
    viewByName,
  };
}
