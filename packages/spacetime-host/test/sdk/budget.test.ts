// A reducer that never returns is stopped after its time budget: its transaction rolls back,
// the caller gets an error, and the host keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbConnection } from '../fixtures/runaway/module_bindings/index';
import type { RunningHost } from '../../src/index';
import { connectSdk, deferred, fixture, until, withHost } from './helpers';

let host: RunningHost;
beforeAll(async () => {
  host = await withHost({ module: fixture('runaway'), name: 'runaway', callBudgetMs: 300 });
});
afterAll(async () => host?.close());

const connect = async (): Promise<DbConnection> => (await connectSdk(DbConnection, host.url, 'runaway')).conn;

describe('call budget', () => {
  it('stops a runaway reducer, rolls it back, and keeps serving others', async () => {
    const a = await connect();
    const b = await connect();
    const applied = deferred<void>();
    b.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM item']);
    await applied.promise;

    await a.reducers.add({ id: 1, label: 'kept' });
    // The call spins forever unless the host stops it: its refusal is the proof, not a stopwatch.
    await expect(a.reducers.addThenSpin({ id: 100 })).rejects.toThrow(/time budget of 300 ms/);

    // Nothing of the stopped call was committed, and the indexes still agree with the rows.
    await b.reducers.add({ id: 2, label: 'after' });
    await until(() => b.db.item.count() === 2n, 'b sees both committed rows');
    expect([...b.db.item.iter()].map((r) => r.label).sort()).toEqual(['after', 'kept']);
    const table = host.module.datastore.tableByName('item')!;
    expect(table.rows.size).toBe(2);
    expect(table.byKey.size).toBe(2);
    for (const ix of table.indexes) expect(ix.entries.length).toBe(2);
    // The ids the stopped call used are free again.
    await a.reducers.add({ id: 100, label: 'reused id' });
    a.disconnect();
    b.disconnect();
  });
});
