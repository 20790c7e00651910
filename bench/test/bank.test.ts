// The bank fixture through the real host and the real SDK: transfers move money, and the
// module's rules refuse overdrafts and bad accounts with SenderErrors that roll back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { BANK_DB, BANK_MODULE, connectBank, openAccounts, subscribe, type DbConnection } from '../lib/bank-client';

describe('bank module', () => {
  let host: RunningHost;
  let conn: DbConnection;

  beforeAll(async () => {
    host = await startHost({ module: BANK_MODULE, name: BANK_DB, port: 0, logger: pino({ level: 'silent' }) });
    conn = await connectBank(host.url.replace('http', 'ws'));
    await openAccounts(conn, 3, 100n);
    await subscribe(conn, ['SELECT * FROM account']);
  });
  afterAll(async () => {
    conn?.disconnect();
    await host?.close();
  });

  const balances = () => Object.fromEntries([...conn.db.account.iter()].map((a) => [String(a.id), a.balance]));

  it('opens accounts and moves money between two of them', async () => {
    expect(balances()).toEqual({ 1: 100n, 2: 100n, 3: 100n });
    await conn.reducers.transfer({ from: 1n, to: 2n, amount: 30n });
    expect(balances()).toEqual({ 1: 70n, 2: 130n, 3: 100n });
  });

  it('refuses an overdraft, an unknown account, a self-transfer and a non-positive amount, changing nothing', async () => {
    const before = balances();
    await expect(conn.reducers.transfer({ from: 3n, to: 1n, amount: 101n })).rejects.toThrow('Insufficient funds in account 3');
    await expect(conn.reducers.transfer({ from: 1n, to: 9n, amount: 1n })).rejects.toThrow('No account 9');
    await expect(conn.reducers.transfer({ from: 2n, to: 2n, amount: 1n })).rejects.toThrow('Cannot transfer to the same account');
    await expect(conn.reducers.transfer({ from: 1n, to: 2n, amount: 0n })).rejects.toThrow('The amount must be positive');
    await expect(conn.reducers.openAccounts({ firstId: 2n, count: 1, balance: 5n })).rejects.toThrow('Account 2 already exists');
    expect(balances()).toEqual(before);
  });
});
