// A digest of a host's persistent state: every non-event table's rows (BSATN), sorted, by table
// name. Equal digests mean byte-identical databases; a denied call must leave it unchanged.
import { createHash } from 'node:crypto';
import type { ModuleHost } from '@autopilot/spacetime-host';

export function stateHash(module: ModuleHost): string {
  const hash = createHash('sha256');
  const tables = [...module.datastore.tables].filter((table) => !table.def.isEvent).sort((a, b) => (a.def.name < b.def.name ? -1 : 1));
  for (const table of tables) {
    const rows = [...table.rows.values()].map((row) => Buffer.from(row.bytes)).sort(Buffer.compare);
    hash.update(`${table.def.name}:${rows.length}\n`);
    for (const row of rows) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(row.length);
      hash.update(length).update(row);
    }
  }
  return hash.digest('hex');
}

/** Rows of a table as objects keyed by canonical column name (values as the host decodes them). */
export function tableRows(module: ModuleHost, name: string): Record<string, unknown>[] {
  const table = module.datastore.tableByName(name);
  if (!table) throw new Error(`no table ${name}`);
  return [...table.rows.values()].map((row) => Object.fromEntries(table.def.columns.map((column) => [column.name, row.value[column.col]])));
}
