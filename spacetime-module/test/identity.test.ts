// Identity = the user's NIP-06 key (docs/trust-model.md), through the real host and SDK on a
// durable data dir. A world written by the module as it was before this model (rows keyed by the
// per-issuer connection identity: one ghost node per issuer the user came through) is migrated
// when the user binds again: one node, the principal, with channels, history and requests intact;
// coming through yet another trusted issuer changes nothing; a restarted host keeps the result.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { Identity } from 'spacetimedb';
import { getPublicKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { verifyMessageChain } from '../src/canonical';
import { MODULE_DIR } from '../scripts/bindings';
import * as bindings from '../../packages/world-client/src/module_bindings/index';
import { startIssuer, type TestIssuer } from './support/issuer';

type Connection = InstanceType<typeof bindings.DbConnection>;

/** The module as it was before principals (the trust-model commit), from git history. */
const LEGACY_COMMIT = '0abad80';
const REPO = join(MODULE_DIR, '..');
const VIEWS = [
  'SELECT * FROM autopilot_node',
  'SELECT * FROM workspace',
  'SELECT * FROM workspace_member',
  'SELECT * FROM my_channels',
  'SELECT * FROM my_messages',
  'SELECT * FROM my_compute_requests',
  'SELECT * FROM my_sessions',
];

function extractLegacyModule(): string {
  // Inside the module folder so that its imports resolve through spacetime-module/node_modules.
  const dir = mkdtempSync(join(MODULE_DIR, '.legacy-'));
  const files = execFileSync('git', ['-C', REPO, 'ls-tree', '-r', '--name-only', LEGACY_COMMIT, 'spacetime-module/src'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  for (const file of files) {
    const target = join(dir, file.slice('spacetime-module/'.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, execFileSync('git', ['-C', REPO, 'show', `${LEGACY_COMMIT}:${file}`]));
  }
  return dir;
}

function connect(host: RunningHost, token: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    bindings.DbConnection.builder()
      .withUri(host.url.replace(/^http/, 'ws'))
      .withDatabaseName(host.name)
      .withToken(token)
      .onConnect((conn) => resolve(conn))
      .onConnectError((_ctx, err) => reject(err))
      .build();
  });
}

function subscribe(conn: Connection, queries: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((ctx) => reject(ctx.event ?? new Error('subscription error')))
      .subscribe(queries);
  });
}

async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const tunables = {
  heartbeatIntervalMs: 0,
  presenceTtlMs: 0,
  presenceSweepMs: 0,
  checkpointEveryOps: 0,
  maxMessageBytes: 0,
  maxFileBytes: 0,
};

describe('identity is the user key', () => {
  const name = `identity-${process.pid}`;
  const pubkey = getPublicKey(Uint8Array.from({ length: 32 }, (_, i) => i + 1));
  const peerKey = getPublicKey(Uint8Array.from({ length: 32 }, (_, i) => 100 + i));
  let dataDir: string;
  let legacyDir: string;
  let issuers: TestIssuer[];
  const open: Connection[] = [];
  const hosts: RunningHost[] = [];

  async function start(module: string, trusted: string[]): Promise<RunningHost> {
    const host = await startHost({ module, name, port: 0, dataDir, trustedIssuers: trusted, logger: pino({ level: 'silent' }) });
    hosts.push(host);
    return host;
  }
  async function stop(host: RunningHost): Promise<void> {
    for (const conn of open.splice(0)) conn.disconnect();
    await host.close();
  }
  async function user(host: RunningHost, token: string): Promise<Connection> {
    const conn = await connect(host, token);
    open.push(conn);
    return conn;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'identity-world-'));
    legacyDir = extractLegacyModule();
    issuers = await Promise.all([startIssuer(), startIssuer(), startIssuer()]);
  });
  afterAll(async () => {
    for (const conn of open) conn.disconnect();
    for (const host of hosts) await host.close().catch(() => undefined);
    for (const issuer of issuers ?? []) await issuer.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(legacyDir, { recursive: true, force: true });
  });

  it('merges ghost nodes of an old world into the principal, keeps them through other issuers and a restart', async () => {
    const [one, two, three] = issuers as [TestIssuer, TestIssuer, TestIssuer];

    // ---- an old world: the same key through two issuers made two nodes (ghost duplicates) ----
    let host = await start(legacyDir, [one.issuer, two.issuer]);
    const admin = await user(host, host.ownerToken!);
    await admin.reducers.configureWorld({ trustedIssuers: [one.issuer, two.issuer], ...tunables });
    const first = await user(host, await one.user(pubkey, 'old-1', { legacy: true }));
    const peer = await user(host, await one.user(peerKey, 'peer-1', { legacy: true }));
    await first.reducers.joinWorld({ displayName: 'me via one', version: '1', region: '' });
    await peer.reducers.joinWorld({ displayName: 'peer', version: '1', region: '' });
    await first.reducers.createWorkspace({ slug: 'mine', name: 'Mine' });
    await subscribe(first, ['SELECT * FROM my_channels']);
    await first.reducers.openChannel({
      idempotencyKey: 'general',
      workspaceId: 0n,
      name: 'general',
      topic: '',
      kind: '',
      isPrivate: false,
      mirrorToNostr: false,
      participants: [],
    });
    await until(() => first.db.myChannels.count() === 1n, 'channel');
    const channelId = [...first.db.myChannels.iter()][0]!.channelId;
    await first.reducers.publishMessage({
      channelId,
      idempotencyKey: 'm1',
      kind: '',
      contentType: '',
      payload: 'from issuer one',
      replyToSeq: 0n,
    });
    await first.reducers.requestCompute({
      idempotencyKey: 'job-1',
      workspaceId: 0n,
      policyClass: 'cpu',
      jobEnvelope: '{}',
      costHints: '',
      maxPriceMsats: 0n,
      slaMs: 0,
      targetProvider: undefined,
    });
    await peer.reducers.joinChannel({ channelId });
    await peer.reducers.publishMessage({
      channelId,
      idempotencyKey: 'p1',
      kind: '',
      contentType: '',
      payload: 'from the peer',
      replyToSeq: 0n,
    });
    const second = await user(host, await two.user(pubkey, 'old-2', { legacy: true }));
    await second.reducers.joinWorld({ displayName: 'me via two', version: '2', region: '' });
    await second.reducers.joinChannel({ channelId });
    await second.reducers.publishMessage({
      channelId,
      idempotencyKey: 'm2',
      kind: '',
      contentType: '',
      payload: 'from issuer two',
      replyToSeq: 0n,
    });
    await subscribe(admin, ['SELECT * FROM autopilot_node']);
    await until(() => [...admin.db.autopilotNode.iter()].filter((n) => n.nostrPubkey === pubkey).length === 2, 'two ghost nodes');
    await stop(host);

    // ---- the new module on the same data dir; the user comes back through a third issuer ----
    host = await start(MODULE_DIR, [one.issuer, two.issuer, three.issuer]);
    const admin2 = await user(host, host.ownerToken!);
    await admin2.reducers.configureWorld({ trustedIssuers: [one.issuer, two.issuer, three.issuer], ...tunables });
    const principal = new Identity(pubkey);
    const expectMigrated = async (conn: Connection, label: string): Promise<void> => {
      await subscribe(conn, VIEWS);
      const mine = () => [...conn.db.autopilotNode.iter()].filter((n) => n.nostrPubkey === pubkey);
      await until(() => mine().length === 1 && conn.db.myMessages.count() === 3n, `${label}: one node and the whole history`);
      expect(mine()[0]!.nodeId.toHexString()).toBe(pubkey);
      expect([...conn.db.myChannels.iter()].map((c) => c.name)).toEqual(['general']);
      expect([...conn.db.myChannels.iter()][0]!.participantCount).toBe(2);
      const messages = [...conn.db.myMessages.iter()].sort((a, b) => Number(a.seq - b.seq));
      expect(messages.map((m) => m.payload)).toEqual(['from issuer one', 'from the peer', 'from issuer two']);
      // Hash-covered history is not rewritten: the old senders stay and the chain still verifies.
      expect(messages.filter((m) => m.senderPubkey === pubkey).every((m) => !m.sender.isEqual(principal))).toBe(true);
      expect(verifyMessageChain(messages)).toMatchObject({ ok: true });
      expect([...conn.db.myComputeRequests.iter()].map((r) => [r.idempotencyKey, r.requester.toHexString()])).toEqual([['job-1', pubkey]]);
      const workspace = [...conn.db.workspace.iter()].find((w) => w.slug === 'mine')!;
      expect(workspace.owner.toHexString()).toBe(pubkey);
      expect(
        [...conn.db.workspaceMember.iter()]
          .filter((m) => m.workspaceId === workspace.workspaceId)
          .map((m) => [m.member.toHexString(), m.role]),
      ).toEqual([[pubkey, 'owner']]);
    };

    const third = await user(host, await three.user(pubkey, 'new-3'));
    await third.reducers.joinWorld({ displayName: 'me via three', version: '3', region: '' });
    await expectMigrated(third, 'through a third issuer');
    expect([...third.db.autopilotNode.iter()].find((n) => n.nostrPubkey === pubkey)!.displayName).toBe('me via three');
    // The same user through the first issuer again (new-style token): the same node and rows.
    const again = await user(host, await one.user(pubkey, 'new-1'));
    await expectMigrated(again, 'through the first issuer again');
    await again.reducers.publishMessage({
      channelId,
      idempotencyKey: 'm3',
      kind: '',
      contentType: '',
      payload: 'after the move',
      replyToSeq: 0n,
    });
    await until(() => third.db.myMessages.count() === 4n, 'a new message by the principal');
    const latest = [...third.db.myMessages.iter()].find((m) => m.idempotencyKey === 'm3')!;
    expect(latest.sender.toHexString()).toBe(pubkey);
    await stop(host);

    // ---- a restart keeps the result ----
    host = await start(MODULE_DIR, [one.issuer, two.issuer, three.issuer]);
    expect(host.recovery?.fresh).toBe(false);
    const back = await user(host, await two.user(pubkey, 'new-2'));
    await subscribe(back, VIEWS);
    await until(() => back.db.myMessages.count() === 4n, 'history after the restart');
    expect([...back.db.autopilotNode.iter()].filter((n) => n.nostrPubkey === pubkey).map((n) => n.nodeId.toHexString())).toEqual([pubkey]);
    expect([...back.db.myChannels.iter()].map((c) => c.name)).toEqual(['general']);
    expect(back.db.myComputeRequests.count()).toBe(1n);
    await stop(host);
  });
});
