// Event tables and views through the real SDK: events fire onInsert once per row and are never
// cached; anonymous, per-sender and query-builder views refresh after reducers; a view that
// throws fails the transaction that would refresh it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../src/index';
import { connect, rejection, startFeaturesHost, subscribe, subscriptionError, unsubscribe, type Client } from './features-helpers';
import { until } from './helpers';

const FATAL = 'The instance encountered a fatal error.';

let host: RunningHost;
let a: Client;
let b: Client;

beforeAll(async () => {
  host = await startFeaturesHost();
  a = await connect(host);
  b = await connect(host);
});
afterAll(async () => {
  a?.conn.disconnect();
  b?.conn.disconnect();
  await host?.close();
});

describe('event tables', () => {
  it('fire onInsert per event for every subscriber, keep no rows and send nothing when rolled back', async () => {
    const aEvents: string[] = [];
    const bEvents: string[] = [];
    a.conn.db.pingEvent.onInsert((ctx, row) => aEvents.push(`${ctx.event.tag}:${row.n}`));
    b.conn.db.pingEvent.onInsert((ctx, row) => bEvents.push(`${ctx.event.tag}:${row.n}:${row.sender.isEqual(a.identity)}`));
    await subscribe(a.conn, ['SELECT * FROM ping_event']);
    await subscribe(b.conn, ['SELECT * FROM ping_event']);

    await a.conn.reducers.emitPings({ count: 3 });
    expect(aEvents).toEqual(['Reducer:1', 'Reducer:2', 'Reducer:3']);
    await until(() => bEvents.length === 3, 'b receives three events');
    expect(bEvents).toEqual(['Transaction:1:true', 'Transaction:2:true', 'Transaction:3:true']);
    expect(a.conn.db.pingEvent.count()).toBe(0n);
    expect(b.conn.db.pingEvent.count()).toBe(0n);

    expect(await rejection(a.conn.reducers.emitPingThenFail({}))).toBe('rolled back after emitting');
    // A later event is the next thing b receives: the rolled-back one was never sent.
    await b.conn.reducers.emitPings({ count: 1 });
    await until(() => aEvents.length === 4, 'a receives b’s event');
    expect(aEvents[3]).toBe('Transaction:1');
    expect(bEvents).toHaveLength(4);
    expect(bEvents[3]).toBe('Reducer:1:false');

    // A new subscription gets no initial rows for an event table.
    const late = await connect(host);
    let lateInserts = 0;
    late.conn.db.pingEvent.onInsert(() => lateInserts++);
    await subscribe(late.conn, ['SELECT * FROM ping_event']);
    expect(late.conn.db.pingEvent.count()).toBe(0n);
    expect(lateInserts).toBe(0);
    late.conn.disconnect();
  });
});

describe('views', () => {
  it('refreshes an anonymous view when a reducer changes its inputs', async () => {
    await a.conn.reducers.clearItems({ label: 'reset' });
    await subscribe(b.conn, ['SELECT * FROM top_items']);
    expect(b.conn.db.topItems.count()).toBe(0n);
    const base = { category: 'c', kind: 'k', slot: 0 };
    await a.conn.reducers.addItem({ item: { ...base, name: 'low', rank: 50, code: 'v-low' } });
    await a.conn.reducers.addItem({ item: { ...base, name: 'high', rank: 150, code: 'v-high' } });
    await until(() => b.conn.db.topItems.count() === 1n, 'b sees the one top item');
    expect([...b.conn.db.topItems.iter()].map((r) => r.name)).toEqual(['high']);
    await a.conn.reducers.addItem({ item: { ...base, name: 'higher', rank: 1000, code: 'v-higher' } });
    await until(() => b.conn.db.topItems.count() === 2n, 'b sees the second top item');
    // The view's rows have a primary key (the item id), so a changed row is an update.
    const updated: string[] = [];
    b.conn.db.topItems.onUpdate((_ctx, before, after) => updated.push(`${before.name}->${after.name}`));
    const high = [...b.conn.db.topItems.iter()].find((r) => r.name === 'high')!;
    await a.conn.reducers.renameItem({ id: high.id, name: 'highest' });
    await until(() => updated.length === 1, 'b sees the view row change');
    expect(updated).toEqual(['high->highest']);
    expect(b.conn.db.topItems.count()).toBe(2n);
    // A filtered subscription over the view.
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM top_items WHERE rank > 500']);
    expect([...c.conn.db.topItems.iter()].map((r) => r.name)).toEqual(['higher']);
    await a.conn.reducers.clearItems({ label: 'clear' });
    await until(() => b.conn.db.topItems.count() === 0n, 'the view empties with the table');
    await until(() => c.conn.db.topItems.count() === 0n, 'the filtered view empties too');
    c.conn.disconnect();
  });

  it('gives each identity its own rows of a sender view', async () => {
    await a.conn.reducers.addNote({ text: 'a1' });
    await b.conn.reducers.addNote({ text: 'b1' });
    await subscribe(a.conn, ['SELECT * FROM my_notes']);
    await subscribe(b.conn, ['SELECT * FROM my_notes']);
    expect([...a.conn.db.myNotes.iter()].map((n) => n.text)).toEqual(['a1']);
    expect([...b.conn.db.myNotes.iter()].map((n) => n.text)).toEqual(['b1']);

    let bChanges = 0;
    b.conn.db.myNotes.onInsert(() => bChanges++);
    await a.conn.reducers.addNote({ text: 'a2' });
    expect([...a.conn.db.myNotes.iter()].map((n) => n.text).sort()).toEqual(['a1', 'a2']);
    await b.conn.reducers.addNote({ text: 'b2' });
    expect([...b.conn.db.myNotes.iter()].map((n) => n.text).sort()).toEqual(['b1', 'b2']);
    expect(bChanges).toBe(1);
    expect([...a.conn.db.myNotes.iter()].every((n) => n.owner.isEqual(a.identity))).toBe(true);
  });

  it('shares a sender view between two connections of one identity until the last one leaves', async () => {
    const first = await connect(host);
    const second = await connect(host, first.token);
    expect(second.identity.isEqual(first.identity)).toBe(true);
    await first.conn.reducers.addNote({ text: 'shared-1' });
    await subscribe(first.conn, ['SELECT * FROM my_notes']);
    const handle = await subscribe(second.conn, ['SELECT * FROM my_notes']);
    const texts = (c: Client) => [...c.conn.db.myNotes.iter()].map((n) => n.text).sort();
    expect(texts(second)).toEqual(['shared-1']);

    // Wait until the host has processed the first connection's departure (client_disconnected logs it).
    await subscribe(second.conn, ['SELECT * FROM connection_log']);
    const firstId = first.conn.connectionId;
    first.conn.disconnect();
    await until(
      () => [...second.conn.db.connectionLog.iter()].some((r) => r.kind === 'disconnected' && r.connectionId.isEqual(firstId)),
      'the host processes the first disconnect',
    );
    await second.conn.reducers.addNote({ text: 'shared-2' });
    expect(texts(second)).toEqual(['shared-1', 'shared-2']);

    // Dropping the last subscription and subscribing again materialises the view afresh.
    await unsubscribe(second.conn, handle);
    expect(second.conn.db.myNotes.count()).toBe(0n);
    await second.conn.reducers.addNote({ text: 'shared-3' });
    await subscribe(second.conn, ['SELECT * FROM my_notes']);
    expect(texts(second)).toEqual(['shared-1', 'shared-2', 'shared-3']);
    second.conn.disconnect();
  });

  it('refreshes views after a procedure commits', async () => {
    const c = await connect(host);
    await subscribe(c.conn, ['SELECT * FROM fragile']);
    const before = c.conn.db.fragile.count();
    await c.conn.procedures.addTopicViaTx({ id: 50, title: 'from a procedure' });
    await until(() => c.conn.db.fragile.count() === before + 1n, 'the view gains the procedure’s topic');
    c.conn.disconnect();
  });

  it('evaluates views that return a query (anonymous and per sender)', async () => {
    await a.conn.reducers.addTopic({ id: 1, title: 'one', featured: true });
    await a.conn.reducers.addTopic({ id: 2, title: 'two', featured: false });
    await subscribe(b.conn, ['SELECT * FROM featured_topics']);
    const featured = () => [...b.conn.db.featuredTopics.iter()].map((r) => r.id).sort();
    expect(featured()).toEqual([1]);
    await a.conn.reducers.setFeatured({ id: 2, featured: true });
    await until(() => featured().length === 2, 'topic 2 becomes featured');
    await a.conn.reducers.setFeatured({ id: 1, featured: false });
    await until(() => featured().join() === '2', 'topic 1 stops being featured');

    await a.conn.reducers.addPost({ topicId: 1, text: 'by a' });
    await b.conn.reducers.addPost({ topicId: 1, text: 'by b' });
    await subscribe(a.conn, ['SELECT * FROM my_posts']);
    await subscribe(b.conn, ['SELECT * FROM my_posts']);
    expect([...a.conn.db.myPosts.iter()].map((p) => p.text)).toEqual(['by a']);
    expect([...b.conn.db.myPosts.iter()].map((p) => p.text)).toEqual(['by b']);
    await b.conn.reducers.addPost({ topicId: 2, text: 'b again' });
    expect([...b.conn.db.myPosts.iter()].map((p) => p.text).sort()).toEqual(['b again', 'by b']);
    expect([...a.conn.db.myPosts.iter()].map((p) => p.text)).toEqual(['by a']);
  });

  it('fails a reducer whose commit would refresh a throwing view', async () => {
    await subscribe(a.conn, ['SELECT * FROM config']);
    const fragileFlag = () => a.conn.db.config.key.find('fragile')?.flag;
    expect(fragileFlag()).toBe(false);
    const handle = await subscribe(b.conn, ['SELECT * FROM fragile']);
    const topicsBefore = b.conn.db.fragile.count();
    expect(topicsBefore).toBeGreaterThan(0n);

    expect(await rejection(a.conn.reducers.setConfig({ key: 'fragile', flag: true }))).toBe(FATAL);
    expect(fragileFlag()).toBe(false);
    // Unrelated tables read by the view are still writable while it does not throw.
    await a.conn.reducers.addTopic({ id: 3, title: 'three', featured: false });
    await until(() => b.conn.db.fragile.count() === topicsBefore + 1n, 'the fragile view refreshes normally');

    await unsubscribe(b.conn, handle);
  });

  it('answers a subscription to a view that throws with a subscription error, keeping the connection', async () => {
    await subscribe(a.conn, ['SELECT * FROM config']);
    // With nobody subscribed the view is not evaluated, so the flag can be set ...
    await a.conn.reducers.setConfig({ key: 'fragile', flag: true });
    expect(a.conn.db.config.key.find('fragile')?.flag).toBe(true);
    // ... and then subscribing to the view must fail with a SubscriptionError.
    const c = await connect(host);
    try {
      const err = await subscriptionError(c.conn, ['SELECT * FROM fragile']);
      expect(err.message.length).toBeGreaterThan(0);
      expect(c.conn.isActive).toBe(true);
    } finally {
      c.conn.disconnect();
      await a.conn.reducers.setConfig({ key: 'fragile', flag: false });
    }
  });
});
