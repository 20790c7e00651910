// Several real clients in one real world: presence, channels, messages both ways, acks, ads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveredMessage, TestClient } from '../support/types';
import { startTestWorld, until, type TestWorld } from '../support/world';

let world: TestWorld;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

beforeAll(async () => {
  world = await startTestWorld();
  alice = world.client({ name: 'alice' });
  bob = world.client({ name: 'bob' });
  carol = world.client({ name: 'carol' });
  await Promise.all([alice, bob, carol].map(({ client }) => client.start()));
  for (const { client } of [alice, bob, carol]) expect(await client.whenConnected(10_000)).toEqual({ ok: true });
});
afterAll(async () => {
  await world?.close();
});

describe('presence', () => {
  it('every client sees the others online under their display names', async () => {
    const ids = [alice, bob, carol].map(({ client }) => client.identity!);
    for (const { client } of [alice, bob, carol]) {
      await until(() => ids.every((id) => client.stores.presence.getState().nodes[id]?.status === 'online'), 'everyone online');
      const names = ids.map((id) => client.stores.presence.getState().nodes[id]!.displayName);
      expect(names).toEqual(['alice', 'bob', 'carol']);
      expect(client.stores.presence.getState().self).toBe(client.identity);
    }
    const node = alice.client.stores.presence.getState().nodes[bob.client.identity!]!;
    expect(node.pubkey).toBe(bob.identity.publicKeyHex);
  });

  it('reports connected with no reconnects, and the transport lane as the primary', () => {
    const state = alice.client.stores.connection.getState();
    expect(state).toMatchObject({ status: 'connected', reason: '', lost: false, reconnects: 0, lane: 'spacetime', laneReason: 'primary connected' });
    expect(state.laneSwitches.map((change) => `${change.from}->${change.to}`)).toEqual(['hold->spacetime']);
  });
});

describe('channels and messages', () => {
  let channelId: string;
  const received = new Map<string, DeliveredMessage[]>();

  beforeAll(async () => {
    for (const { client } of [alice, bob, carol]) {
      const list: DeliveredMessage[] = [];
      received.set(client.identity!, list);
      client.onMessage((message) => list.push(message));
    }
    const opened = await alice.client.openChannel({ name: 'standup', topic: 'daily', participants: [bob.client.identity!, carol.client.identity!] });
    if (!opened.ok) throw new Error(`open_channel failed: ${opened.message}`);
    expect(opened.channelId).toMatch(/^[1-9][0-9]*$/);
    channelId = opened.channelId!;
  });

  it('opens a channel that every participant sees with its participants', async () => {
    for (const { client } of [alice, bob, carol]) {
      await until(() => client.stores.channels.getState().mine[channelId] !== undefined, 'channel visible');
      const channel = client.stores.channels.getState().mine[channelId]!;
      expect(channel).toMatchObject({ name: 'standup', topic: 'daily', kind: 'group', status: 'open', participantCount: 3 });
      const seats = client.stores.channels.getState().participants[channelId]!.map((seat) => seat.participant).sort();
      expect(seats).toEqual([alice, bob, carol].map((c) => c.client.identity!).sort());
    }
  });

  it('delivers messages written concurrently from both sides to everyone, in one gapless order', async () => {
    const sends = [];
    for (let i = 0; i < 15; i++) {
      sends.push(alice.client.publishMessage({ channelId, payload: `alice ${i}` }));
      sends.push(bob.client.publishMessage({ channelId, payload: `bob ${i}` }));
    }
    const results = await Promise.all(sends);
    expect(results.every((result) => result.ok)).toBe(true);
    for (const list of received.values()) await until(() => list.length === 30, 'all 30 messages delivered');

    const orders = [...received.values()].map((list) => list.map((m) => `${m.seq}:${m.payload}`));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    const seqs = [...received.values()][0]!.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Each writer's messages keep the order they were written in.
    const aliceOrder = [...received.values()][0]!.filter((m) => m.payload.startsWith('alice')).map((m) => m.payload);
    expect(aliceOrder).toEqual(Array.from({ length: 15 }, (_, i) => `alice ${i}`));
    const own = received.get(alice.client.identity!)!.filter((m) => m.own).length;
    expect(own).toBe(15);
    // The hash chain links every message to the one before.
    const stored = carol.client.stores.messages.getState().byChannel[channelId]!;
    expect(stored).toHaveLength(30);
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.prevHash).toBe(stored[i - 1]!.hash);
  });

  it('moves checkpoints: seen automatically, acked on request', async () => {
    await until(() => carol.client.stores.channels.getState().checkpoints[channelId]?.lastSeenSeq === 30, 'carol seen 30');
    expect(carol.client.stores.channels.getState().checkpoints[channelId]!.lastAckedSeq).toBe(0);
    const acked = await bob.client.ackMessage({ channelId, seq: 12 });
    expect(acked.ok).toBe(true);
    await until(() => bob.client.stores.channels.getState().checkpoints[channelId]?.lastAckedSeq === 12, 'bob acked 12');
    await until(() => bob.client.stores.channels.getState().checkpoints[channelId]?.lastSeenSeq === 30, 'bob seen 30');
  });

  it('refuses bad input before queueing, and settles a refused write with the reason', async () => {
    const bad = await alice.client.publishMessage({ channelId: 'general', payload: 'x' });
    expect(bad).toEqual({ ok: false, code: 'invalid_argument', message: expect.stringContaining('channelId must be a u64') });
    const empty = await alice.client.publishMessage({ channelId, payload: '' });
    expect(empty).toMatchObject({ ok: false, code: 'invalid_argument' });

    const outsider = world.client({ name: 'outsider' });
    await outsider.client.start();
    await outsider.client.whenConnected(10_000);
    const refused = await outsider.client.publishMessage({ channelId, payload: 'let me in' });
    expect(refused).toMatchObject({ ok: false, code: 'denied', message: expect.stringContaining(`not a participant of channel ${channelId}`) });
    expect(outsider.client.outbox.depth).toBe(0);
  });
});

describe('capability ads', () => {
  it('an ad is visible to everyone and replaced by the next one', async () => {
    const first = await alice.client.advertiseCapabilities({ computeClasses: ['cpu.small'], tools: ['hash.sha256'], maxConcurrency: 2, region: 'eu' });
    expect(first.ok).toBe(true);
    const aliceId = alice.client.identity!;
    const adOf = () => Object.values(bob.client.stores.capabilities.getState().ads).filter((ad) => ad.provider === aliceId);
    await until(() => adOf().length === 1, 'bob sees the ad');
    expect(adOf()[0]).toMatchObject({ computeClasses: ['cpu.small'], tools: ['hash.sha256'], maxConcurrency: 2, region: 'eu', active: true });

    await alice.client.advertiseCapabilities({ computeClasses: ['cpu.small', 'cpu.large'], tools: ['hash.sha256'], maxConcurrency: 4 });
    await until(() => adOf()[0]?.maxConcurrency === 4, 'bob sees the new ad');
    expect(adOf()).toHaveLength(1);
    expect(adOf()[0]!.computeClasses).toEqual(['cpu.small', 'cpu.large']);
  });
});
