// Durability: committed transactions survive restarts and crashes; a torn or corrupt log tail
// and a corrupt snapshot are detected and cut; replaying the log gives the same state hash.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbConnection } from './fixtures/chat/module_bindings/index';
import { hashDataDir, type RunningHost } from '../src/host';
import { CommitLog } from '../src/durability/commitlog';
import { connectSdk, deferred, fixture, until, withHost } from './sdk/helpers';
import { FEATURES_DB, connect as connectFeatures, subscribe } from './sdk/features-helpers';

const dirs: string[] = [];
const hosts: RunningHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'host-durable-'));
  dirs.push(d);
  return d;
}

async function open(dataDir: string, extra: { snapshotEvery?: number; keepLog?: boolean } = {}): Promise<RunningHost> {
  const h = await withHost({ module: fixture('chat'), name: 'chat', dataDir, ...extra });
  hosts.push(h);
  return h;
}

const connect = (host: RunningHost, token?: string) => connectSdk(DbConnection, host.url, 'chat', { token });

async function messages(host: RunningHost): Promise<{ id: bigint; text: string }[]> {
  const { conn } = await connect(host);
  const applied = deferred<void>();
  conn.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM message']);
  await applied.promise;
  const rows = [...conn.db.message.iter()].map((m) => ({ id: m.id, text: m.text })).sort((a, b) => (a.id < b.id ? -1 : 1));
  conn.disconnect();
  return rows;
}

async function closeHost(h: RunningHost): Promise<void> {
  hosts.splice(hosts.indexOf(h), 1);
  await h.close();
}

describe('durable database', () => {
  it('keeps rows, identities and sequences across a clean restart; init runs once', async () => {
    const dir = tempDir();
    const h1 = await open(dir);
    expect(h1.recovery?.fresh).toBe(true);
    const a = await connect(h1);
    await a.conn.reducers.sendMessage({ text: 'one' });
    await a.conn.reducers.sendMessage({ text: 'two' });
    a.conn.disconnect();
    const hashBefore = h1.stateHash();
    await closeHost(h1);

    const h2 = await open(dir);
    expect(h2.recovery?.fresh).toBe(false);
    const again = await connect(h2, a.token);
    expect(again.identity.toHexString()).toBe(a.identity.toHexString());
    await again.conn.reducers.sendMessage({ text: 'three' });
    again.conn.disconnect();
    const rows = await messages(h2);
    expect(rows.map((r) => r.text)).toEqual(['one', 'two', 'three']);
    expect(rows[2]!.id).toBeGreaterThan(rows[1]!.id);
    expect(hashBefore).not.toBe(h2.stateHash());
  });

  it('a connection open at a crash gets its disconnect after restart', async () => {
    const dir = tempDir();
    const h1 = await open(dir);
    const a = await connect(h1);
    await a.conn.reducers.setName({ name: 'crashy' });
    // Simulate a crash: the log is durable but nothing else is shut down cleanly.
    const hex = a.identity.toHexString();
    hosts.splice(hosts.indexOf(h1), 1);
    expect(existsSync(join(dir, 'snapshots'))).toBe(false);
    const h2 = await open(join(dir)); // h1 still holds the old port; the data dir is what matters
    expect(h2.recovery?.staleClients.length).toBeGreaterThan(0);
    const b = await connect(h2);
    const applied = deferred<void>();
    b.conn.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM user']);
    await applied.promise;
    const user = [...b.conn.db.user.iter()].find((u) => u.identity.toHexString() === hex);
    expect(user?.name).toBe('crashy');
    expect(user?.online).toBe(false);
    b.conn.disconnect();
    a.conn.disconnect();
    await h1.close();
  });

  it('replaying the log alone gives the same state hash as the live database', async () => {
    const dir = tempDir();
    const h = await open(dir, { snapshotEvery: 1_000_000, keepLog: true });
    const a = await connect(h);
    for (let i = 0; i < 50; i++) await a.conn.reducers.sendMessage({ text: `m${i}` });
    a.conn.disconnect();
    await until(() => h.module.connectedClients().length === 0, 'disconnect processed');
    const live = h.stateHash();
    await closeHost(h);
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true }); // force a replay from the log
    expect((await hashDataDir({ dataDir: dir })).hash).toBe(live);
  });

  it('cuts a torn log tail and a corrupt record, keeping everything before the damage', async () => {
    const dir = tempDir();
    const h = await open(dir, { snapshotEvery: 1_000_000, keepLog: true });
    const a = await connect(h);
    for (const t of ['a', 'b', 'c']) await a.conn.reducers.sendMessage({ text: t });
    a.conn.disconnect();
    await until(() => h.module.connectedClients().length === 0, 'disconnect processed');
    await closeHost(h);
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true });
    const logDir = join(dir, 'log');
    // The last segment holding records (a clean close starts a fresh, empty one).
    const segment = readdirSync(logDir)
      .sort()
      .map((f) => join(logDir, f))
      .filter((f) => statSync(f).size > 0)
      .at(-1)!;
    const good = statSync(segment).size;

    appendFileSync(segment, Buffer.from([200, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3])); // a torn frame: length says 200, 3 bytes follow
    const torn = await hashDataDir({ dataDir: dir });
    expect(torn.report.cut?.reason).toMatch(/incomplete record/);
    expect(torn.report.cut?.droppedBytes).toBe(11);
    expect(statSync(segment).size).toBe(good);

    // Flip one byte inside the last record: its checksum fails and only that record goes.
    const bytes = readFileSync(segment);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(segment, bytes);
    const h2 = await open(dir);
    expect(h2.recovery?.cut?.reason).toMatch(/checksum mismatch/);
    const texts = (await messages(h2)).map((m) => m.text);
    expect(texts).toEqual(['a', 'b', 'c']); // the damaged record was the disconnect, after the last message
    await closeHost(h2);
  });

  it('a log record the module cannot apply stops recovery with its error and is not cut as corruption', async () => {
    const dir = tempDir();
    const h = await open(dir, { snapshotEvery: 1_000_000, keepLog: true });
    const a = await connect(h);
    await a.conn.reducers.sendMessage({ text: 'kept' });
    a.conn.disconnect();
    await until(() => h.module.connectedClients().length === 0, 'disconnect processed');
    await closeHost(h);
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true });
    // A well-formed transaction on a table the module does not define.
    const { log } = CommitLog.open(join(dir, 'log'));
    const seq = log.append({ kind: 'tx', txId: 999n, timestamp: 0n, reducer: '', caller: 0n, args: new Uint8Array(0), tables: [{ table: 'nope', inserts: [], deletes: [] }], sequences: [] });
    log.close();
    const sizes = () => readdirSync(join(dir, 'log')).map((f) => [f, statSync(join(dir, 'log', f)).size]);
    const before = sizes();
    await expect(hashDataDir({ dataDir: dir })).rejects.toThrow(/log record 999 writes table nope, which the module no longer defines/);
    expect(sizes(), `record ${seq} and everything else stay in the log`).toEqual(before);
  });

  it('falls back from a corrupt snapshot to an older one plus the log', async () => {
    const dir = tempDir();
    const h = await open(dir, { snapshotEvery: 5 });
    const a = await connect(h);
    for (let i = 0; i < 23; i++) await a.conn.reducers.sendMessage({ text: `s${i}` });
    a.conn.disconnect();
    await until(() => h.module.connectedClients().length === 0, 'disconnect processed');
    const live = h.stateHash();
    await closeHost(h);
    const snaps = readdirSync(join(dir, 'snapshots')).filter((f) => f.endsWith('.snap')).sort();
    expect(snaps.length).toBe(2);
    const newest = join(dir, 'snapshots', snaps.at(-1)!);
    const b = readFileSync(newest);
    b[20]! ^= 0xff;
    writeFileSync(newest, b);
    const r = await hashDataDir({ dataDir: dir });
    expect(r.report.skippedSnapshots.map((s) => s.reason)).toEqual(['snapshot checksum mismatch']);
    expect(r.hash).toBe(live);
  });

  it('refuses a module whose tables changed incompatibly and leaves the data untouched', async () => {
    const dir = tempDir();
    const h = await open(dir);
    await closeHost(h);
    const before = readFileSync(join(dir, 'schema.json'), 'utf8');
    const stored = JSON.parse(before);
    stored.tables.find((t: { name: string }) => t.name === 'message').columns[3].type = 'U32';
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(stored));
    await expect(open(dir)).rejects.toThrow(/not compatible.*\n- table message column 3 changed/s);
  });
});

describe('schedules across a restart', () => {
  it('re-arms interval schedules from their table after a restart', async () => {
    const dir = tempDir();
    const h1 = await withHost({ module: fixture('features'), name: FEATURES_DB, dataDir: dir });
    hosts.push(h1);
    const a = await connectFeatures(h1);
    await a.conn.reducers.scheduleEvery({ label: 'durable-tick', intervalMicros: 50_000n });
    a.conn.disconnect();
    await closeHost(h1);

    const h2 = await withHost({ module: fixture('features'), name: FEATURES_DB, dataDir: dir });
    hosts.push(h2);
    const b = await connectFeatures(h2);
    await subscribe(b.conn, ['SELECT * FROM tick_log', 'SELECT * FROM tick_timer']);
    const ticks = () => [...b.conn.db.tickLog.iter()].filter((t) => t.label === 'durable-tick').length;
    const before = ticks();
    await until(() => ticks() >= before + 2, 'the interval keeps firing after the restart');
    expect([...b.conn.db.tickTimer.iter()].some((t) => t.label === 'durable-tick')).toBe(true);
    b.conn.disconnect();
  });
});
