// Channels and messages through the real host and SDK: idempotent retries, gapless seq under
// concurrent writers, the hash chain end to end, privacy of private channels, acks, and the
// Nostr bridge outbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, verifyMessageChain } from '../src/canonical';
import { stateHash } from './support/state';
import { ALL_SCOPES, startWorld, subscribe, until, type World, type WorldNode, refused } from './support/world';

const INBOX = ['SELECT * FROM my_channels', 'SELECT * FROM my_messages', 'SELECT * FROM my_channel_participants', 'SELECT * FROM public_channels'];

describe('comms', () => {
  let world: World;
  let alice: WorldNode;
  let bob: WorldNode;
  let carol: WorldNode;

  beforeAll(async () => {
    world = await startWorld();
    [alice, bob, carol] = await Promise.all([world.node({ name: 'alice' }), world.node({ name: 'bob' }), world.node({ name: 'carol' })]);
    await Promise.all([alice, bob, carol].map((n) => subscribe(n.conn, INBOX)));
  });
  afterAll(async () => {
    await world?.close();
  });

  async function openChannel(owner: WorldNode, key: string, opts: { isPrivate?: boolean; mirror?: boolean; participants?: WorldNode[] } = {}) {
    await owner.conn.reducers.openChannel({
      idempotencyKey: key,
      workspaceId: 0n,
      name: key,
      topic: '',
      kind: '',
      isPrivate: opts.isPrivate ?? false,
      mirrorToNostr: opts.mirror ?? false,
      participants: (opts.participants ?? []).map((n) => n.identity),
    });
    await until(() => [...owner.conn.db.myChannels.iter()].some((c) => c.idempotencyKey === key), `channel ${key}`);
    return [...owner.conn.db.myChannels.iter()].find((c) => c.idempotencyKey === key)!.channelId;
  }

  const messagesOf = (node: WorldNode, channelId: bigint) => [...node.conn.db.myMessages.iter()].filter((m) => m.channelId === channelId);
  const send = (node: WorldNode, channelId: bigint, key: string, payload: string) =>
    node.conn.reducers.publishMessage({ channelId, idempotencyKey: key, kind: '', contentType: '', payload, replyToSeq: 0n });

  it('a retried publish (x10, concurrently) appends exactly one event', async () => {
    const channelId = await openChannel(alice, 'retries', { participants: [bob] });
    const attempts = Array.from({ length: 10 }, () => send(alice, channelId, 'retry-key-1', 'only once'));
    await Promise.all(attempts);
    await until(() => messagesOf(bob, channelId).length === 1, 'bob sees the message');
    const [event] = messagesOf(alice, channelId);
    expect(event).toMatchObject({ seq: 1n, payload: 'only once', idempotencyKey: 'retry-key-1', prevHash: GENESIS_HASH });
    expect(event!.sender.toHexString()).toBe(alice.hex);
    // Retrying an open_channel is a no-op too.
    await openChannel(alice, 'retries', { participants: [bob] });
    expect([...alice.conn.db.myChannels.iter()].filter((c) => c.idempotencyKey === 'retries')).toHaveLength(1);

    const before = stateHash(world.host.module);
    await refused(send(alice, channelId, 'retry-key-1', 'different text'), 'duplicate_key', 'idempotency_key was already used for a different message');
    await refused(send(bob, channelId, 'retry-key-1', 'only once'), 'duplicate_key', 'idempotency_key was already used by another sender');
    expect(stateHash(world.host.module)).toBe(before);
  });

  it('numbers messages 1..n without gaps under concurrent writers, and the chain verifies end to end', async () => {
    const writers = [alice, bob, carol];
    const channelId = await openChannel(alice, 'busy', { participants: [bob, carol] });
    const perWriter = 20;
    await Promise.all(
      writers.flatMap((writer, w) => Array.from({ length: perWriter }, (_, i) => send(writer, channelId, `busy-${w}-${i}`, `writer ${w} message ${i}`))),
    );
    const total = writers.length * perWriter;
    await until(() => messagesOf(carol, channelId).length === total, 'carol receives every message');
    const rows = messagesOf(carol, channelId);
    expect(rows.map((r) => r.seq).sort((a, b) => Number(a - b))).toEqual(Array.from({ length: total }, (_, i) => BigInt(i + 1)));
    const verified = verifyMessageChain(rows);
    expect(verified).toEqual({ ok: true, head: expect.any(String), count: total });
    const channel = [...carol.conn.db.myChannels.iter()].find((c) => c.channelId === channelId)!;
    expect(channel.lastSeq).toBe(BigInt(total));
    expect(verified.ok && verified.head).toBe(channel.lastHash);
    // Each writer's own messages keep their relative order.
    for (const writer of writers) {
      const mine = rows.filter((r) => r.sender.toHexString() === writer.hex).sort((a, b) => Number(a.seq - b.seq));
      expect(mine.map((r) => r.payload)).toEqual(Array.from({ length: perWriter }, (_, i) => `writer ${writers.indexOf(writer)} message ${i}`));
    }
  });

  it('keeps private channels and their messages away from outsiders', async () => {
    const channelId = await openChannel(alice, 'secret', { isPrivate: true, participants: [bob] });
    await send(alice, channelId, 'secret-1', 'for bob only');
    await until(() => messagesOf(bob, channelId).length === 1, 'bob receives');
    expect(messagesOf(carol, channelId)).toEqual([]);
    expect([...carol.conn.db.myChannels.iter()].some((c) => c.channelId === channelId)).toBe(false);
    expect([...carol.conn.db.publicChannels.iter()].some((c) => c.channelId === channelId)).toBe(false);
    expect([...carol.conn.db.myChannelParticipants.iter()].some((p) => p.channelId === channelId)).toBe(false);
    // The table behind the view is private: an outsider cannot subscribe to it at all.
    await expect(subscribe(carol.conn, ['SELECT * FROM message_event'])).rejects.toBeTruthy();

    const before = stateHash(world.host.module);
    await refused(carol.conn.reducers.joinChannel({ channelId }), 'not_found', `join_channel denied: no public channel ${channelId}`);
    await refused(send(carol, channelId, 'carol-1', 'let me in'), 'not_member', `publish_message denied: not a participant of channel ${channelId}`);
    await refused(carol.conn.reducers.ackMessage({ channelId, seenSeq: 1n, ackedSeq: 1n }), 'not_member', 'ack_message denied: not a participant');
    await refused(bob.conn.reducers.addChannelParticipant({ channelId, participant: carol.identity }), 'not_owner', 'only the channel owner may add people to a private channel');
    expect(stateHash(world.host.module)).toBe(before);

    // The owner adds carol: history becomes visible to her; bob leaves: it disappears for him.
    await alice.conn.reducers.addChannelParticipant({ channelId, participant: carol.identity });
    await until(() => messagesOf(carol, channelId).length === 1, 'carol sees history once added');
    await bob.conn.reducers.leaveChannel({ channelId });
    await until(() => messagesOf(bob, channelId).length === 0, 'bob loses the channel after leaving');
    expect([...bob.conn.db.myChannels.iter()].some((c) => c.channelId === channelId)).toBe(false);
  });

  it('moves checkpoints forward only, never past the last seq', async () => {
    const channelId = await openChannel(alice, 'acks', { participants: [bob] });
    await subscribe(bob.conn, ['SELECT * FROM my_checkpoints']);
    for (let i = 1; i <= 3; i++) await send(alice, channelId, `acks-${i}`, `m${i}`);
    await bob.conn.reducers.ackMessage({ channelId, seenSeq: 3n, ackedSeq: 2n });
    await bob.conn.reducers.ackMessage({ channelId, seenSeq: 1n, ackedSeq: 1n });
    await until(() => [...bob.conn.db.myCheckpoints.iter()].some((c) => c.channelId === channelId), 'checkpoint row');
    expect([...bob.conn.db.myCheckpoints.iter()].find((c) => c.channelId === channelId)).toMatchObject({ lastSeenSeq: 3n, lastAckedSeq: 2n });
    await refused(bob.conn.reducers.ackMessage({ channelId, seenSeq: 4n, ackedSeq: 4n }), 'invalid_argument', 'has no seq 4 yet (last is 3)');
  });

  it('closes channels: only owners may, and closed channels take no messages', async () => {
    const channelId = await openChannel(alice, 'closing', { participants: [bob] });
    await refused(bob.conn.reducers.closeChannel({ channelId }), 'not_owner', 'is not yours to close');
    await alice.conn.reducers.closeChannel({ channelId });
    await alice.conn.reducers.closeChannel({ channelId });
    await refused(send(bob, channelId, 'closed-1', 'late'), 'invalid_state', `channel ${channelId} is closed`);
  });

  it('mirrors messages of mirrored channels into the bridge outbox for the mirror worker', async () => {
    const worker = await world.node({ name: 'mirror' });
    const plain = await world.node({ scopes: ALL_SCOPES.filter((s) => s !== 'bridge:publish'), name: 'plain' });
    await Promise.all([worker, plain].map((n) => subscribe(n.conn, ['SELECT * FROM bridge_pending', 'SELECT * FROM my_bridge_events'])));
    await subscribe(alice.conn, ['SELECT * FROM my_bridge_events']);

    await refused(plain.conn.reducers.openChannel({
        idempotencyKey: 'mirror-denied',
        workspaceId: 0n,
        name: 'm',
        topic: '',
        kind: '',
        isPrivate: false,
        mirrorToNostr: true,
        participants: [],
      }), 'missing_scope', 'mirror_to_nostr needs scope bridge:publish');
    await refused(openChannel(alice, 'mirror-private', { isPrivate: true, mirror: true }), 'invalid_argument', 'a private channel cannot be mirrored');

    const channelId = await openChannel(alice, 'mirrored', { mirror: true });
    await send(alice, channelId, 'mirrored-1', 'hello nostr');
    await until(() => worker.conn.db.bridgePending.count() === 1n, 'worker sees the pending event');
    const pending = [...worker.conn.db.bridgePending.iter()][0]!;
    expect(pending).toMatchObject({ source: 'message', channelId, content: 'hello nostr', state: 'pending', nostrKind: 1 });
    expect(JSON.parse(pending.tagsJson)).toContainEqual(['autopilot-seq', '1']);
    expect(plain.conn.db.bridgePending.count()).toBe(0n);

    const eventId = 'ab'.repeat(32);
    await refused(plain.conn.reducers.markBridgeEventPublished({ outboxId: pending.outboxId, nostrEventId: eventId, relay: 'wss://relay.test' }), 'not_owner', `outbox row ${pending.outboxId} is not yours`);
    await worker.conn.reducers.markBridgeEventFailed({ outboxId: pending.outboxId, error: 'relay timeout' });
    await until(() => [...worker.conn.db.bridgePending.iter()].some((r) => r.state === 'failed'), 'failed row stays queued');
    await worker.conn.reducers.markBridgeEventPublished({ outboxId: pending.outboxId, nostrEventId: eventId, relay: 'wss://relay.test' });
    await worker.conn.reducers.markBridgeEventPublished({ outboxId: pending.outboxId, nostrEventId: eventId, relay: 'wss://relay.test' });
    await refused(worker.conn.reducers.markBridgeEventPublished({ outboxId: pending.outboxId, nostrEventId: 'cd'.repeat(32), relay: '' }), 'invalid_state', `was already published as ${eventId}`);
    await until(() => worker.conn.db.bridgePending.count() === 0n, 'published row leaves the queue');
    await until(() => [...alice.conn.db.myBridgeEvents.iter()].some((r) => r.state === 'published'), 'author sees it published');
    expect([...alice.conn.db.myBridgeEvents.iter()][0]).toMatchObject({ nostrEventId: eventId, attempts: 2, relay: 'wss://relay.test' });

    // Direct enqueue is idempotent by key.
    const direct = { idempotencyKey: 'direct-1', channelId: 0n, nostrKind: 30_023, content: 'status', tagsJson: '[["t","autopilot"]]' };
    await worker.conn.reducers.enqueueNostrBridgeEvent(direct);
    await worker.conn.reducers.enqueueNostrBridgeEvent(direct);
    await until(() => worker.conn.db.bridgePending.count() === 1n, 'one direct event');
    await refused(worker.conn.reducers.enqueueNostrBridgeEvent({ ...direct, content: 'changed' }), 'duplicate_key', 'already used for a different event');
    await refused(worker.conn.reducers.enqueueNostrBridgeEvent({ ...direct, idempotencyKey: 'direct-2', tagsJson: '{"t":1}' }), 'invalid_argument', 'tags_json must be a JSON array of string arrays');
  });
});
