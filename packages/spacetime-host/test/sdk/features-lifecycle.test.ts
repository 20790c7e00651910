// Lifecycle reducers and procedures through the real SDK: init ran once, client_connected can
// refuse a connection, client_disconnected runs; procedures return values, commit through withTx
// (others see the transaction) and fail cleanly when they throw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../src/index';
import { connect, connectOutcome, rejection, startFeaturesHost, subscribe, type Client } from './features-helpers';
import { until } from './helpers';

let host: RunningHost;
let watcher: Client;

beforeAll(async () => {
  host = await startFeaturesHost();
  watcher = await connect(host);
  await subscribe(watcher.conn, ['SELECT * FROM counter', 'SELECT * FROM connection_log', 'SELECT * FROM topic']);
});
afterAll(async () => {
  watcher?.conn.disconnect();
  await host?.close();
});

const logOf = (c: Client) =>
  [...watcher.conn.db.connectionLog.iter()]
    .filter((r) => r.identity.isEqual(c.identity))
    .sort((x, y) => Number(x.id - y.id))
    .map((r) => r.kind);

describe('lifecycle reducers', () => {
  it('ran init exactly once, and refuses direct calls to lifecycle reducers', async () => {
    expect(watcher.conn.db.counter.name.find('init_runs')?.value).toBe(1);
    expect(await rejection(watcher.conn.callReducer('init', new Uint8Array(0)))).toMatch(/lifecycle/);
    expect(await rejection(watcher.conn.callReducer('on_connect', new Uint8Array(0)))).toMatch(/lifecycle/);
    expect(await rejection(watcher.conn.callReducer('no_such_reducer', new Uint8Array(0)))).toMatch(/no such reducer/);
  });

  it('runs client_connected and client_disconnected with the connection id', async () => {
    const c = await connect(host);
    await until(() => logOf(c).length === 1, 'the watcher sees c connect');
    const [connected] = [...watcher.conn.db.connectionLog.iter()].filter((r) => r.identity.isEqual(c.identity));
    expect(connected!.kind).toBe('connected');
    expect(connected!.connectionId.isEqual(c.conn.connectionId)).toBe(true);
    c.conn.disconnect();
    await until(() => logOf(c).length === 2, 'the watcher sees c disconnect');
    expect(logOf(c)).toEqual(['connected', 'disconnected']);
  });

  it('gives reducers the caller’s connection and JWT claims', async () => {
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM probe']);
    await c.conn.reducers.whoAmI({});
    const seen = JSON.parse(c.conn.db.probe.label.find(`who:${c.identity.toHexString()}`)?.note ?? 'null');
    expect(seen).toEqual({
      hasJWT: true,
      isInternal: false,
      issuer: expect.any(String),
      subjectPresent: true,
      jwtIdentityMatches: true,
      hasConnection: true,
      senderIsDatabase: false,
    });
    c.conn.disconnect();
  });

  it('serves ctx.random, UUIDs and console (with timers) to reducers', async () => {
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM probe']);
    await c.conn.reducers.utilities({});
    const values = JSON.parse(c.conn.db.probe.label.find('utilities')?.note ?? 'null');
    expect(values.randomInRange).toBeGreaterThanOrEqual(1);
    expect(values.randomInRange).toBeLessThanOrEqual(6);
    expect(values.randomFloat).toBeGreaterThanOrEqual(0);
    expect(values.randomFloat).toBeLessThan(1);
    expect(values.v4).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(values.v7a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(values.v7b > values.v7a).toBe(true);
    c.conn.disconnect();
  });

  it('refuses a connection when client_connected throws, committing nothing', async () => {
    const c = await connect(host);
    await c.conn.reducers.banMe({});
    c.conn.disconnect();
    await until(() => logOf(c).length === 2, 'c disconnected');

    const again = await connectOutcome(host, c.token);
    expect(again.ok ? 'connected' : again.via).toBe('connectError');
    // The refused attempt left no trace: its connection row was rolled back with the reducer.
    const other = await connect(host);
    await until(() => logOf(other).length === 1, 'a later connection is logged');
    expect(logOf(c)).toEqual(['connected', 'disconnected']);
    other.conn.disconnect();
  });
});

describe('procedures', () => {
  it('returns values (a product and an option)', async () => {
    const c = await connect(host);
    expect(await c.conn.procedures.addNumbers({ a: 40n, b: 2n })).toEqual({ total: 42n, text: '40 + 2' });
    expect(await c.conn.procedures.addNumbers({ a: -(1n << 62n), b: -(1n << 62n) })).toEqual({ total: -(1n << 63n), text: `${-(1n << 62n)} + ${-(1n << 62n)}` });
    expect(await c.conn.procedures.maybeHalf({ n: 8 })).toBe(4);
    expect(await c.conn.procedures.maybeHalf({ n: 7 })).toBeUndefined();
    c.conn.disconnect();
  });

  it('commits withTx: every subscriber, the caller included, gets a transaction update', async () => {
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM topic']);
    const seen: string[] = [];
    c.conn.db.topic.onInsert((ctx, row) => seen.push(`c:${ctx.event.tag}:${row.title}`));
    watcher.conn.db.topic.onInsert((ctx, row) => seen.push(`w:${ctx.event.tag}:${row.title}`));
    const before = watcher.conn.db.topic.count();
    expect(await c.conn.procedures.addTopicViaTx({ id: 100, title: 'via tx' })).toBe(before + 1n);
    await until(() => seen.length === 2, 'both clients see the procedure’s insert');
    expect(seen.sort()).toEqual(['c:Transaction:via tx', 'w:Transaction:via tx']);
    c.conn.disconnect();
  });

  it('fails a throwing procedure and rolls back its transaction', async () => {
    const c = await connect(host);
    expect(await rejection(c.conn.procedures.failingProcedure({}))).toMatch(/procedure exploded/);
    expect(await rejection(c.conn.procedures.addTopicThenThrow({ id: 101 }))).toMatch(/changed my mind/);
    // The connection keeps working and the rolled-back insert never appears.
    expect(await c.conn.procedures.addTopicViaTx({ id: 102, title: 'after' })).toBeGreaterThan(0n);
    await until(() => Boolean(watcher.conn.db.topic.id.find(102)), 'topic 102 arrives');
    expect(watcher.conn.db.topic.id.find(101)).toBeFalsy();
    c.conn.disconnect();
  });
});
