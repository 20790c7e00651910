// Shared files through the real host and SDK: creation, the op chain, rebase of stale edits that
// touch no changed line, conflicts (tickets + events) for overlapping ones, both resolution
// paths, range hashes, scheduled checkpoints, workspace roles, and presence events.
import { contentHash, GENESIS_HASH, rangeHash } from '@autopilot/line-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayFileOps } from '../src/replay';
import { stateHash } from './support/state';
import { startWorld, subscribe, until, type World, type WorldNode, refused } from './support/world';

const VIEWS = [
  'SELECT * FROM my_files',
  'SELECT * FROM my_file_ops',
  'SELECT * FROM my_file_snapshots',
  'SELECT * FROM my_conflict_tickets',
  'SELECT * FROM conflict_event',
  'SELECT * FROM presence_event',
  'SELECT * FROM workspace',
  'SELECT * FROM workspace_member',
];
const TEN_LINES = Array.from({ length: 10 }, (_, i) => `line ${i}`);

describe('shared files', () => {
  let world: World;
  let owner: WorldNode;
  let editor: WorldNode;
  let viewer: WorldNode;
  let outsider: WorldNode;
  let workspaceId: bigint;
  let nextOp = 0;

  beforeAll(async () => {
    world = await startWorld({ configure: { checkpointEveryOps: 3 } });
    [owner, editor, viewer, outsider] = (await Promise.all(['owner', 'editor', 'viewer', 'outsider'].map((name) => world.node({ name })))) as [
      WorldNode,
      WorldNode,
      WorldNode,
      WorldNode,
    ];
    await Promise.all([owner, editor, viewer, outsider].map((n) => subscribe(n.conn, VIEWS)));
    await owner.conn.reducers.createWorkspace({ slug: 'docs', name: 'Docs' });
    await until(() => owner.conn.db.workspace.count() === 1n, 'workspace');
    workspaceId = [...owner.conn.db.workspace.iter()][0]!.workspaceId;
    await owner.conn.reducers.inviteMember({ workspaceId, member: editor.identity, role: 'editor', capabilities: [] });
    await owner.conn.reducers.inviteMember({ workspaceId, member: viewer.identity, role: 'viewer', capabilities: [] });
  });
  afterAll(async () => {
    await world?.close();
  });

  const fileOf = (node: WorldNode, path: string) => [...node.conn.db.myFiles.iter()].find((f) => f.path === path);
  const opsOf = (node: WorldNode, fileId: bigint) => [...node.conn.db.myFileOps.iter()].filter((o) => o.fileId === fileId);
  const ticketsOf = (node: WorldNode, fileId: bigint) => [...node.conn.db.myConflictTickets.iter()].filter((t) => t.fileId === fileId);
  const replace = (start: number, deleteCount: number, lines: string[]) => ({ start, deleteCount, lines });

  function apply(node: WorldNode, path: string, expectedBaseVersion: bigint, ops: ReturnType<typeof replace>[], opts: { opId?: string; rangeHashes?: { start: number; end: number; hash: string }[] } = {}) {
    return node.conn.reducers.applyFileOps({
      workspaceId,
      path,
      opId: opts.opId ?? `op-${++nextOp}`,
      expectedBaseVersion,
      ops,
      rangeHashes: opts.rangeHashes ?? [],
    });
  }

  async function createFile(path: string) {
    await apply(owner, path, 0n, [replace(0, 1, TEN_LINES)]);
    await until(() => fileOf(editor, path)?.version === 1n, `${path} created`);
    return fileOf(editor, path)!;
  }

  it('creates a file at version 1 and chains every op', async () => {
    const created = await createFile('chain.txt');
    expect(created).toMatchObject({ content: TEN_LINES.join('\n'), contentHash: contentHash(TEN_LINES.join('\n')), lineCount: 10 });
    await apply(editor, 'chain.txt', 1n, [replace(0, 1, ['LINE 0'])]);
    await apply(editor, 'chain.txt', 2n, [replace(10, 0, ['tail'])]);
    await until(() => fileOf(viewer, 'chain.txt')?.version === 3n, 'viewer sees version 3');
    const head = fileOf(viewer, 'chain.txt')!;
    const replayed = replayFileOps({ version: 0n, content: '', opHash: GENESIS_HASH }, opsOf(viewer, head.fileId));
    expect(replayed).toEqual({ ok: true, version: 3n, content: head.content, contentHash: head.contentHash, opHash: head.lastOpHash });
    await refused(apply(owner, 'missing.txt', 2n, [replace(0, 1, ['x'])]), 'not_found', 'create it with expected_base_version 0');
    await refused(apply(owner, 'chain.txt', 9n, [replace(0, 1, ['x'])]), 'stale_version', 'is ahead of head version 3');
    await refused(apply(owner, 'chain.txt', 3n, [replace(20, 1, ['x'])]), 'invalid_argument', 'version 3 has 11 lines');
    await refused(apply(owner, '../escape.txt', 0n, [replace(0, 1, ['x'])]), 'invalid_argument', "without empty, '.' or '..' segments");
  });

  it('applies a retried op id once', async () => {
    const file = await createFile('retry.txt');
    await Promise.all(Array.from({ length: 5 }, () => apply(editor, 'retry.txt', 1n, [replace(3, 1, ['retried'])], { opId: 'same-op' })));
    await until(() => fileOf(owner, 'retry.txt')?.version === 2n, 'one new version');
    expect(opsOf(owner, file.fileId)).toHaveLength(2);
    await refused(apply(owner, 'retry.txt', 1n, [replace(3, 1, ['retried'])], { opId: 'same-op' }), 'duplicate_key', 'op_id was already used by another node');
  });

  it('rebases a stale edit that touches no changed line, and records it as rebased', async () => {
    const file = await createFile('rebase.txt');
    await apply(editor, 'rebase.txt', 1n, [replace(7, 1, ['editor was here', 'and here'])]);
    await apply(owner, 'rebase.txt', 1n, [replace(1, 1, ['owner was here'])]);
    await until(() => fileOf(viewer, 'rebase.txt')?.version === 3n, 'both edits applied');
    const expected = [...TEN_LINES];
    expected.splice(7, 1, 'editor was here', 'and here');
    expected.splice(1, 1, 'owner was here');
    expect(fileOf(viewer, 'rebase.txt')!.content).toBe(expected.join('\n'));
    const ops = opsOf(viewer, file.fileId).sort((a, b) => Number(a.version - b.version));
    expect(ops.map((o) => [o.version, o.expectedBaseVersion, o.rebased])).toEqual([
      [1n, 0n, false],
      [2n, 1n, false],
      [3n, 1n, true],
    ]);
    // Stale by one version again, below the owner's change: lands on the same line.
    await apply(editor, 'rebase.txt', 2n, [replace(9, 1, ['was line 8'])]);
    await until(() => fileOf(viewer, 'rebase.txt')?.version === 4n, 'second rebased edit applied');
    expect(fileOf(viewer, 'rebase.txt')!.content.split('\n').slice(8)).toEqual(['and here', 'was line 8', 'line 9']);
  });

  it('refuses an overlapping stale edit: nothing written but a ticket and a conflict event', async () => {
    const file = await createFile('conflict.txt');
    const events: { opId: string; headVersion: bigint }[] = [];
    editor.conn.db.conflictEvent.onInsert((_ctx, row) => events.push({ opId: row.opId, headVersion: row.headVersion }));
    await apply(owner, 'conflict.txt', 1n, [replace(4, 2, ['owner rewrote 4-5'])]);
    await until(() => fileOf(editor, 'conflict.txt')?.version === 2n, 'owner edit applied');
    const headBefore = fileOf(editor, 'conflict.txt')!;
    await apply(editor, 'conflict.txt', 1n, [replace(5, 1, ['editor touched 5'])], { opId: 'clash-1' });
    await until(() => ticketsOf(editor, file.fileId).length === 1, 'ticket visible');
    const ticket = ticketsOf(editor, file.fileId)[0]!;
    expect(ticket).toMatchObject({ opId: 'clash-1', status: 'open', headVersion: 2n, headHash: headBefore.contentHash, expectedBaseVersion: 1n });
    expect(ticket.conflicts).toEqual([{ kind: 'edit', oursStart: 5, oursEnd: 6, theirsStart: 4, theirsEnd: 6, headStart: 4, headEnd: 5 }]);
    await until(() => events.length === 1, 'conflict event');
    expect(events[0]).toEqual({ opId: 'clash-1', headVersion: 2n });
    expect(fileOf(editor, 'conflict.txt')).toEqual(headBefore);

    // Touching (adjacent) edits conflict too; a retry of the same op id changes nothing.
    const before = stateHash(world.host.module);
    await apply(editor, 'conflict.txt', 1n, [replace(5, 1, ['editor touched 5'])], { opId: 'clash-1' });
    expect(stateHash(world.host.module)).toBe(before);
    await apply(editor, 'conflict.txt', 1n, [replace(6, 0, ['inserted at 6'])], { opId: 'clash-2' });
    await until(() => ticketsOf(editor, file.fileId).length === 2, 'second ticket');
  });

  it('resolves tickets by accepting head or by an explicit patch against head', async () => {
    const file = await createFile('resolve.txt');
    await apply(owner, 'resolve.txt', 1n, [replace(2, 1, ['theirs'])]);
    await apply(editor, 'resolve.txt', 1n, [replace(2, 1, ['ours A'])], { opId: 'resolve-a' });
    await apply(editor, 'resolve.txt', 1n, [replace(2, 1, ['ours B'])], { opId: 'resolve-b' });
    await until(() => ticketsOf(editor, file.fileId).length === 2, 'two tickets');
    const ticketA = ticketsOf(editor, file.fileId).find((t) => t.opId === 'resolve-a')!;
    const ticketB = ticketsOf(editor, file.fileId).find((t) => t.opId === 'resolve-b')!;

    const resolve = (node: WorldNode, ticketId: bigint, resolution: string, opId = '', expectedBaseVersion = 0n, ops: ReturnType<typeof replace>[] = []) =>
      node.conn.reducers.resolveConflict({ ticketId, resolution, opId, expectedBaseVersion, ops });

    await refused(resolve(viewer, ticketA.ticketId, 'accept_head'), 'lacks_capability', 'lacks files:write');
    await resolve(editor, ticketA.ticketId, 'accept_head');
    await resolve(editor, ticketA.ticketId, 'accept_head');
    await until(() => ticketsOf(owner, file.fileId).find((t) => t.ticketId === ticketA.ticketId)?.status === 'resolved', 'A resolved');
    expect(fileOf(owner, 'resolve.txt')!.version).toBe(2n);
    await refused(resolve(editor, ticketA.ticketId, 'patch', 'late-patch', 2n, [replace(2, 1, ['x'])]), 'invalid_state', 'was already resolved (accept_head)');

    await refused(resolve(editor, ticketB.ticketId, 'patch', 'patch-b', 1n, [replace(2, 1, ['merged'])]), 'stale_version', 'head is at version 2; write the patch against it');
    await refused(resolve(editor, ticketB.ticketId, 'rebase'), 'invalid_argument', 'resolution must be one of accept_head, patch');
    await resolve(owner, ticketB.ticketId, 'patch', 'patch-b', 2n, [replace(2, 1, ['theirs + ours B'])]);
    await resolve(owner, ticketB.ticketId, 'patch', 'patch-b', 2n, [replace(2, 1, ['theirs + ours B'])]);
    await until(() => fileOf(editor, 'resolve.txt')?.version === 3n, 'patch applied');
    expect(fileOf(editor, 'resolve.txt')!.content.split('\n')[2]).toBe('theirs + ours B');
    const resolved = ticketsOf(editor, file.fileId).find((t) => t.ticketId === ticketB.ticketId)!;
    expect(resolved).toMatchObject({ status: 'resolved', resolution: 'patch', resolutionOpId: 'patch-b' });
    expect(resolved.resolvedBy?.toHexString()).toBe(owner.hex);
    const patchOp = opsOf(editor, file.fileId).find((o) => o.opId === 'patch-b')!;
    expect(patchOp).toMatchObject({ kind: 'resolve', version: 3n, expectedBaseVersion: 2n, rebased: false });
    const replayed = replayFileOps({ version: 0n, content: '', opHash: GENESIS_HASH }, opsOf(editor, file.fileId));
    expect(replayed.ok && replayed.opHash).toBe(fileOf(editor, 'resolve.txt')!.lastOpHash);
  });

  it('checks range hashes: intact claims must match, claims over changed lines conflict', async () => {
    const file = await createFile('ranges.txt');
    const base = TEN_LINES.join('\n');
    const hashOf = (start: number, end: number) => {
      const result = rangeHash(base, { start, end });
      if (!result.ok) throw new Error(result.message);
      return result.hash;
    };
    await refused(apply(editor, 'ranges.txt', 1n, [replace(3, 1, ['x'])], { rangeHashes: [{ start: 3, end: 4, hash: hashOf(4, 5) }] }), 'stale_version', 'base lines [3, 4) do not hash to');
    await apply(owner, 'ranges.txt', 1n, [replace(0, 0, ['new first line'])]);
    // Stale by one version; lines 3..4 moved down by one but are unchanged: accepted.
    await apply(editor, 'ranges.txt', 1n, [replace(3, 1, ['three'])], { rangeHashes: [{ start: 3, end: 5, hash: hashOf(3, 5) }] });
    await until(() => fileOf(owner, 'ranges.txt')?.version === 3n, 'range-checked edit applied');
    expect(fileOf(owner, 'ranges.txt')!.content.split('\n')[4]).toBe('three');
    // A claim over line 0, which changed since version 1, is a conflict even though the op is elsewhere.
    await apply(editor, 'ranges.txt', 1n, [replace(8, 1, ['eight'])], { opId: 'range-clash', rangeHashes: [{ start: 0, end: 1, hash: hashOf(0, 1) }] });
    await until(() => ticketsOf(editor, file.fileId).length === 1, 'range ticket');
    expect(ticketsOf(editor, file.fileId)[0]!.conflicts.map((c) => c.kind)).toEqual(['range_hash']);
  });

  it('checkpoints every N ops on its schedule, and replay from the snapshot reaches head', async () => {
    const file = await createFile('snap.txt');
    for (let version = 1n; version < 5n; version++) await apply(editor, 'snap.txt', version, [replace(0, 1, [`v${version + 1n}`])]);
    await until(() => [...editor.conn.db.myFileSnapshots.iter()].some((s) => s.fileId === file.fileId), 'scheduled snapshot');
    const snapshot = [...editor.conn.db.myFileSnapshots.iter()].find((s) => s.fileId === file.fileId)!;
    expect(snapshot.version).toBeGreaterThanOrEqual(3n);
    expect(snapshot.contentHash).toBe(contentHash(snapshot.content));
    const head = fileOf(editor, 'snap.txt')!;
    const later = opsOf(editor, file.fileId).filter((o) => o.version > snapshot.version);
    const replayed = replayFileOps({ version: snapshot.version, content: snapshot.content, opHash: snapshot.opHash }, later);
    expect(replayed).toEqual({ ok: true, version: head.version, content: head.content, contentHash: head.contentHash, opHash: head.lastOpHash });
    await editor.conn.reducers.checkpointFile({ fileId: file.fileId });
    await until(() => [...editor.conn.db.myFileSnapshots.iter()].some((s) => s.fileId === file.fileId && s.version === head.version), 'manual snapshot');
  });

  it('enforces workspace roles and hides files from non-members', async () => {
    await createFile('roles.txt');
    const before = stateHash(world.host.module);
    await refused(apply(viewer, 'roles.txt', 1n, [replace(0, 1, ['x'])]), 'lacks_capability', `role viewer in workspace ${workspaceId} lacks files:write`);
    await refused(apply(outsider, 'roles.txt', 1n, [replace(0, 1, ['x'])]), 'not_member', `not a member of workspace ${workspaceId}`);
    await refused(editor.conn.reducers.inviteMember({ workspaceId, member: outsider.identity, role: 'viewer', capabilities: [] }), 'lacks_capability', 'lacks members:manage');
    await refused(owner.conn.reducers.inviteMember({ workspaceId, member: outsider.identity, role: 'viewer', capabilities: ['files:write'] }), 'invalid_argument', 'role viewer cannot hold files:write');
    await refused(owner.conn.reducers.removeMember({ workspaceId, member: owner.identity }), 'invalid_state', 'the owner cannot leave or be removed');
    await refused(owner.conn.reducers.createWorkspace({ slug: 'docs', name: 'Other' }), 'duplicate_key', 'slug "docs" is taken');
    expect(stateHash(world.host.module)).toBe(before);
    expect(outsider.conn.db.myFiles.count()).toBe(0n);
    expect(outsider.conn.db.myFileOps.count()).toBe(0n);

    // The outsider is invited (sees files), then leaves (sees none again).
    await owner.conn.reducers.inviteMember({ workspaceId, member: outsider.identity, role: 'viewer', capabilities: [] });
    await until(() => fileOf(outsider, 'roles.txt') !== undefined, 'invited member sees files');
    await outsider.conn.reducers.leaveWorkspace({ workspaceId });
    await until(() => outsider.conn.db.myFiles.count() === 0n, 'former member sees none');
  });

  it('broadcasts cursor and lock presence to members as events', async () => {
    const file = await createFile('cursor.txt');
    const seen: string[] = [];
    viewer.conn.db.presenceEvent.onInsert((_ctx, row) => seen.push(`${row.kind}@${row.headLine}:${row.headCol}`));
    const cursor = { workspaceId, fileId: file.fileId, kind: 'cursor', anchorLine: 2, anchorCol: 0, headLine: 2, headCol: 5 };
    await editor.conn.reducers.publishPresence(cursor);
    await editor.conn.reducers.publishPresence({ ...cursor, kind: 'soft_lock', headLine: 4 });
    await until(() => seen.length === 2, 'viewer receives both events');
    expect(seen).toEqual(['cursor@2:5', 'soft_lock@4:5']);
    expect(viewer.conn.db.presenceEvent.count()).toBe(0n);
    await refused(viewer.conn.reducers.publishPresence({ ...cursor, kind: 'soft_lock' }), 'lacks_capability', 'lacks files:write');
    await refused(outsider.conn.reducers.publishPresence(cursor), 'not_member', 'not a member');
    await refused(editor.conn.reducers.publishPresence({ ...cursor, kind: 'dance' }), 'invalid_argument', 'kind must be one of');
  });
});
