// Crash test: SDK clients write while the host process is killed with SIGKILL at random moments,
// many times over. Every acknowledged transaction must survive, none may be duplicated, and the
// live state hash must equal a fresh replay of the log.
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DbConnection } from './fixtures/chat/module_bindings/index';
import { hashDataDir } from '../src/host';
import { connectSdk, deferred } from './sdk/helpers';
import { seeded } from '@autopilot/test-support';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const cli = join(pkg, 'bin', 'spacetime-host.ts');
const chat = join(pkg, 'test', 'fixtures', 'chat');


async function startHostProcess(dataDir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  // A 15 ms group-commit window widens the gap between commit and durability, so an
  // acknowledgement sent before its record is durable would show up as a loss.
  // node itself (not the tsx wrapper, which would survive as an orphan) so SIGKILL hits the host.
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--module', chat, '--name', 'chat', '--port', '0', '--data-dir', dataDir, '--group-commit-ms', '15'], {
    cwd: pkg,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before listening: ${out}`)));
  });
  return { child, url, exited };
}

const connect = async (url: string): Promise<DbConnection> => (await connectSdk(DbConnection, url, 'chat')).conn;

describe('crash recovery under SIGKILL', () => {
  it('keeps every acknowledged transaction exactly once across repeated kills', seeded({ seed: 1234, iterations: 6 }, async ({ seed, random, iterations: rounds }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'host-crash-'));
    const acked = new Set<string>();
    try {
      for (let round = 0; round < rounds; round++) {
        const { child, url, exited } = await startHostProcess(dataDir);
        const killed = exited.then(() => 'killed' as const);
        const clients = await Promise.all([0, 1, 2].map(() => connect(url)));
        // The kill point is a count of acknowledgements, not a time, so a slow machine kills
        // at the same point in the workload as a fast one, with writes still in flight.
        const killAt = 10 + Math.floor(random() * 60);
        let roundAcks = 0;
        const reached = deferred<void>();
        const writers = clients.map(async (conn, c) => {
          for (let n = 0; ; n++) {
            const text = `r${round}-c${c}-n${n}`;
            const outcome = await Promise.race([conn.reducers.sendMessage({ text }).then(() => 'ok' as const, () => 'failed' as const), killed]);
            if (outcome !== 'ok') return;
            acked.add(text);
            if (++roundAcks === killAt) reached.resolve();
          }
        });
        await reached.promise;
        child.kill('SIGKILL');
        await Promise.all(writers);
        for (const conn of clients) conn.disconnect();
      }

      const { child, url, exited } = await startHostProcess(dataDir);
      const reader = await connect(url);
      const applied = deferred<void>();
      reader.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM message']);
      await applied.promise;
      const texts = [...reader.db.message.iter()].map((m) => m.text);
      const ids = [...reader.db.message.iter()].map((m) => m.id);
      expect(new Set(texts).size, 'no message is duplicated').toBe(texts.length);
      expect(new Set(ids).size, 'no id is reused').toBe(ids.length);
      const present = new Set(texts);
      const lost = [...acked].filter((t) => !present.has(t));
      expect(lost, `acknowledged but lost (seed ${seed})`).toEqual([]);

      // The reader stays connected: its connect is durable (the host sent the subscription
      // only after it was), and nothing else commits before the kill, so no wait is needed.
      const owner = readFileSync(join(dataDir, 'owner-token'), 'utf8');
      const live = (await (await fetch(`${url}/v1/database/chat/hash`, { headers: { authorization: `Bearer ${owner}` } })).json()) as { hash: string };
      child.kill('SIGKILL');
      await exited;
      reader.disconnect();
      const replayed = await hashDataDir({ dataDir });
      expect(replayed.hash).toBe(live.hash);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }), 120_000);
});
