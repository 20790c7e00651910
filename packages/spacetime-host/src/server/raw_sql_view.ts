// Views built with the module-side query builder return SQL (RawSql) instead of rows: evaluate
// it as a subscription query against the open transaction, RLS bypassed, :sender = the view's sender.
import type { ModuleHost, ViewRow } from '../module/host';
import type { ViewDef } from '../module/catalog';
import { compileSubscription, evaluate } from '../sql/index';
import { datastoreSource } from './data_source';

export function viewRowsFromSql(host: ModuleHost, view: ViewDef, sender: bigint | null, sql: string): ViewRow[] {
  const compiled = compileSubscription(sql, { catalog: host.catalog, sender: sender ?? 0n, isOwner: true });
  if (!compiled.ok) throw new Error(`view ${view.name} returned a query the host cannot run: ${compiled.error}`);
  const src = datastoreSource(host.datastore, () => {
    throw new Error('a view query cannot read another view');
  });
  return compiled.queries.flatMap((q) => evaluate(q, src));
}
