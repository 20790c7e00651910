// Schema compatibility between the module that created a database and the one starting on it.
// Additive changes are accepted (new tables, indexes, reducers, views); anything that would
// reinterpret stored rows is refused before any data is touched.
import type { Catalog } from '../module/catalog';
import { describeType } from '../sats/types';

export interface StoredSchema {
  moduleHash: string;
  tables: { name: string; columns: { name: string; type: string }[]; isEvent: boolean }[];
}

export function schemaOf(catalog: Catalog, moduleHash: string): StoredSchema {
  return {
    moduleHash,
    tables: catalog.tables.map((t) => ({
      name: t.name,
      columns: t.columns.map((c) => ({ name: c.name, type: describeType(c.ty) })),
      isEvent: t.isEvent,
    })),
  };
}

/** Reasons the new module cannot run on the stored data (empty = compatible). */
export function incompatibilities(stored: StoredSchema, next: StoredSchema): string[] {
  const problems: string[] = [];
  for (const old of stored.tables) {
    if (old.isEvent) continue;
    const now = next.tables.find((t) => t.name === old.name);
    if (!now) {
      problems.push(`table ${old.name} was removed`);
      continue;
    }
    if (now.isEvent) problems.push(`table ${old.name} became an event table`);
    if (now.columns.length !== old.columns.length) {
      problems.push(`table ${old.name} changed its columns from ${old.columns.length} to ${now.columns.length} (adding columns to stored tables is not supported yet)`);
      continue;
    }
    old.columns.forEach((c, i) => {
      const n = now.columns[i]!;
      if (n.name !== c.name || n.type !== c.type) problems.push(`table ${old.name} column ${i} changed from ${c.name}: ${c.type} to ${n.name}: ${n.type}`);
    });
  }
  return problems;
}
