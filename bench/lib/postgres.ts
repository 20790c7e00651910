// A throwaway PostgreSQL server for the durable baseline: initdb into a temp dir, start it on
// 127.0.0.1 with fsync and synchronous_commit on, and remove it all at the end. Postgres refuses
// to run as root, so as root it runs as the `postgres` user. Nothing is installed here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { sleep } from './load';

export const POSTGRES_INSTALL_HINT = 'apt-get update && apt-get install -y postgresql';

/** The folder holding `postgres`, `initdb` and `pg_ctl`: from PATH, else Debian's /usr/lib/postgresql/<newest>/bin. */
export function findPostgresBin(): string | undefined {
  const has = (dir: string) => ['postgres', 'initdb'].every((b) => existsSync(join(dir, b)));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && has(dir)) return dir;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (has(join(root, v, 'bin'))) return join(root, v, 'bin');
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root but there is no `postgres` user to run PostgreSQL as (the Debian package creates it)');
  }
}

export interface RunningPostgres {
  config: pg.ClientConfig;
  version: string;
  stop(): Promise<void>;
}

export async function startPostgres(bin: string): Promise<RunningPostgres> {
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'bench-pg-'));
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const spawnOpts = { ...(user ?? {}), cwd: dir, env: { ...process.env, LC_ALL: 'C' } };
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGINT'); // fast shutdown
      await Promise.race([exited, sleep(10_000)]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // --no-sync only speeds up creating the empty cluster; the server below runs with fsync on.
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'bench', '-A', 'trust', '--no-sync', '-E', 'UTF8'], {
      ...spawnOpts,
      stdio: 'pipe',
    });
    const port = await freePort();
    let log = '';
    server = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=on',
        '-c',
        'synchronous_commit=on',
        '-c',
        'max_connections=200',
      ],
      { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    const config: pg.ClientConfig = { host: '127.0.0.1', port, user: 'bench', database: 'postgres' };
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`postgres exited (${server.exitCode}):\n${log}`);
      const probe = new pg.Client(config);
      try {
        await probe.connect();
        const { rows } = await probe.query<{ v: string; fsync: string; sc: string }>(
          "SELECT version() AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
        );
        await probe.end();
        const row = rows[0]!;
        if (row.fsync !== 'on' || row.sc !== 'on')
          throw new Error(`postgres is not durable: fsync=${row.fsync} synchronous_commit=${row.sc}`);
        return { config, version: row.v.split(' on ')[0]!, stop };
      } catch (e) {
        await probe.end().catch(() => {});
        if ((e as Error).message.startsWith('postgres is not durable')) throw e;
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${(e as Error).message}\n${log}`);
        await sleep(100);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The bank in SQL: the same table, and `transfer` as a server-side function (one round trip, like a reducer). */
export const BANK_SQL = `
DROP TABLE IF EXISTS account;
CREATE TABLE account (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE OR REPLACE FUNCTION transfer(p_from bigint, p_to bigint, p_amount bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  source_balance bigint;
BEGIN
  IF p_amount <= 0 THEN RAISE EXCEPTION 'The amount must be positive' USING ERRCODE = 'BK001'; END IF;
  IF p_from = p_to THEN RAISE EXCEPTION 'Cannot transfer to the same account' USING ERRCODE = 'BK001'; END IF;
  -- Lock both rows in id order, so concurrent transfers cannot deadlock.
  PERFORM 1 FROM account WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;
  SELECT balance INTO source_balance FROM account WHERE id = p_from;
  IF NOT FOUND THEN RAISE EXCEPTION 'No account %', p_from USING ERRCODE = 'BK001'; END IF;
  IF source_balance < p_amount THEN RAISE EXCEPTION 'Insufficient funds in account %', p_from USING ERRCODE = 'BK001'; END IF;
  UPDATE account SET balance = balance - p_amount WHERE id = p_from;
  UPDATE account SET balance = balance + p_amount WHERE id = p_to;
  IF NOT FOUND THEN RAISE EXCEPTION 'No account %', p_to USING ERRCODE = 'BK001'; END IF;
END $$;
`;

/** SQLSTATE the bank's own refusals use (an overdraft and the like). */
export const BANK_REFUSAL = 'BK001';

export async function resetBank(client: pg.Client, accounts: number, balance: bigint): Promise<void> {
  await client.query(BANK_SQL);
  await client.query('INSERT INTO account SELECT g, $2::bigint FROM generate_series(1, $1::bigint) g', [accounts, balance.toString()]);
  await client.query('VACUUM ANALYZE account');
}

export type Transfer = { from: number; to: number; amount: number };

/** One transfer as an interactive transaction from the client: lock both rows, check, two UPDATEs, COMMIT. */
export async function transferInteractive(client: pg.Client, t: Transfer): Promise<'ok' | 'rejected'> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ id: string; balance: string }>({
      name: 'lock-pair',
      text: 'SELECT id, balance FROM account WHERE id IN ($1, $2) ORDER BY id FOR UPDATE',
      values: [t.from, t.to],
    });
    const source = rows.find((r) => Number(r.id) === t.from);
    if (rows.length !== 2 || !source || BigInt(source.balance) < BigInt(t.amount)) {
      await client.query('ROLLBACK');
      return 'rejected';
    }
    await client.query({ name: 'debit', text: 'UPDATE account SET balance = balance - $2 WHERE id = $1', values: [t.from, t.amount] });
    await client.query({ name: 'credit', text: 'UPDATE account SET balance = balance + $2 WHERE id = $1', values: [t.to, t.amount] });
    await client.query('COMMIT');
    return 'ok';
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** One transfer as a single call of the server-side function (autocommit). */
export async function transferFunction(client: pg.Client, t: Transfer): Promise<'ok' | 'rejected'> {
  try {
    await client.query({ name: 'transfer', text: 'SELECT transfer($1, $2, $3)', values: [t.from, t.to, t.amount] });
    return 'ok';
  } catch (e) {
    if ((e as { code?: string }).code === BANK_REFUSAL) return 'rejected';
    throw e;
  }
}
