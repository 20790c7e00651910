// The embedded world across restarts of the launcher (issue 14 item 7): control's port, hence its
// issuer, is kept in the data dir and reused; a port that is taken falls back to a free one with a
// warning; the world keeps trusting earlier issuers; and a user who logs in through two different
// issuers keeps one node row, because the world keys users by their pubkey, not by the issuer.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import { ControlTokenSource, MemoryOutboxStorage, WorldClient, signerFromPrivateKey } from '@autopilot/world-client';
import { NodeWebSocket, nodeFetch } from '@autopilot/world-client/node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAUNCHER_STATE_FILE, startEmbeddedWorld, type EmbeddedWorld } from '../src/core/embedded/world';
import { tempDir } from './helpers';

const silent = pino({ level: 'silent' });

interface NodeRow {
  node_id: string;
  nostr_pubkey: string;
  display_name: string;
}

/** Public node rows, read over the world's HTTP SQL route as an anonymous caller. */
async function nodeRows(world: EmbeddedWorld): Promise<NodeRow[]> {
  const res = await fetch(`${world.worldUrl.replace(/^ws/, 'http')}/v1/database/${world.databaseName}/sql`, {
    method: 'POST',
    body: 'SELECT * FROM autopilot_node',
  });
  if (!res.ok) throw new Error(`sql failed: ${res.status} ${await res.text()}`);
  const [result] = (await res.json()) as { schema: { elements: { name: string }[] }; rows: unknown[][] }[];
  const names = result!.schema.elements.map((element) => element.name);
  return result!.rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])) as unknown as NodeRow);
}

/** The user logs in at the world's control service and joins, as the app would; returns once joined. */
async function joinAs(world: EmbeddedWorld, mnemonic: string, displayName: string): Promise<void> {
  const identity = deriveIdentity(mnemonic);
  const client = new WorldClient({
    worldUrl: world.worldUrl,
    database: world.databaseName,
    tokens: new ControlTokenSource({ controlUrl: world.controlUrl, signer: signerFromPrivateKey(identity), deviceId: 'laptop', fetch: nodeFetch }),
    WebSocket: NodeWebSocket,
    fetch: nodeFetch,
    outboxStorage: new MemoryOutboxStorage(),
    join: { displayName, version: 'test/1', region: 'local' },
    features: ['presence'],
    logger: silent,
  });
  try {
    await client.start();
    expect(await client.whenConnected(30_000)).toEqual({ ok: true });
    const pubkey = identity.publicKeyHex;
    let joined = false;
    const deadline = Date.now() + 30_000;
    while (!joined && Date.now() < deadline) {
      joined = (await nodeRows(world)).some((row) => row.nostr_pubkey === pubkey && row.display_name === displayName);
      if (!joined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(joined, `${displayName} joined`).toBe(true);
  } finally {
    await client.stop();
  }
}

/** Calls join_world over the world's HTTP API with this token; the refusal text when refused. */
async function joinOverHttp(world: EmbeddedWorld, token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${world.worldUrl.replace(/^ws/, 'http')}/v1/database/${world.databaseName}/call/join_world`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(['Bea', 'test/1', 'local']),
  });
  return { status: res.status, text: await res.text() };
}

describe('the embedded world across launcher restarts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const running: EmbeddedWorld[] = [];
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('embedded-restart-'));
  });
  afterEach(async () => {
    for (const world of running.splice(0)) await world.close().catch(() => undefined);
    await cleanup();
  });

  async function start(options: { controlPort?: number; logger?: pino.Logger } = {}): Promise<EmbeddedWorld> {
    const world = await startEmbeddedWorld({ dataDir: dir, peer: false, logger: silent, ...options });
    running.push(world);
    return world;
  }
  async function stop(world: EmbeddedWorld): Promise<void> {
    running.splice(running.indexOf(world), 1);
    await world.close();
  }
  const state = async () => JSON.parse(await readFile(join(dir, LAUNCHER_STATE_FILE), 'utf8')) as { controlPort: number; trustedIssuers: string[] };

  it('reuses the control port (same issuer), and falls back to a free port with a warning when it is taken', async () => {
    const first = await start();
    const firstPort = Number(new URL(first.controlUrl).port);
    expect((await state()).controlPort).toBe(firstPort);
    await stop(first);

    const second = await start();
    expect(second.controlUrl).toBe(first.controlUrl);
    expect((await state()).trustedIssuers).toEqual([first.controlUrl]);
    await stop(second);

    // Someone else holds the port now.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(firstPort, '127.0.0.1', resolve));
    try {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const third = await start({ logger: pino({ level: 'warn' }, sink) });
      expect(third.controlUrl).not.toBe(first.controlUrl);
      expect(lines.join('')).toContain(`control port ${firstPort} is taken`);
      expect((await state()).controlPort).toBe(Number(new URL(third.controlUrl).port));
      expect((await state()).trustedIssuers).toEqual([first.controlUrl, third.controlUrl]);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it('revoking all sessions at control reaches the world: the revoked token is refused there', async () => {
    const world = await start();
    const identity = deriveIdentity(generateMnemonic());
    const tokens = new ControlTokenSource({ controlUrl: world.controlUrl, signer: signerFromPrivateKey(identity), deviceId: 'laptop', fetch: nodeFetch });
    const login = await tokens.token();
    if (!login.ok) throw new Error(login.message);
    expect(await joinOverHttp(world, login.token.token)).toEqual({ status: 200, text: '' });

    const revoked = await fetch(`${world.controlUrl}/v1/auth/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${login.token.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ all: true }),
    });
    expect(revoked.status).toBe(204);
    await world.revocations.idle();
    expect(world.revocations.stats()).toEqual({ pending: 0, delivered: 1, failedAttempts: 0 });

    const refused = await joinOverHttp(world, login.token.token);
    expect(refused.status).not.toBe(200);
    expect(refused.text).toContain('session_revoked');
  });

  it('keeps one node row for a user who logs in through the control of two runs with different issuers', async () => {
    const mnemonic = generateMnemonic();
    const pubkey = deriveIdentity(mnemonic).publicKeyHex;

    const first = await start();
    await joinAs(first, mnemonic, 'Ada');
    await stop(first);

    const second = await start({ controlPort: 0 });
    expect(second.controlUrl, 'the second run must have another issuer').not.toBe(first.controlUrl);
    expect((await state()).trustedIssuers).toEqual([first.controlUrl, second.controlUrl]);
    await joinAs(second, mnemonic, 'Ada again');

    const rows = (await nodeRows(second)).filter((row) => row.nostr_pubkey === pubkey);
    expect(rows.map((row) => row.display_name)).toEqual(['Ada again']);
  });
});
