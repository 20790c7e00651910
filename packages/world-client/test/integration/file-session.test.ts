// The FileSession property against the real world (control service, embedded host, the module,
// the SDK): three clients make random concurrent edits (inserts, deletes, multi-line pastes,
// same-line collisions, undo) through their sessions, with random delays on calls, results and
// rows. At quiescence every session's text equals the world's head and a replay of the op chain
// from a snapshot (and from genesis), and no token a client typed is lost outside a conflict.
// Seeded through the shared harness: SEED is the first run's seed, ITERATIONS the number of runs.
import { prng, seeded } from '@autopilot/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GENESIS_HASH } from '@autopilot/line-ops';
import { FileSession, WorldFileTransport, openFileSession } from '../../src/core/files/index';
import { replayFileOps, type FileOpLike } from '../../../../spacetime-module/src/replay';
import { DelayedTransport } from '../support/delayed-transport';
import { initialText, lostTokens, randomAction, type Tracker } from '../support/file-property';
import { startTestWorld, until, type TestClient, type TestWorld } from '../support/world';

const STEPS = 70;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let world: TestWorld;
let clients: TestClient[];
let workspaceId: string;

beforeAll(async () => {
  world = await startTestWorld();
  clients = ['c1', 'c2', 'c3'].map((name) => world.client({ name }));
  for (const { client } of clients) {
    await client.start();
    await client.whenConnected(10_000);
  }
  const owner = clients[0]!.client;
  expect(await owner.createWorkspace({ slug: 'live', name: 'Live editing' })).toMatchObject({ ok: true });
  await until(() => Object.values(owner.stores.files.getState().workspaces).some((w) => w.slug === 'live'), 'workspace visible');
  workspaceId = Object.values(owner.stores.files.getState().workspaces).find((w) => w.slug === 'live')!.id;
  for (const { client } of clients.slice(1)) {
    expect(await owner.inviteMember({ workspaceId, member: client.identity!, role: 'editor' })).toMatchObject({ ok: true });
  }
  for (const { client } of clients) {
    await until(() => Object.values(client.stores.files.getState().workspaces).some((w) => w.id === workspaceId), 'member sees the workspace');
  }
}, 60_000);

afterAll(async () => {
  await world?.close();
});

it('three clients edit one file concurrently and converge without losing keystrokes', seeded({ seed: 11, iterations: 2 }, async ({ seed: SEED, iterations: ITERATIONS }) => {
  let conflicts = 0;
  let versions = 0;
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    const seed = SEED + iteration;
    const random = prng(seed);
    const path = `notes-${seed}.txt`;
    const owner = clients[0]!.client;
    const created = await owner.applyFileOps({ workspaceId, path, expectedBaseVersion: 0, ops: [{ start: 0, deleteCount: 1, lines: initialText(24).split('\n') }] });
    expect(created).toMatchObject({ ok: true, conflictTicketId: null });
    const fileOf = (client: TestClient) => Object.values(client.client.stores.files.getState().files).find((f) => f.path === path);
    for (const client of clients) await until(() => fileOf(client)?.version === 1, `${path} visible`);
    const fileId = fileOf(clients[0]!)!.id;

    const trackers: Tracker[] = clients.map(({ client }, i) => {
      const file = fileOf(clients[i]!)!;
      const transport = new DelayedTransport(new WorldFileTransport(client, { workspaceId, path, fileId }), random, 12);
      const session = new FileSession({ head: { version: file.version, content: file.content }, transport, coalesceMs: 8, undoGroupMs: 20 });
      return { name: `c${i + 1}`, session, added: new Set<string>(), next: 0 };
    });
    const removed = new Set<string>();
    const log: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const tracker = trackers[Math.floor(random() * trackers.length)]!;
      log.push(`${tracker.name} ${randomAction(random, tracker, removed)}`);
      if (step === STEPS / 2) {
        // A snapshot mid-run, so the replay below starts from one.
        await owner.link!.conn.reducers.checkpointFile({ fileId: BigInt(fileId) });
      }
      await sleep(random() * 10);
    }

    const context = `seed ${seed}: ${log.join(', ')}`;
    await Promise.all(trackers.map((t) => t.session.whenIdle()));
    const head = () => fileOf(clients[0]!)!;
    await until(
      () => trackers.every((t) => t.session.state === 'synced' && t.session.version === head().version) && clients.every((c) => fileOf(c)!.version === head().version),
      `every session at the head (${context})`,
      20_000,
    );
    const final = head();
    for (const tracker of trackers) {
      expect(tracker.session.text, context).toBe(final.content);
      expect(lostTokens(tracker, final.content, removed), context).toEqual([]);
      conflicts += tracker.session.conflicts.length;
      tracker.session.close();
    }
    versions += final.version;

    // Replay the op chain from the snapshot and from genesis: both must give the head.
    const { ops, snapshots } = await fileHistory(clients[1]!, fileId);
    expect(ops.length, context).toBe(final.version);
    const snapshot = snapshots.filter((s) => s.version <= BigInt(final.version)).sort((a, b) => Number(b.version - a.version))[0];
    expect(snapshot, 'a snapshot was written').toBeDefined();
    const fromSnapshot = replayFileOps({ version: snapshot!.version, content: snapshot!.content, opHash: snapshot!.opHash }, ops.filter((op) => op.version > snapshot!.version));
    expect(fromSnapshot, context).toMatchObject({ ok: true, content: final.content, version: BigInt(final.version) });
    expect(replayFileOps({ version: 0n, content: '', opHash: GENESIS_HASH }, ops), context).toMatchObject({ ok: true, content: final.content });

    // Every conflict is one the world knows: its tickets are in the store.
    for (const tracker of trackers) {
      for (const conflict of tracker.session.conflicts) {
        for (const ticketId of conflict.ticketIds) expect(owner.stores.conflicts.getState().tickets[ticketId], context).toBeDefined();
      }
    }
  }
  // The run exercised both merging and conflicts.
  expect(versions).toBeGreaterThan(ITERATIONS * 5);
  expect(conflicts).toBeGreaterThan(0);
}), 120_000);

it('opens a session from the files store and reports a missing file clearly', async () => {
  const { client } = clients[0]!;
  expect(openFileSession(client, { workspaceId, path: 'missing.txt' })).toMatchObject({ ok: false, code: 'no_file' });
  const created = await client.applyFileOps({ workspaceId, path: 'open.txt', expectedBaseVersion: 0, ops: [{ start: 0, deleteCount: 1, lines: ['hello'] }] });
  expect(created).toMatchObject({ ok: true });
  await until(() => Object.values(client.stores.files.getState().files).some((f) => f.path === 'open.txt'), 'file visible');
  const opened = openFileSession(client, { workspaceId, path: 'open.txt' });
  if (!opened.ok) throw new Error(opened.message);
  const watcher = openFileSession(clients[1]!.client, { workspaceId, path: 'open.txt' });
  if (!watcher.ok) {
    await until(() => Object.values(clients[1]!.client.stores.files.getState().files).some((f) => f.path === 'open.txt'), 'file visible to c2');
  }
  const other = watcher.ok ? watcher : openFileSession(clients[1]!.client, { workspaceId, path: 'open.txt' });
  if (!other.ok) throw new Error(other.message);
  expect(opened.session.edit([{ from: 5, to: 5, insert: ', world' }])).toEqual({ ok: true });
  await opened.session.whenIdle();
  await until(() => other.session.text === 'hello, world', 'the other session sees the edit');
  expect(other.session.version).toBe(2);
  opened.session.close();
  other.session.close();
});

/** The file's op rows and snapshots as a member sees them (subscribed for this check). */
async function fileHistory(member: TestClient, fileId: string): Promise<{ ops: FileOpLike[]; snapshots: { version: bigint; content: string; opHash: string }[] }> {
  const conn = member.client.link!.conn;
  await new Promise<void>((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((ctx) => reject(new Error(String((ctx as { event?: unknown }).event ?? 'subscription failed'))))
      .subscribe([`SELECT * FROM my_file_ops WHERE file_id = ${fileId}`, `SELECT * FROM my_file_snapshots WHERE file_id = ${fileId}`]);
  });
  const id = BigInt(fileId);
  const ops = [...conn.db.myFileOps.iter()].filter((row) => row.fileId === id) as unknown as FileOpLike[];
  const snapshots = [...conn.db.myFileSnapshots.iter()].filter((row) => row.fileId === id);
  return { ops, snapshots };
}
