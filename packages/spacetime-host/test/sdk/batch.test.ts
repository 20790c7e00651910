// Reducer calls that arrive together run as one batch under one call budget. When the budget runs
// out anywhere in a batch — in a runaway reducer, or in host code between calls — the batch is
// undone and its calls run again one by one: each honest call commits exactly once, only the
// runaway fails, nothing of the undone attempt reaches a client or the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CommitLog } from '../../src/durability/commitlog';
import { hashDataDir, type RunningHost } from '../../src/host';
import { decodeServerMessages, encodeClientMessage, type ServerMessage } from '../../src/server/wire';
import { seeded } from '@autopilot/test-support';
import { fixture, until, withHost } from './helpers';

const BUDGET_MS = 300;
const dirs: string[] = [];
let host: RunningHost;
let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'host-batch-'));
  dirs.push(dataDir);
  host = await withHost({ module: fixture('runaway'), name: 'runaway', callBudgetMs: BUDGET_MS, dataDir, keepLog: true, snapshotEvery: 1_000_000 });
});
afterEach(async () => host?.close());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Reply = Extract<ServerMessage, { tag: 'ReducerResult' }>;
type Update = Extract<ServerMessage, { tag: 'TransactionUpdate' }>;

interface Raw {
  ws: WebSocket;
  messages: ServerMessage[];
  /** Frames received, each with how many messages it carried. */
  frames: number[];
}

async function raw(): Promise<Raw> {
  const ws = new WebSocket(`${host.url.replace('http', 'ws')}/v1/database/runaway/subscribe?compression=None`, ['v3.bsatn.spacetimedb']);
  const r: Raw = { ws, messages: [], frames: [] };
  ws.on('message', (d: Buffer) => {
    const msgs = decodeServerMessages(new Uint8Array(d.subarray(1)), 'v3');
    r.frames.push(msgs.length);
    r.messages.push(...msgs);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => r.messages.length >= 1, 'InitialConnection');
  return r;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const str = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const add = (requestId: number, id: number, label: string) =>
  encodeClientMessage({ tag: 'CallReducer', value: { requestId, flags: 0, reducer: 'add', args: new Uint8Array(Buffer.concat([u32(id), str(label)])) } });
const spin = (requestId: number, id: number) =>
  encodeClientMessage({ tag: 'CallReducer', value: { requestId, flags: 0, reducer: 'add_then_spin', args: new Uint8Array(u32(id)) } });

const replies = (r: Raw) => r.messages.filter((m): m is Reply => m.tag === 'ReducerResult');
const updates = (r: Raw) => r.messages.filter((m): m is Update => m.tag === 'TransactionUpdate');
const insertedRows = (u: Update) => u.value.querySets.flatMap((s) => s.tables.flatMap((t) => t.rows.map((x) => (x.tag === 'PersistentTable' ? x.value.inserts : x.value.events))));
const rowCount = (list: ReturnType<typeof insertedRows>) =>
  list.reduce((n, l) => n + (l.sizeHint.tag === 'RowOffsets' ? l.sizeHint.value.length : l.rowsData.length / l.sizeHint.value), 0);

async function subscriber(): Promise<Raw> {
  const s = await raw();
  s.ws.send(encodeClientMessage({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM item'] } }));
  await until(() => s.messages.some((m) => m.tag === 'SubscribeApplied'), 'SubscribeApplied');
  return s;
}

/**
 * Indexes agree with rows, the ids present are exactly `ids`, the log holds exactly one `add`
 * transaction per committed add (none from an undone attempt), and replaying the log alone gives
 * the live state.
 */
async function expectConsistent(ids: number[]): Promise<void> {
  const table = host.module.datastore.tableByName('item')!;
  expect([...table.rows.values()].map((r) => r.value[0]).sort((a, b) => (a as number) - (b as number))).toEqual(ids);
  expect(table.byKey.size).toBe(ids.length);
  for (const ix of table.indexes) expect(ix.entries.length).toBe(ids.length);
  const live = host.stateHash();
  await host.close();
  host = undefined as unknown as RunningHost;
  const logged: string[] = [];
  const { log } = CommitLog.open(join(dataDir, 'log'), 0n, {}, (_seq, record) => {
    if (record.kind === 'tx' && record.reducer) logged.push(record.reducer);
  });
  log.close();
  expect(logged).toEqual(ids.map(() => 'add'));
  rmSync(join(dataDir, 'snapshots'), { recursive: true, force: true }); // replay from the log alone
  expect((await hashDataDir({ dataDir })).hash).toBe(live);
}

describe('reducer batches', () => {
  it('calls that arrive together are answered together, in order, each committed once', async () => {
    const s = await subscriber();
    const c = await raw();
    c.ws.send(Buffer.concat([add(1, 1, 'a'), add(2, 2, 'b'), add(3, 3, 'c'), add(4, 1, 'duplicate id')]));
    await until(() => replies(c).length === 4, 'four replies');
    expect(replies(c).map((r) => [r.value.requestId, r.value.result.tag])).toEqual([
      [1, 'Ok'],
      [2, 'Ok'],
      [3, 'Ok'],
      [4, 'InternalError'], // a unique violation fails that call alone
    ]);
    expect(c.frames.at(-1)).toBe(4); // one frame carried all four replies
    await until(() => updates(s).length === 3, 'three updates');
    expect(updates(s).map((u) => rowCount(insertedRows(u)))).toEqual([1, 1, 1]);
    s.ws.close();
    c.ws.close();
    await expectConsistent([1, 2, 3]);
  });

  it('a runaway call in a batch fails alone; the calls around it commit exactly once', async () => {
    const s = await subscriber();
    const c = await raw();
    const other = await raw();
    c.ws.send(Buffer.concat([add(1, 1, 'a'), add(2, 2, 'b'), spin(3, 100), add(4, 3, 'c'), add(5, 4, 'd')]));
    other.ws.send(add(1, 5, 'from another connection'));
    await until(() => replies(c).length === 5 && replies(other).length === 1, 'all replies', 10_000);
    expect(replies(c).map((r) => [r.value.requestId, r.value.result.tag])).toEqual([
      [1, 'Ok'],
      [2, 'Ok'],
      [3, 'InternalError'],
      [4, 'Ok'],
      [5, 'Ok'],
    ]);
    const failure = replies(c)[2]!.value.result as Extract<Reply['value']['result'], { tag: 'InternalError' }>;
    expect(failure.value).toMatch(new RegExp(`time budget of ${BUDGET_MS} ms`));
    expect(replies(other)[0]!.value.result.tag).toBe('Ok');
    // The subscriber saw each committed call once, and nothing of the undone attempt or the runaway.
    await until(() => updates(s).length === 5, 'five updates');
    await new Promise((r) => setTimeout(r, 100));
    expect(updates(s)).toHaveLength(5);
    expect(updates(s).map((u) => rowCount(insertedRows(u)))).toEqual([1, 1, 1, 1, 1]);
    for (const r of [s, c, other]) r.ws.close();
    await expectConsistent([1, 2, 3, 4, 5]);
  });

  it('a batch cut short in host code (a slow commit listener) is undone and its calls run again', async () => {
    let slowOnce = true;
    host.module.onCommit(() => {
      if (!slowOnce) return;
      slowOnce = false;
      const until = performance.now() + BUDGET_MS * 1.5;
      while (performance.now() < until); // host work, not module code: inside a batch the budget still applies
    });
    const s = await subscriber();
    const c = await raw();
    c.ws.send(Buffer.concat([add(1, 10, 'x'), add(2, 11, 'y'), add(3, 12, 'z')]));
    await until(() => replies(c).length === 3, 'three replies', 10_000);
    expect(replies(c).map((r) => r.value.result.tag)).toEqual(['Ok', 'Ok', 'Ok']);
    await until(() => updates(s).length === 3, 'three updates');
    await new Promise((r) => setTimeout(r, 100));
    expect(updates(s)).toHaveLength(3);
    for (const r of [s, c]) r.ws.close();
    await expectConsistent([10, 11, 12]);
  });

  it('randomized: runaways and slow commits at random points; every honest call commits exactly once', seeded({ seed: 42, iterations: 6 }, async ({ seed, random, iterations: rounds }) => {
    let slowNext = false;
    host.module.onCommit(() => {
      if (!slowNext) return;
      slowNext = false;
      const until = performance.now() + BUDGET_MS * 1.2;
      while (performance.now() < until); // trips the budget when inside a batch, only delays outside one
    });
    const s = await subscriber();
    const clients = [await raw(), await raw(), await raw()];
    const sent = new Map<Raw, ('add' | 'spin')[]>(clients.map((c) => [c, []]));
    const added: number[] = [];
    let nextId = 1;
    let spins = 0;
    for (let round = 0; round < rounds; round++) {
      const frames: [Raw, Buffer][] = [];
      for (const c of clients) {
        const calls: Uint8Array[] = [];
        const n = 1 + Math.floor(random() * 6);
        for (let k = 0; k < n; k++) {
          const requestId = sent.get(c)!.length + 1;
          // Any seed sends at least one runaway: the last round's first call spins if none did yet.
          const lastChance = spins === 0 && round === rounds - 1 && c === clients[0] && k === 0;
          if (spins < 3 && (random() < 0.08 || lastChance)) {
            spins++;
            sent.get(c)!.push('spin');
            calls.push(spin(requestId, 100_000 + 100 * spins));
          } else {
            sent.get(c)!.push('add');
            added.push(nextId);
            calls.push(add(requestId, nextId++, `r${round}`));
          }
        }
        frames.push([c, Buffer.concat(calls)]);
      }
      if (random() < 0.4) slowNext = true;
      for (const [c, frame] of frames) c.ws.send(frame);
      await until(() => clients.every((c) => replies(c).length === sent.get(c)!.length), `replies of round ${round} (seed ${seed})`, 15_000);
    }
    expect(spins, `seed ${seed} must send at least one runaway`).toBeGreaterThan(0);
    for (const c of clients) {
      const tags = replies(c).map((r) => r.value.result.tag);
      expect(tags, `seed ${seed}`).toEqual(sent.get(c)!.map((kind) => (kind === 'add' ? 'Ok' : 'InternalError')));
      expect(replies(c).map((r) => r.value.requestId)).toEqual(sent.get(c)!.map((_, i) => i + 1));
    }
    // The subscriber saw every committed add exactly once, and no row of a runaway.
    await until(() => updates(s).length >= added.length, 'every update');
    await new Promise((r) => setTimeout(r, 100));
    const seen = updates(s).flatMap((u) => insertedIds(insertedRows(u)));
    expect(seen.sort((a, b) => a - b)).toEqual(added);
    for (const r of [s, ...clients]) r.ws.close();
    await expectConsistent(added);
  }));
});

/** The ids (first u32 of each row) of the rows in some row lists. */
function insertedIds(lists: ReturnType<typeof insertedRows>): number[] {
  const ids: number[] = [];
  for (const l of lists) {
    const view = Buffer.from(l.rowsData.buffer, l.rowsData.byteOffset, l.rowsData.byteLength);
    const offsets = l.sizeHint.tag === 'RowOffsets' ? l.sizeHint.value.map(Number) : [];
    for (const at of offsets) ids.push(view.readUInt32LE(at));
  }
  return ids;
}
