// Real `spacetimedb` SDK clients of the bank module, with bindings from `spacetime-host generate`.
import { setGlobalLogLevel } from 'spacetimedb';
import { DbConnection } from '../modules/bank/module_bindings/index';

// The SDK logs every connect at info level on stdout, which would interleave with the tables.
setGlobalLogLevel('warn');

export const BANK_DB = 'bank';
export const BANK_MODULE = new URL('../modules/bank', import.meta.url).pathname;

export function connectBank(wsUrl: string, database = BANK_DB): Promise<DbConnection> {
  return new Promise((resolve, reject) => {
    DbConnection.builder()
      .withUri(wsUrl)
      .withDatabaseName(database)
      .withCompression('none')
      .onConnect((conn) => resolve(conn))
      .onConnectError((_ctx, err) => reject(err))
      .build();
  });
}

/** Connect `count` clients a few at a time (each connect runs a durable transaction on the host). */
export async function connectMany(wsUrl: string, count: number): Promise<DbConnection[]> {
  const out: DbConnection[] = [];
  while (out.length < count) {
    const batch = Math.min(16, count - out.length);
    out.push(...(await Promise.all(Array.from({ length: batch }, () => connectBank(wsUrl)))));
  }
  return out;
}

export function subscribe(conn: DbConnection, queries: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((ctx) => reject(ctx.event ?? new Error('subscription failed')))
      .subscribe(queries);
  });
}

/** Open accounts 1..count with `balance` each, in chunks (one transaction per chunk). */
export async function openAccounts(conn: DbConnection, count: number, balance: bigint): Promise<void> {
  const chunk = 5000;
  for (let first = 1; first <= count; first += chunk) {
    await conn.reducers.openAccounts({ firstId: BigInt(first), count: Math.min(chunk, count - first + 1), balance });
  }
}

export type { DbConnection };
