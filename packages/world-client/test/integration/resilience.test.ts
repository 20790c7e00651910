// Losing the world and coming back: a host restart mid-conversation, writes made while it is
// down, a client process restarting with a persisted outbox, and resuming from checkpoints —
// with no message lost or repeated, in order.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveredMessage, TestClient } from '../support/types';
import { FileOutboxStorage } from '../../src/node/index';
import { startTestWorld, until, type TestWorld } from '../support/world';

let world: TestWorld;
beforeAll(async () => {
  world = await startTestWorld();
});
afterAll(async () => {
  await world?.close();
});

async function started(client: TestClient): Promise<TestClient> {
  await client.client.start();
  const connected = await client.client.whenConnected(10_000);
  if (!connected.ok) throw new Error(connected.message);
  return client;
}

async function directChannel(from: TestClient, to: TestClient): Promise<string> {
  const opened = await from.client.openChannel({ name: 'pair', kind: 'direct', participants: [to.client.identity!] });
  if (!opened.ok || !opened.channelId) throw new Error(`open_channel failed: ${opened.ok ? 'no id' : opened.message}`);
  await until(() => to.client.stores.channels.getState().mine[opened.channelId!] !== undefined, 'the peer sees the channel');
  return opened.channelId;
}

function listen(client: TestClient, channelId: string): DeliveredMessage[] {
  const got: DeliveredMessage[] = [];
  client.client.onMessage((message) => {
    if (message.channelId === channelId) got.push(message);
  });
  return got;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('host restart mid-conversation', () => {
  it('loses and repeats nothing: both sides get every message once, in one gapless order', async () => {
    const alice = await started(world.client({ name: 'alice' }));
    const bob = await started(world.client({ name: 'bob' }));
    const channelId = await directChannel(alice, bob);
    const atAlice = listen(alice, channelId);
    const atBob = listen(bob, channelId);

    const writes: Promise<{ ok: boolean }>[] = [];
    const say = (who: TestClient, text: string) => writes.push(who.client.publishMessage({ channelId, payload: text }));
    for (let i = 0; i < 10; i++) {
      say(alice, `a${i}`);
      say(bob, `b${i}`);
      await sleep(5);
    }
    await world.stopHost();
    // Written while the world is down: held in the outboxes.
    for (let i = 10; i < 15; i++) {
      say(alice, `a${i}`);
      say(bob, `b${i}`);
    }
    await until(() => alice.client.stores.connection.getState().status === 'reconnecting', 'alice notices');
    expect(alice.client.outbox.depth).toBeGreaterThanOrEqual(5);
    await world.restartHost();
    for (let i = 15; i < 20; i++) {
      say(alice, `a${i}`);
      say(bob, `b${i}`);
    }
    const results = await Promise.all(writes);
    expect(results.every((result) => result.ok)).toBe(true);
    await until(() => atAlice.length >= 40 && atBob.length >= 40, 'everything delivered', 15_000);
    await sleep(100);

    for (const got of [atAlice, atBob]) {
      expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (const who of ['a', 'b']) {
        expect(got.filter((m) => m.payload.startsWith(who)).map((m) => m.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `${who}${i}`));
      }
    }
    expect(atBob.map((m) => m.hash)).toEqual(atAlice.map((m) => m.hash));
    expect(alice.client.stores.connection.getState()).toMatchObject({ status: 'connected', reconnects: 1 });
    // Seen-acks keep flowing for a moment; then the outbox is empty and health says so.
    await until(() => alice.client.stores.health.getState().outboxDepth === 0, 'outbox empty in the health store');
    const stored = bob.client.stores.messages.getState().byChannel[channelId]!;
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await until(() => alice.client.stores.presence.getState().nodes[bob.client.identity!]?.status === 'online', 'bob online again');
  });
});

describe('outbox across a client restart', () => {
  it('delivers writes queued by a stopped client exactly once when it comes back, including one already applied', async () => {
    const carol = await started(world.client({ name: 'carol' }));
    const dave = await started(world.client({ name: 'dave' }));
    const channelId = await directChannel(carol, dave);
    const atDave = listen(dave, channelId);

    // An earlier attempt of "c0" reached the world but its answer never came back.
    const conn = carol.client.link!.conn;
    await conn.reducers.publishMessage({ channelId: BigInt(channelId), idempotencyKey: 'carol-c0', kind: 'text', contentType: 'text/plain', payload: 'c0', replyToSeq: 0n });
    await until(() => atDave.length === 1, 'dave got c0');

    await world.stopHost();
    const outboxFile = join(mkdtempSync(join(tmpdir(), 'carol-')), 'outbox.jsonl');
    // Carol's process restarts with a file outbox while the world is down and writes into it.
    await carol.client.stop();
    const storage = new FileOutboxStorage(outboxFile);
    const offline = world.client({ identity: carol.identity, name: 'carol', outboxStorage: storage });
    await offline.client.start();
    const queued = [await offline.client.publishMessage({ channelId, payload: 'c0', idempotencyKey: 'carol-c0' }, { wait: 'queued' })];
    for (let i = 1; i <= 4; i++) queued.push(await offline.client.publishMessage({ channelId, payload: `c${i}` }, { wait: 'queued' }));
    expect(queued.every((result) => result.ok && result.queued)).toBe(true);
    await offline.client.stop();
    await storage.close();

    await world.restartHost();
    const back = world.client({ identity: carol.identity, name: 'carol', outboxStorage: new FileOutboxStorage(outboxFile) });
    await started(back);
    await until(() => back.client.outbox.depth === 0, 'outbox drained', 10_000);
    await until(() => atDave.length >= 5, 'dave got everything', 10_000);
    await sleep(100);
    expect(atDave.map((m) => m.payload)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(atDave.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('resume from the transport checkpoint', () => {
  it('a node that comes back gets exactly the messages after its checkpoint, in order', async () => {
    const erin = await started(world.client({ name: 'erin' }));
    const frank = await started(world.client({ name: 'frank' }));
    const channelId = await directChannel(erin, frank);
    const first = listen(frank, channelId);
    for (let i = 1; i <= 3; i++) await erin.client.publishMessage({ channelId, payload: `before ${i}` });
    await until(() => first.length === 3, 'frank saw the first three');
    await until(() => frank.client.stores.channels.getState().checkpoints[channelId]?.lastSeenSeq === 3, 'checkpoint at 3');
    await frank.client.stop();

    for (let i = 1; i <= 25; i++) await erin.client.publishMessage({ channelId, payload: `missed ${i}`, kind: 'text' }, { wait: 'queued' });
    await until(() => erin.client.outbox.depth === 0, 'erin sent all');

    const again = world.client({ identity: frank.identity, name: 'frank' });
    const resumed = listen(again, channelId);
    await started(again);
    await until(() => resumed.length >= 25, 'frank caught up', 10_000);
    await sleep(100);
    expect(resumed.map((m) => m.payload)).toEqual(Array.from({ length: 25 }, (_, i) => `missed ${i + 1}`));
    expect(resumed.map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 4));
    // The store still holds the whole history for the UI.
    expect(again.client.stores.messages.getState().byChannel[channelId]).toHaveLength(28);
    await until(() => again.client.stores.channels.getState().checkpoints[channelId]?.lastSeenSeq === 28, 'checkpoint moved to 28');
  });
});
