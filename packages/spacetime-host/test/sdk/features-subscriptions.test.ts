// Subscription semantics through the real SDK: overlapping queries within and across query sets
// (reference counts, onDelete only when the last reference goes), `:sender`, semijoins (SQL and
// query builder), invalid queries, private tables, `SELECT * FROM *` and subscribeToAllTables().
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../src/index';
import { tables } from '../fixtures/features/module_bindings/index';
import type { ItemInput } from '../fixtures/features/module_bindings/types';
import { connect, startFeaturesHost, subscribe, subscriptionError, unsubscribe, type Client } from './features-helpers';
import { deferred, until } from './helpers';

let host: RunningHost;
let writer: Client;

const item = (code: string, category: string, rank: number): ItemInput => ({ code, name: code, category, rank, kind: 'k', slot: 0 });

beforeAll(async () => {
  host = await startFeaturesHost();
  writer = await connect(host);
});
afterAll(async () => {
  writer?.conn.disconnect();
  await host?.close();
});
beforeEach(async () => {
  await writer.conn.reducers.clearItems({ label: 'reset' });
});

/** Every onInsert/onDelete of item rows seen by a client, by code. */
function trackItems(c: Client) {
  const events: string[] = [];
  c.conn.db.item.onInsert((_ctx, row) => events.push(`+${row.code}`));
  c.conn.db.item.onDelete((_ctx, row) => events.push(`-${row.code}`));
  const codes = () => [...c.conn.db.item.iter()].map((r) => r.code).sort();
  return { events, codes };
}

describe('overlapping queries', () => {
  it('reference-counts rows across queries and query sets; onDelete fires when the last reference goes', async () => {
    for (const it of [item('i1', 'x', 1), item('i2', 'x', 10), item('i3', 'y', 10), item('i4', 'y', 20)]) await writer.conn.reducers.addItem({ item: it });
    const c = await connect(host);
    const { events, codes } = trackItems(c);

    const all = await subscribe(c.conn, ['SELECT * FROM item', 'SELECT * FROM item WHERE rank >= 10']);
    expect(codes()).toEqual(['i1', 'i2', 'i3', 'i4']);
    expect(c.conn.db.item.count()).toBe(4n);
    const ys = await subscribe(c.conn, ["SELECT * FROM item WHERE category = 'y'"]);
    expect(c.conn.db.item.count()).toBe(4n);
    expect(events.sort()).toEqual(['+i1', '+i2', '+i3', '+i4']);
    events.length = 0;

    // Matched by three queries in two sets: still one row, one onInsert, one onDelete.
    await writer.conn.reducers.addItem({ item: item('i5', 'y', 30) });
    await until(() => codes().includes('i5'), 'i5 arrives');
    await writer.conn.reducers.deleteByCode({ label: 'del i4', code: 'i4' });
    await until(() => !codes().includes('i4'), 'i4 goes');
    expect(events).toEqual(['+i5', '-i4']);
    expect(c.conn.db.item.count()).toBe(4n);
    events.length = 0;

    // Dropping the first set removes only rows no other set still holds.
    await unsubscribe(c.conn, all);
    expect(codes()).toEqual(['i3', 'i5']);
    expect(events.sort()).toEqual(['-i1', '-i2']);
    events.length = 0;

    await writer.conn.reducers.addItem({ item: item('i6', 'x', 50) });
    await writer.conn.reducers.addItem({ item: item('i7', 'y', 0) });
    await until(() => codes().includes('i7'), 'i7 arrives');
    expect(codes()).toEqual(['i3', 'i5', 'i7']);

    await unsubscribe(c.conn, ys);
    expect(c.conn.db.item.count()).toBe(0n);
    expect(events.sort()).toEqual(['+i7', '-i3', '-i5', '-i7']);
    c.conn.disconnect();
  });

  it('keeps rows of a query set whose update moves them between overlapping queries', async () => {
    await writer.conn.reducers.addItem({ item: item('m1', 'x', 1) });
    const c = await connect(host);
    const { events, codes } = trackItems(c);
    const low = await subscribe(c.conn, ['SELECT * FROM item WHERE rank < 100']);
    await subscribe(c.conn, ["SELECT * FROM item WHERE name = 'renamed'"]);
    expect(codes()).toEqual(['m1']);
    const m1 = [...c.conn.db.item.iter()][0]!;
    await writer.conn.reducers.renameItem({ id: m1.id, name: 'renamed' });
    await until(() => c.conn.db.item.id.find(m1.id)?.name === 'renamed', 'the rename arrives');
    await unsubscribe(c.conn, low);
    expect(codes()).toEqual(['m1']);
    expect(events).toEqual(['+m1']);
    c.conn.disconnect();
  });
});

describe('filters', () => {
  it('evaluates :sender per subscriber', async () => {
    const a = await connect(host);
    const b = await connect(host);
    await writer.conn.reducers.addTopic({ id: 1, title: 't1', featured: true });
    await a.conn.reducers.addPost({ topicId: 1, text: 'a1' });
    await b.conn.reducers.addPost({ topicId: 1, text: 'b1' });
    await subscribe(a.conn, ['SELECT * FROM post WHERE author = :sender']);
    await subscribe(b.conn, ['SELECT * FROM post WHERE author = :sender']);
    const texts = (c: Client) => [...c.conn.db.post.iter()].map((p) => p.text).sort();
    expect(texts(a)).toEqual(['a1']);
    expect(texts(b)).toEqual(['b1']);
    await b.conn.reducers.addPost({ topicId: 1, text: 'b2' });
    await a.conn.reducers.addPost({ topicId: 1, text: 'a2' });
    expect(texts(a)).toEqual(['a1', 'a2']);
    await until(() => texts(b).length === 2, 'b has its two posts');
    expect(texts(b)).toEqual(['b1', 'b2']);
    a.conn.disconnect();
    b.conn.disconnect();
  });

  it('follows a semijoin as the joined rows change (SQL text and query builder)', async () => {
    await writer.conn.reducers.addTopic({ id: 10, title: 'hot', featured: true });
    await writer.conn.reducers.addTopic({ id: 11, title: 'cold', featured: false });
    await writer.conn.reducers.addPost({ topicId: 10, text: 'in hot' });
    await writer.conn.reducers.addPost({ topicId: 11, text: 'in cold' });
    const sqlClient = await connect(host);
    const qbClient = await connect(host);
    await subscribe(sqlClient.conn, ['SELECT post.* FROM post JOIN topic ON post.topic_id = topic.id WHERE topic.featured = TRUE AND topic.id >= 10']);
    const builderSql = tables.topic
      .where((t) => t.featured.eq(true).and(t.id.gte(10)))
      .rightSemijoin(tables.post, (topic, post) => topic.id.eq(post.topicId))
      .toSql();
    await subscribe(qbClient.conn, [builderSql]);
    const texts = (c: Client) => [...c.conn.db.post.iter()].map((p) => p.text).sort();
    for (const c of [sqlClient, qbClient]) expect(texts(c)).toEqual(['in hot']);

    await writer.conn.reducers.setFeatured({ id: 11, featured: true });
    for (const c of [sqlClient, qbClient]) await until(() => texts(c).length === 2, 'cold topic’s post joins in');
    await writer.conn.reducers.setFeatured({ id: 10, featured: false });
    for (const c of [sqlClient, qbClient]) await until(() => texts(c).join() === 'in cold', 'hot topic’s post leaves');
    await writer.conn.reducers.addPost({ topicId: 11, text: 'cold again' });
    for (const c of [sqlClient, qbClient]) await until(() => texts(c).length === 2, 'a new post in a featured topic arrives');
    sqlClient.conn.disconnect();
    qbClient.conn.disconnect();
  });
});

describe('refused subscriptions', () => {
  it('reports invalid SQL, unknown names and unindexed joins through onError, and keeps serving', async () => {
    const c = await connect(host);
    const bad = [
      'SELEC * FROM item',
      'SELECT * FROM no_such_table',
      'SELECT * FROM item WHERE no_such_column = 1',
      'SELECT * FROM item WHERE rank = 1 ORDER BY rank',
      'SELECT item.* FROM item JOIN post ON item.name = post.text',
      'SELECT * FROM item JOIN topic ON item.id = topic.id',
    ];
    for (const sql of bad) {
      const err = await subscriptionError(c.conn, [sql]);
      expect(err.message, sql).not.toBe('');
    }
    const unindexed = await subscriptionError(c.conn, ['SELECT item.* FROM item JOIN post ON item.name = post.text']);
    expect(unindexed.message).toMatch(/index/i);
    // A set with one bad query is refused as a whole.
    await writer.conn.reducers.addItem({ item: item('ok1', 'x', 1) });
    await subscriptionError(c.conn, ['SELECT * FROM item', 'SELECT * FROM nope']);
    expect(c.conn.db.item.count()).toBe(0n);
    // The connection still works.
    await subscribe(c.conn, ['SELECT * FROM item']);
    expect(c.conn.db.item.count()).toBe(1n);
    c.conn.disconnect();
  });

  it('hides private tables from a non-owner', async () => {
    const c = await connect(host);
    await c.conn.reducers.addNote({ text: 'secret' });
    const err = await subscriptionError(c.conn, ['SELECT * FROM note']);
    expect(err.message).not.toMatch(/secret/);
    const errBanned = await subscriptionError(c.conn, ['SELECT * FROM banned']);
    expect(errBanned.message.length).toBeGreaterThan(0);
    // The same query over the host's SQL route: refused for the client, answered for the owner.
    const sql = (token: string) =>
      fetch(`${host.url}/v1/database/features/sql`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: 'SELECT * FROM note' });
    expect((await sql(c.token)).status).toBe(400);
    const asOwner = await sql(host.ownerToken!);
    expect(asOwner.status).toBe(200);
    expect(JSON.stringify(await asOwner.json())).toContain('secret');
    c.conn.disconnect();
  });
});

describe('subscribing to everything', () => {
  it('applies SELECT * FROM * over the public tables', async () => {
    await writer.conn.reducers.addItem({ item: item('all1', 'x', 1) });
    await writer.conn.reducers.addTopic({ id: 20, title: 'everything', featured: false });
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM *']);
    expect([...c.conn.db.item.iter()].map((r) => r.code)).toEqual(['all1']);
    expect(c.conn.db.topic.id.find(20)?.title).toBe('everything');
    expect(c.conn.db.counter.name.find('init_runs')?.value).toBe(1);
    c.conn.disconnect();
  });

  it('applies subscribeToAllTables() (tables, event tables and views) and follows updates', async () => {
    await writer.conn.reducers.addItem({ item: item('all2', 'x', 500) });
    const c = await connect(host);
    const applied = deferred<void>();
    c.conn
      .subscriptionBuilder()
      .onApplied(() => applied.resolve())
      .onError((ctx) => applied.reject(ctx.event ?? new Error('subscribeToAllTables failed')))
      .subscribeToAllTables();
    await applied.promise;
    expect([...c.conn.db.item.iter()].map((r) => r.code)).toEqual(['all2']);
    expect([...c.conn.db.topItems.iter()].map((r) => r.code)).toEqual(['all2']);
    const pings: number[] = [];
    c.conn.db.pingEvent.onInsert((_ctx, row) => pings.push(row.n));
    await writer.conn.reducers.emitPings({ count: 2 });
    await until(() => pings.length === 2, 'events arrive through subscribeToAllTables');
    await writer.conn.reducers.addItem({ item: item('all3', 'x', 1) });
    await until(() => c.conn.db.item.count() === 2n, 'updates arrive through subscribeToAllTables');
    c.conn.disconnect();
  });
});
