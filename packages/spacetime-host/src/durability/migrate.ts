// Schema compatibility between the module that created a database and the one starting on it.
// Additive changes are accepted (new tables, indexes, reducers, views); anything that would
// reinterpret stored rows is refused before any data is touched.
import type { Catalog } from '../module/catalog';
import { describeType } from '../sats/types';

export interface StoredSchema {
  moduleHash: string;
  tables: { name: string; columns: { name: string; type: string }[]; isEvent: boolean }[];
  /** Columns per table when the database was created: the row layout of the log's first records. */
  creationColumns?: Record<string, number>;
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

/**
 * Reasons the new module cannot run on the stored data (empty = compatible). Columns may be added at
 * the end of a table when each has a default (`hasDefault(table, col)`): stored rows get it.
 */
export function incompatibilities(stored: StoredSchema, next: StoredSchema, hasDefault: (table: string, col: number) => boolean = () => false): string[] {
  const problems: string[] = [];
  for (const old of stored.tables) {
    if (old.isEvent) continue;
    const now = next.tables.find((t) => t.name === old.name);
    if (!now) {
      problems.push(`table ${old.name} was removed`);
      continue;
    }
    if (now.isEvent) problems.push(`table ${old.name} became an event table`);
    if (now.columns.length < old.columns.length) {
      problems.push(`table ${old.name} lost columns (${old.columns.length} → ${now.columns.length})`);
      continue;
    }
    for (let i = old.columns.length; i < now.columns.length; i++) {
      if (!hasDefault(old.name, i)) problems.push(`table ${old.name} adds column ${now.columns[i]!.name} without a default value for the stored rows`);
    }
    old.columns.forEach((c, i) => {
      const n = now.columns[i]!;
      if (n.name !== c.name || n.type !== c.type) problems.push(`table ${old.name} column ${i} changed from ${c.name}: ${c.type} to ${n.name}: ${n.type}`);
    });
  }
  return problems;
}
