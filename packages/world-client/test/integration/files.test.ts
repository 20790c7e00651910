// Workspaces, shared files and conflicts through the typed wrappers and the stores.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { contentHash } from '@autopilot/line-ops';
import { startTestWorld, until, type TestClient, type TestWorld } from '../support/world';

let world: TestWorld;
let alice: TestClient;
let bob: TestClient;

beforeAll(async () => {
  world = await startTestWorld();
  alice = world.client({ name: 'alice' });
  bob = world.client({ name: 'bob' });
  for (const { client } of [alice, bob]) {
    await client.start();
    await client.whenConnected(10_000);
  }
});
afterAll(async () => {
  await world?.close();
});

it('edits a shared file, rebases a stale edit, turns an overlapping one into a conflict ticket, and resolves it', async () => {
  expect(await alice.client.createWorkspace({ slug: 'proj', name: 'Project' })).toMatchObject({ ok: true });
  await until(() => Object.values(alice.client.stores.files.getState().workspaces).some((w) => w.slug === 'proj'), 'workspace visible');
  const workspaceId = Object.values(alice.client.stores.files.getState().workspaces).find((w) => w.slug === 'proj')!.id;
  expect(await alice.client.inviteMember({ workspaceId, member: bob.client.identity!, role: 'editor' })).toMatchObject({ ok: true });
  await until(() => Object.values(bob.client.stores.files.getState().members).some((m) => m.member === bob.client.identity && m.workspaceId === workspaceId), 'bob is a member');

  const created = await alice.client.applyFileOps({ workspaceId, path: 'README.md', expectedBaseVersion: 0, ops: [{ start: 0, deleteCount: 1, lines: ['one', 'two', 'three'] }] });
  expect(created).toMatchObject({ ok: true, conflictTicketId: null });
  const fileOf = (client: TestClient) => Object.values(client.client.stores.files.getState().files).find((f) => f.path === 'README.md');
  await until(() => fileOf(bob)?.version === 1, 'bob sees version 1');
  expect(fileOf(bob)).toMatchObject({ content: 'one\ntwo\nthree', contentHash: contentHash('one\ntwo\nthree'), lineCount: 3 });

  // Both edit version 1: alice line 0, bob line 2 (rebased), then bob line 0 again (conflict).
  expect(await alice.client.applyFileOps({ workspaceId, path: 'README.md', expectedBaseVersion: 1, ops: [{ start: 0, deleteCount: 1, lines: ['ONE'] }] })).toMatchObject({ ok: true });
  expect(await bob.client.applyFileOps({ workspaceId, path: 'README.md', expectedBaseVersion: 1, ops: [{ start: 2, deleteCount: 1, lines: ['THREE'] }] })).toMatchObject({
    ok: true,
    conflictTicketId: null,
  });
  await until(() => fileOf(alice)?.version === 3, 'alice sees version 3');
  expect(fileOf(alice)!.content).toBe('ONE\ntwo\nTHREE');

  const conflicting = await bob.client.applyFileOps({ workspaceId, path: 'README.md', expectedBaseVersion: 1, ops: [{ start: 0, deleteCount: 1, lines: ['uno'] }] });
  if (!conflicting.ok || !conflicting.conflictTicketId) throw new Error(`expected a conflict ticket, got ${JSON.stringify(conflicting)}`);
  const ticketId = conflicting.conflictTicketId;
  expect(bob.client.stores.conflicts.getState().tickets[ticketId]).toMatchObject({ status: 'open', expectedBaseVersion: 1, headVersion: 3, actor: bob.client.identity });
  await until(() => alice.client.stores.conflicts.getState().recent.some((event) => event.ticketId === ticketId), 'alice saw the conflict event');
  expect(fileOf(bob)!.version).toBe(3);

  expect(await bob.client.resolveConflict({ ticketId, resolution: 'patch', expectedBaseVersion: 3, ops: [{ start: 0, deleteCount: 1, lines: ['uno'] }] })).toMatchObject({ ok: true });
  await until(() => alice.client.stores.conflicts.getState().tickets[ticketId]?.status === 'resolved', 'resolved everywhere');
  await until(() => fileOf(alice)?.version === 4, 'alice sees the patch');
  expect(fileOf(alice)!.content).toBe('uno\ntwo\nTHREE');
});

it('publishes presence (cursors) only while connected, to workspace members', async () => {
  const workspaceId = Object.values(alice.client.stores.files.getState().workspaces).find((w) => w.slug === 'proj')!.id;
  const fileId = Object.values(alice.client.stores.files.getState().files).find((f) => f.path === 'README.md')!.id;
  expect(await alice.client.publishPresence({ workspaceId, fileId, kind: 'cursor', anchor: { line: 1, col: 2 } })).toEqual({ ok: true });
  await until(() => bob.client.stores.presence.getState().events.some((e) => e.actor === alice.client.identity && e.kind === 'cursor'), 'bob sees the cursor');
  expect(bob.client.stores.presence.getState().events.at(-1)).toMatchObject({ fileId, anchor: { line: 1, col: 2 }, head: { line: 1, col: 2 } });
  expect(await alice.client.publishPresence({ workspaceId: 'x', kind: 'cursor' })).toMatchObject({ ok: false, code: 'invalid_argument' });
});
