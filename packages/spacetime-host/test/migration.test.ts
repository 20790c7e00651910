// Publishing a changed module onto an existing data dir: a column added with a default migrates the
// stored rows (through snapshots and through replay of the old log); anything else is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '../src/sats/codec';
import type { RunningHost } from '../src/host';
import { fixture, withHost } from './sdk/helpers';

const dirs: string[] = [];
const hosts: RunningHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(version: string, dataDir: string, extra: { keepLog?: boolean } = {}): Promise<RunningHost> {
  const h = await withHost({ module: fixture(version), name: 'game', dataDir, ...extra });
  hosts.push(h);
  return h;
}

function call(h: RunningHost, reducer: string, args: unknown[]): void {
  const def = h.module.catalog.reducerByName.get(reducer)!;
  const outcome = h.module.callReducer(reducer, encode(def.paramsTy, args), { identity: h.module.ownerIdentity, connectionId: 0n });
  expect(outcome.kind).toBe('committed');
}

function players(h: RunningHost): unknown[][] {
  const t = h.module.datastore.tableByName('player')!;
  return [...t.rows.values()].map((r) => r.value).sort((a, b) => (a[0] as number) - (b[0] as number));
}

async function closeHost(h: RunningHost): Promise<void> {
  hosts.splice(hosts.indexOf(h), 1);
  await h.close();
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'host-migrate-'));
  dirs.push(d);
  return d;
}

describe('module migration', () => {
  it('adds a column with its default to rows from a snapshot, and keeps working across restarts', async () => {
    const dir = tempDir();
    const v1 = await open('migrate-v1', dir);
    call(v1, 'add', [1, 'ada']);
    call(v1, 'add', [2, 'bo']);
    await closeHost(v1); // clean close: the rows are in a snapshot

    const v2 = await open('migrate-v2', dir);
    expect(players(v2)).toEqual([
      [1, 'ada', 7],
      [2, 'bo', 7],
    ]);
    call(v2, 'add', [3, 'cy']);
    call(v2, 'rename', [1, 'ada lovelace']);
    const hash = v2.stateHash();
    hosts.splice(hosts.indexOf(v2), 1); // a crash: no snapshot of the new rows, the log has them

    const again = await open('migrate-v2', dir);
    expect(players(again)).toEqual([
      [1, 'ada lovelace', 7],
      [2, 'bo', 7],
      [3, 'cy', 9],
    ]);
    expect(again.stateHash()).toBe(hash);
    await v2.close();
  });

  it('upgrades rows while replaying a log written before the column existed', async () => {
    const dir = tempDir();
    const v1 = await open('migrate-v1', dir, { keepLog: true });
    call(v1, 'add', [1, 'ada']);
    call(v1, 'rename', [1, 'ada b']);
    call(v1, 'add', [2, 'bo']);
    await closeHost(v1);
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true }); // replay from the first record

    const v2 = await open('migrate-v2', dir, { keepLog: true });
    expect(players(v2)).toEqual([
      [1, 'ada b', 7],
      [2, 'bo', 7],
    ]);
    call(v2, 'rename', [2, 'bo c']);
    await closeHost(v2);
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true }); // old and new layouts in one replay
    const v2b = await open('migrate-v2', dir, { keepLog: true });
    expect(players(v2b)).toEqual([
      [1, 'ada b', 7],
      [2, 'bo c', 7],
    ]);
  });

  it('refuses a column without a default, and a changed column type, touching nothing', async () => {
    const dir = tempDir();
    const v2 = await open('migrate-v2', dir);
    call(v2, 'add', [1, 'ada']);
    await closeHost(v2);
    const before = readdirSync(dir).map((f) => f).sort();
    const schema = readFileSync(join(dir, 'schema.json'), 'utf8');
    await expect(open('migrate-v3', dir)).rejects.toThrow(/adds column rank without a default/);
    await expect(open('migrate-v1', dir)).rejects.toThrow(/lost columns/);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(join(dir, 'schema.json'), 'utf8')).toBe(schema);
    const v2again = await open('migrate-v2', dir);
    expect(players(v2again)).toEqual([[1, 'ada', 9]]);
  });
});
