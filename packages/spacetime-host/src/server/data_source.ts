// The datastore's tables as the SQL engine reads them; views come from the caller.
import type { Datastore } from '../datastore/datastore';
import type { ViewDef } from '../module/catalog';
import type { Relation, Row, SqlDataSource } from '../sql/index';

export function datastoreSource(ds: Datastore, viewRows: (def: ViewDef) => Iterable<Row>): SqlDataSource {
  return {
    scan(rel: Relation): Iterable<Row> {
      if (rel.kind === 'view') return viewRows(rel.def);
      return ds.tables[rel.def.id]!.rows.values();
    },
    lookup(rel: Relation, cols: number[], key: unknown[]): Iterable<Row> {
      if (rel.kind === 'view') throw new Error('views have no indexes');
      const ix = ds.tables[rel.def.id]!.indexes.find((i) => i.def.columns.length === cols.length && i.def.columns.every((c, n) => c === cols[n]));
      if (!ix) throw new Error(`no index on ${rel.def.name}(${cols.join(',')})`);
      return ix.point(key);
    },
  };
}
