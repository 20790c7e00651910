// Views built with the module-side query builder return SQL (RawSql) instead of rows: evaluate
// it as a subscription query against the open transaction, RLS bypassed, :sender = the view's sender.
import type { ModuleHost, ViewRow } from '../module/host';
import type { ViewDef } from '../module/catalog';
import { compileSubscription, evaluate, type SqlDataSource } from '../sql/index';

export function viewRowsFromSql(host: ModuleHost, view: ViewDef, sender: bigint | null, sql: string): ViewRow[] {
  const compiled = compileSubscription(sql, { catalog: host.catalog, sender: sender ?? 0n, isOwner: true });
  if (!compiled.ok) throw new Error(`view ${view.name} returned a query the host cannot run: ${compiled.error}`);
  const ds = host.datastore;
  const src: SqlDataSource = {
    scan: (rel) => {
      if (rel.kind === 'view') throw new Error('a view query cannot read another view');
      return ds.tables[rel.def.id]!.rows.values();
    },
    lookup: (rel, cols, key) => {
      if (rel.kind === 'view') throw new Error('views have no indexes');
      const ix = ds.tables[rel.def.id]!.indexes.find((i) => i.def.columns.length === cols.length && i.def.columns.every((c, n) => c === cols[n]));
      if (!ix) throw new Error(`no index on ${rel.def.name}`);
      return ix.point(key);
    },
  };
  return compiled.queries.flatMap((q) => evaluate(q, src));
}
