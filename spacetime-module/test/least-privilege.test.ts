// Least privilege through the real host and SDK (issue 14 items 3 and 5): a node settles only its
// own bridge rows unless it is a mirror worker, sender views show a node only its own rows, and a
// conflict ticket is resolved only by its author or a holder of files:resolve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateHash } from './support/state';
import { ALL_SCOPES, refused, startWorld, subscribe, until, type World, type WorldNode } from './support/world';

/** What control grants the default `user` role: everything but bridge:publish. */
const USER_SCOPES = ALL_SCOPES.filter((scope) => scope !== 'bridge:publish');
const VIEWS = [
  'SELECT * FROM my_bridge_events',
  'SELECT * FROM my_compute_requests',
  'SELECT * FROM my_channels',
  'SELECT * FROM my_conflict_tickets',
  'SELECT * FROM my_files',
  'SELECT * FROM workspace',
];

describe('least privilege', () => {
  let world: World;
  let worker: WorldNode;
  let alice: WorldNode;
  let bob: WorldNode;

  beforeAll(async () => {
    world = await startWorld();
    worker = await world.node({ name: 'mirror worker' });
    alice = await world.node({ scopes: USER_SCOPES, name: 'alice' });
    bob = await world.node({ scopes: USER_SCOPES, name: 'bob' });
    await Promise.all([worker, alice, bob].map((node) => subscribe(node.conn, VIEWS)));
  });
  afterAll(async () => {
    await world?.close();
  });

  it('lets a node settle its own bridge rows, a mirror worker any row, and nobody else', async () => {
    await worker.conn.reducers.openChannel({
      idempotencyKey: 'lp-mirrored',
      workspaceId: 0n,
      name: 'mirrored',
      topic: '',
      kind: '',
      isPrivate: false,
      mirrorToNostr: true,
      participants: [],
    });
    await until(() => worker.conn.db.myChannels.count() === 1n, 'mirrored channel');
    const channelId = [...worker.conn.db.myChannels.iter()][0]!.channelId;
    for (const [node, key] of [
      [alice, 'lp-alice-1'],
      [bob, 'lp-bob-1'],
    ] as const) {
      await node.conn.reducers.joinChannel({ channelId });
      await node.conn.reducers.publishMessage({ channelId, idempotencyKey: key, kind: '', contentType: '', payload: key, replyToSeq: 0n });
    }
    await until(() => alice.conn.db.myBridgeEvents.count() === 1n && bob.conn.db.myBridgeEvents.count() === 1n, 'each sees its own row');
    const aliceRow = [...alice.conn.db.myBridgeEvents.iter()][0]!;
    const bobRow = [...bob.conn.db.myBridgeEvents.iter()][0]!;
    // my_bridge_events: own rows only for users; the mirror worker sees every row it may settle.
    expect(aliceRow.enqueuedBy.toHexString()).toBe(alice.hex);
    expect(bobRow.enqueuedBy.toHexString()).toBe(bob.hex);
    await until(() => worker.conn.db.myBridgeEvents.count() === 2n, 'the worker sees both rows');

    const before = stateHash(world.host.module);
    await refused(
      bob.conn.reducers.markBridgeEventPublished({ outboxId: aliceRow.outboxId, nostrEventId: 'ab'.repeat(32), relay: '' }),
      'not_owner',
      `outbox row ${aliceRow.outboxId} is not yours`,
    );
    await refused(bob.conn.reducers.markBridgeEventFailed({ outboxId: aliceRow.outboxId, error: 'no' }), 'not_owner', 'is not yours');
    expect(stateHash(world.host.module)).toBe(before);

    await alice.conn.reducers.markBridgeEventPublished({ outboxId: aliceRow.outboxId, nostrEventId: 'ab'.repeat(32), relay: 'wss://a' });
    await worker.conn.reducers.markBridgeEventFailed({ outboxId: bobRow.outboxId, error: 'relay down' });
    await until(() => [...alice.conn.db.myBridgeEvents.iter()][0]?.state === 'published', 'alice settled her own row');
    await until(() => [...bob.conn.db.myBridgeEvents.iter()][0]?.state === 'failed', "the worker settled bob's row");
    expect([...bob.conn.db.myBridgeEvents.iter()].map((row) => row.outboxId)).toEqual([bobRow.outboxId]);
  });

  it('shows a node only its own compute requests', async () => {
    const requestOf = (node: WorldNode, key: string) =>
      node.conn.reducers.requestCompute({
        idempotencyKey: key,
        workspaceId: 0n,
        policyClass: 'cpu',
        jobEnvelope: '{}',
        costHints: '',
        maxPriceMsats: 0n,
        slaMs: 0,
        targetProvider: undefined,
      });
    await requestOf(alice, 'lp-req-alice');
    await until(() => alice.conn.db.myComputeRequests.count() === 1n, 'alice sees her request');
    // Bob's own request, made after alice's, is the sync point: once he sees it, his view is current.
    await requestOf(bob, 'lp-req-bob');
    await until(() => bob.conn.db.myComputeRequests.count() >= 1n, 'bob sees his request');
    expect([...bob.conn.db.myComputeRequests.iter()].map((row) => row.idempotencyKey)).toEqual(['lp-req-bob']);
    expect([...alice.conn.db.myComputeRequests.iter()].map((row) => row.idempotencyKey)).toEqual(['lp-req-alice']);
  });

  it('lets only the ticket author or a files:resolve holder resolve a conflict', async () => {
    await worker.conn.reducers.createWorkspace({ slug: 'lp-docs', name: 'Docs' });
    await until(() => [...worker.conn.db.workspace.iter()].some((w) => w.slug === 'lp-docs'), 'workspace');
    const workspaceId = [...worker.conn.db.workspace.iter()].find((w) => w.slug === 'lp-docs')!.workspaceId;
    for (const member of [alice, bob]) {
      // Editors hold files:write but not files:resolve.
      await worker.conn.reducers.inviteMember({ workspaceId, member: member.identity, role: 'editor', capabilities: [] });
    }
    const edit = (node: WorldNode, opId: string, base: bigint, line: string) =>
      node.conn.reducers.applyFileOps({
        workspaceId,
        path: 'notes.txt',
        opId,
        expectedBaseVersion: base,
        ops: [{ start: 0, deleteCount: 1, lines: [line] }],
        rangeHashes: [],
      });
    await edit(worker, 'lp-op-1', 0n, 'v1');
    await edit(worker, 'lp-op-2', 1n, 'v2');
    await edit(alice, 'lp-op-alice', 1n, 'alice');
    await until(() => alice.conn.db.myConflictTickets.count() === 1n, "alice's ticket");
    const ticket = [...alice.conn.db.myConflictTickets.iter()][0]!;
    const resolve = (node: WorldNode) =>
      node.conn.reducers.resolveConflict({
        ticketId: ticket.ticketId,
        resolution: 'accept_head',
        opId: '',
        expectedBaseVersion: 0n,
        ops: [],
      });

    const before = stateHash(world.host.module);
    await refused(resolve(bob), 'not_owner', "only the ticket's author or a member with files:resolve may resolve it");
    expect(stateHash(world.host.module)).toBe(before);
    await resolve(alice);
    await until(() => [...bob.conn.db.myConflictTickets.iter()][0]?.status === 'resolved', 'resolved by its author');
  });
});
