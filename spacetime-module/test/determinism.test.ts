// Determinism and replayability: a seeded random mix of operations (fresh and stale edits that
// rebase or conflict, retries, resolutions, checkpoints, messages) runs through the module on the
// host; then every file is rebuilt from a snapshot by replaying its op log, every message chain is
// verified, and a second run with the same seed yields a byte-identical database.
import fc from 'fast-check';
import { GENESIS_HASH } from '@autopilot/line-ops';
import { prng, seeded } from '@autopilot/test-support';
import { describe, expect, it } from 'vitest';
import { verifyMessageChain, type MessageEventLike } from '../src/canonical';
import { replayFileOps, type FileOpLike } from '../src/replay';
import { startDirectWorld, type Actor, type DirectWorld } from './support/direct';
import { stateHash, tableRows } from './support/state';

const PATHS = ['notes.md', 'src/main.ts', 'docs/plan.txt'];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'ε', '🚀', '', 'x y z', 'const a = 1;'];

interface Tally {
  applied: number;
  rebased: number;
  conflicts: number;
  refused: number;
  resolutions: number;
  messages: number;
  retries: number;
}

interface Run {
  world: DirectWorld;
  tally: Tally;
  /** Successful, distinct publishes per channel id. */
  published: number;
}

const identityOf = (value: unknown) => {
  const hex = ((value as [bigint])[0]).toString(16).padStart(64, '0');
  return { toHexString: () => hex };
};
const lineOpsOf = (value: unknown) => (value as [number, number, string[]][]).map(([start, deleteCount, lines]) => ({ start, deleteCount, lines }));

function randomOps(next: () => number, content: string, growBias: boolean) {
  const lineCount = content.split('\n').length;
  const ops: { start: number; delete_count: number; lines: string[] }[] = [];
  let cursor = 0;
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count && cursor <= lineCount; i++) {
    const start = cursor + Math.floor(next() * Math.max(1, Math.min(6, lineCount - cursor + 1)));
    if (start > lineCount) break;
    const deleteCount = Math.min(lineCount - start, Math.floor(next() * (growBias ? 2 : 4)));
    const insert = Math.floor(next() * (growBias ? 4 : 2));
    const lines = Array.from({ length: insert }, () => WORDS[Math.floor(next() * WORDS.length)]!);
    if (deleteCount === 0 && lines.length === 0) lines.push('filler');
    ops.push({ start, delete_count: deleteCount, lines });
    cursor = start + deleteCount + 1;
  }
  return ops;
}

async function runMix(seed: number, count: number): Promise<Run> {
  const world = await startDirectWorld({ checkpoint_every_ops: 64, presence_ttl_ms: 3_600_000, presence_sweep_ms: 3_600_000 });
  const next = prng(seed);
  const actors: Actor[] = [0, 1, 2].map((i) => world.connect(i));
  for (const [i, actor] of actors.entries()) world.must(actor, 'join_world', { display_name: `actor ${i}`, version: '1', region: '' });
  world.must(actors[0]!, 'create_workspace', { slug: 'mix', name: 'Mix' });
  const workspaceId = tableRows(world.module, 'workspace')[0]!.workspace_id as bigint;
  for (const actor of actors.slice(1)) {
    world.must(actors[0]!, 'invite_member', { workspace_id: workspaceId, member: actor.principal, role: 'editor', capabilities: [] });
  }
  world.must(actors[0]!, 'open_channel', {
    idempotency_key: 'mix-channel',
    workspace_id: workspaceId,
    name: 'mix',
    topic: '',
    kind: 'group',
    is_private: true,
    mirror_to_nostr: false,
    participants: actors.slice(1).map((a) => a.principal),
  });
  const channelId = tableRows(world.module, 'comms_channel')[0]!.channel_id as bigint;

  // Content of every version of every file, as the clients would have seen it.
  const history = new Map<string, string[]>(PATHS.map((path) => [path, ['']]));
  const headOf = (path: string) => tableRows(world.module, 'file_head').find((row) => row.path === path);
  const openTickets: bigint[] = [];
  const tally: Tally = { applied: 0, rebased: 0, conflicts: 0, refused: 0, resolutions: 0, messages: 0, retries: 0 };
  let lastEdit: { actor: Actor; args: Record<string, unknown> } | undefined;
  let lastMessage: { actor: Actor; args: Record<string, unknown> } | undefined;
  const rows = (table: string) => world.module.datastore.tableByName(table)!.rows.size;

  for (let i = 0; i < count; i++) {
    world.clock.micros += 1000n;
    if (i % 256 === 255) await new Promise((r) => setTimeout(r, 5)); // let due checkpoint jobs run, at fixed points
    const actor = actors[Math.floor(next() * actors.length)]!;
    const roll = next();
    if (roll < 0.6) {
      const path = PATHS[Math.floor(next() * PATHS.length)]!;
      const versions = history.get(path)!;
      const headVersion = versions.length - 1;
      const lag = Math.min(headVersion, [0, 0, 0, 1, 1, 2, 3][Math.floor(next() * 7)]!);
      const base = headVersion - lag;
      const content = versions[base]!;
      const args = {
        workspace_id: workspaceId,
        path,
        op_id: `op-${i}`,
        expected_base_version: BigInt(base),
        ops: randomOps(next, content, content.length < 2000),
        range_hashes: [],
      };
      const ticketsBefore = rows('conflict_ticket');
      const outcome = world.call(actor, 'apply_file_ops', args);
      lastEdit = { actor, args };
      const head = headOf(path);
      if (!outcome.ok) tally.refused++;
      else if (head && head.version === BigInt(versions.length)) {
        versions.push(head.content as string);
        tally.applied++;
        if (lag > 0) tally.rebased++;
      } else if (rows('conflict_ticket') === ticketsBefore + 1) {
        tally.conflicts++;
        openTickets.push(BigInt(rows('conflict_ticket')));
      } else throw new Error(`apply_file_ops ${args.op_id} succeeded without a new version or ticket`);
    } else if (roll < 0.65 && lastEdit) {
      const before = [rows('file_op'), rows('conflict_ticket')];
      const outcome = world.call(lastEdit.actor, 'apply_file_ops', lastEdit.args);
      if (outcome.ok) expect([rows('file_op'), rows('conflict_ticket')]).toEqual(before);
      tally.retries++;
    } else if (roll < 0.72 && openTickets.length > 0) {
      const ticketId = openTickets.shift()!;
      const ticket = tableRows(world.module, 'conflict_ticket').find((t) => t.ticket_id === ticketId)!;
      const path = tableRows(world.module, 'file_head').find((f) => f.file_id === ticket.file_id)!.path as string;
      const versions = history.get(path)!;
      const author = actors.find((a) => a.principal === (ticket.actor as [bigint])[0])!;
      const patch = next() < 0.5;
      world.must(author, 'resolve_conflict', {
        ticket_id: ticketId,
        resolution: patch ? 'patch' : 'accept_head',
        op_id: patch ? `resolve-${i}` : '',
        expected_base_version: BigInt(versions.length - 1),
        ops: patch ? randomOps(next, versions[versions.length - 1]!, false) : [],
      });
      if (patch) versions.push(headOf(path)!.content as string);
      tally.resolutions++;
    } else if (roll < 0.76) {
      const created = tableRows(world.module, 'file_head');
      if (created.length > 0) world.must(actor, 'checkpoint_file', { file_id: created[Math.floor(next() * created.length)]!.file_id });
    } else if (roll < 0.96 || !lastMessage) {
      const args = {
        channel_id: channelId,
        idempotency_key: `m-${i}`,
        kind: '',
        content_type: '',
        payload: `${WORDS[Math.floor(next() * WORDS.length)]} #${i}`,
        reply_to_seq: 0n,
      };
      world.must(actor, 'publish_message', args);
      lastMessage = { actor, args };
      tally.messages++;
    } else {
      world.must(lastMessage.actor, 'publish_message', lastMessage.args);
      tally.retries++;
    }
  }
  await new Promise((r) => setTimeout(r, 20));
  return { world, tally, published: tally.messages };
}

/** Rebuilds every file from version 0, its oldest and its newest snapshot, and checks the message chain. */
function verifyReplay(run: Run): void {
  const { module } = run.world;
  const ops = tableRows(module, 'file_op');
  const snapshots = tableRows(module, 'file_snapshot');
  for (const head of tableRows(module, 'file_head')) {
    const fileOps: FileOpLike[] = ops
      .filter((op) => op.file_id === head.file_id)
      .map((op) => ({
        version: op.version as bigint,
        opId: op.op_id as string,
        actor: identityOf(op.actor),
        expectedBaseVersion: op.expected_base_version as bigint,
        ops: lineOpsOf(op.ops),
        beforeHash: op.before_hash as string,
        afterHash: op.after_hash as string,
        prevOpHash: op.prev_op_hash as string,
        opHash: op.op_hash as string,
      }));
    const expected = { ok: true, version: head.version, content: head.content, contentHash: head.content_hash, opHash: head.last_op_hash };
    expect(replayFileOps({ version: 0n, content: '', opHash: GENESIS_HASH }, fileOps)).toEqual(expected);
    const mine = snapshots.filter((s) => s.file_id === head.file_id).sort((a, b) => Number((a.version as bigint) - (b.version as bigint)));
    for (const snapshot of new Set([mine[0], mine[mine.length - 1]].filter((s) => s !== undefined))) {
      const start = { version: snapshot.version as bigint, content: snapshot.content as string, opHash: snapshot.op_hash as string };
      expect(replayFileOps(start, fileOps.filter((op) => op.version > start.version))).toEqual(expected);
    }
  }
  const messages: MessageEventLike[] = tableRows(module, 'message_event').map((m) => ({
    channelId: m.channel_id as bigint,
    seq: m.seq as bigint,
    sender: identityOf(m.sender),
    senderPubkey: m.sender_pubkey as string,
    kind: m.kind as string,
    contentType: m.content_type as string,
    payload: m.payload as string,
    replyToSeq: m.reply_to_seq as bigint,
    idempotencyKey: m.idempotency_key as string,
    prevHash: m.prev_hash as string,
    hash: m.hash as string,
    sentAt: { microsSinceUnixEpoch: (m.sent_at as [bigint])[0] },
  }));
  const chain = verifyMessageChain(messages);
  expect(chain).toMatchObject({ ok: true, count: run.published });
  expect(chain.ok && chain.head).toBe(tableRows(module, 'comms_channel')[0]!.last_hash);
}

describe('determinism', () => {
  // ITERATIONS is the number of operations; the coverage floors scale with it.
  it('replays 10k mixed operations from snapshots to the same contents and hashes, and a rerun matches byte for byte', seeded({ seed: 20_260_101, iterations: 10_000 }, async ({ seed, iterations }) => {
    const first = await runMix(seed, iterations);
    try {
      const { tally } = first;
      // The mix really exercised every path.
      expect(tally.applied).toBeGreaterThan(iterations / 10);
      expect(tally.rebased).toBeGreaterThan(iterations / 100);
      expect(tally.conflicts).toBeGreaterThan(iterations / 200);
      expect(tally.resolutions).toBeGreaterThan(iterations / 1000);
      expect(tally.retries).toBeGreaterThan(iterations / 100);
      expect(tableRows(first.world.module, 'file_snapshot').length).toBeGreaterThan(PATHS.length);
      verifyReplay(first);
      const second = await runMix(seed, iterations);
      try {
        expect(stateHash(second.world.module)).toBe(stateHash(first.world.module));
      } finally {
        second.world.close();
      }
    } finally {
      first.world.close();
    }
  }), 180_000);

  // fast-check draws the mix seeds from SEED; ITERATIONS is its number of runs.
  it('holds for any seed (property, shorter runs)', seeded({ seed: 4242, iterations: 4 }, async ({ seed, iterations }) => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const a = await runMix(seed, 300);
        const b = await runMix(seed, 300);
        try {
          verifyReplay(a);
          expect(stateHash(b.world.module)).toBe(stateHash(a.world.module));
        } finally {
          a.world.close();
          b.world.close();
        }
      }),
      { seed, numRuns: iterations },
    );
  }), 120_000);
});
