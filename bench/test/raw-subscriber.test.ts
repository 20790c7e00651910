// The fan-out bench's raw protocol subscriber against a real host with the bank module: it sees each
// committed transfer's number once, in order, and surfaces the host's refusals as errors.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { BANK_DB, BANK_MODULE, connectBank, openAccounts, type DbConnection } from '../lib/bank-client';
import { RawSubscriber, creditedAmounts } from '../lib/raw-subscriber';

describe('raw subscriber', () => {
  let host: RunningHost;
  let wsUrl: string;
  let writer: DbConnection;
  const opened: RawSubscriber[] = [];

  beforeAll(async () => {
    host = await startHost({ module: BANK_MODULE, name: BANK_DB, port: 0, logger: pino({ level: 'silent' }) });
    wsUrl = host.url.replace('http', 'ws');
    writer = await connectBank(wsUrl);
    await openAccounts(writer, 4, 1000n);
  });
  afterAll(async () => {
    for (const s of opened) s.close();
    writer?.disconnect();
    await host?.close();
  });

  async function connect(onTransfer: (k: number) => void): Promise<RawSubscriber> {
    const s = await RawSubscriber.connect(wsUrl, BANK_DB, (k) => onTransfer(k));
    opened.push(s);
    return s;
  }

  it('reports exactly the committed transfers, in order, to every subscriber', async () => {
    const seen: number[][] = [[], []];
    const subs = [await connect((k) => seen[0]!.push(k)), await connect((k) => seen[1]!.push(k))];
    expect(subs[0]!.identity).not.toBe(subs[1]!.identity);
    await Promise.all(subs.map((s) => s.subscribe(['SELECT * FROM account'])));

    const transfers = [
      { from: 1n, to: 2n, amount: 1n },
      { from: 2n, to: 3n, amount: 2n },
      { from: 4n, to: 1n, amount: 3n },
      { from: 3n, to: 4n, amount: 4n },
    ];
    await writer.reducers.transfer(transfers[0]!);
    // Refused (overdraft): rolled back, so no subscriber hears of it.
    await expect(writer.reducers.transfer({ from: 1n, to: 2n, amount: 5000n })).rejects.toThrow('Insufficient funds');
    for (const t of transfers.slice(1)) await writer.reducers.transfer(t);

    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual([4, 4]), { timeout: 5000 });
    expect(seen).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
    for (const s of subs) {
      expect(s.transactionUpdates).toBe(4);
      expect(s.otherMessages).toEqual({ SubscribeApplied: 1 });
      expect(s.failure).toBeUndefined();
    }
  });

  it('rejects a subscription to a table that does not exist with the host message, and stays usable', async () => {
    const s = await connect(() => {});
    await expect(s.subscribe(['SELECT * FROM no_such_table'])).rejects.toThrow('no such table: "no_such_table"');
    expect(s.otherMessages).toEqual({ SubscriptionError: 1 });
    await s.subscribe(['SELECT * FROM account']);
    expect(s.otherMessages).toEqual({ SubscriptionError: 1, SubscribeApplied: 1 });
  });

  it('refuses to connect to a database the host does not serve, with the HTTP status', async () => {
    await expect(RawSubscriber.connect(wsUrl, 'no_such_db', () => {})).rejects.toThrow(/subscribe to no_such_db refused: HTTP 404/);
  });
});

describe('creditedAmounts', () => {
  const rows = (...accounts: [bigint, bigint][]) => {
    const data = new Uint8Array(16 * accounts.length);
    const view = new DataView(data.buffer);
    accounts.forEach(([id, balance], i) => {
      view.setBigUint64(16 * i, id, true);
      view.setBigInt64(16 * i + 8, balance, true);
    });
    return { sizeHint: { tag: 'FixedSize' as const, value: 16 }, rowsData: data };
  };
  const update = (deletes: ReturnType<typeof rows>, inserts: ReturnType<typeof rows>, tableName = 'account') => ({
    querySets: [
      { querySetId: { id: 1 }, tables: [{ tableName, rows: [{ tag: 'PersistentTable' as const, value: { inserts, deletes } }] }] },
    ],
  });

  it('reads fixed-size row lists: the credited row gives the amount, the debited one nothing', () => {
    expect(
      creditedAmounts(
        update(
          rows([7n, 100n], [9n, 50n]),
          rows([9n, 57n], [7n, 93n]), // inserts in another order than the deletes
        ),
      ),
    ).toEqual([7]);
  });

  it('ignores inserts without a matching delete and other tables', () => {
    expect(creditedAmounts(update(rows(), rows([1n, 10n])))).toEqual([]);
    expect(creditedAmounts(update(rows([1n, 1n]), rows([1n, 10n]), 'other'))).toEqual([]);
  });

  it('refuses a row list whose rows are shorter than an account row', () => {
    const short = { sizeHint: { tag: 'FixedSize' as const, value: 8 }, rowsData: new Uint8Array(16) };
    expect(() => creditedAmounts(update(short, short))).toThrow('account row at byte 8 runs past the row data');
  });
});
