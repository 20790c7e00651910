// Recovery: time to restart a database from a commit log of 1M transfers, with and without a
// snapshot, each restart in a fresh process (as after a crash). Baseline in the same run: starting
// the same module on an empty data dir (module bundling, realm, listen: the fixed cost).
// The log is built first by a fast in-process writer with fsync OFF — for the build step only.
//   pnpm --filter @autopilot/bench run recovery [--quick] [--profile] [--transactions N]
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startHost } from '@autopilot/spacetime-host';
import { parseFlags, positive } from './lib/args';
import { BANK_DB, BANK_MODULE } from './lib/bank-client';
import { readProfile, summariseProfile } from './lib/cpuprofile';
import { machineLine } from './lib/machine';
import { ChildServer } from './lib/processes';
import { fmt, table } from './lib/stats';
import { START_BALANCE, transferGenerator } from './lib/workload';

const USAGE = `usage: recovery [--quick] [--profile] [--transactions N] [--repeat R]
  --quick          100 000 transactions instead of 1 000 000 (figures are extrapolated, and say so)
  --profile        CPU-profile the log-only restart; prints the top functions`;
const flags = parseFlags(
  { quick: { type: 'boolean' }, profile: { type: 'boolean' }, transactions: { type: 'string' }, repeat: { type: 'string' } },
  USAGE,
);
const quick = flags.quick === true;
const FULL = 1_000_000;
const transactions = positive(flags.transactions as string | undefined, 'transactions', quick ? 100_000 : FULL);
const repeat = positive(flags.repeat as string | undefined, 'repeat', quick ? 1 : 2);
const ACCOUNTS = 10_000;
const BATCH = 2000;

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
function i64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

/** Build the database: 10k accounts, then `transactions` transfers through the module, log kept whole. */
async function build(dataDir: string): Promise<{ hash: string; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const host = await startHost({
    module: BANK_MODULE,
    name: BANK_DB,
    port: 0,
    dataDir,
    logger: pino({ level: 'warn' }),
    fsync: false, // build step only: the restarts below read what any durable run would have written
    callBudgetMs: 0,
    keepLog: true,
    snapshotEvery: transactions + 10,
  });
  const caller = { identity: 0xb0b0n, connectionId: 0n };
  const opened = host.module.callReducer('open_accounts', Buffer.concat([u64(1n), u32(ACCOUNTS), i64(START_BALANCE)]), caller);
  if (opened.kind !== 'committed') throw new Error(`open_accounts failed: ${JSON.stringify(opened.kind)}`);
  const next = transferGenerator(ACCOUNTS, 1234);
  let rejected = 0;
  for (let done = 0; done < transactions;) {
    const n = Math.min(BATCH, transactions - done);
    for (let i = 0; i < n; i++) {
      const t = next();
      const out = host.module.callReducer(
        'transfer',
        Buffer.concat([u64(BigInt(t.from)), u64(BigInt(t.to)), i64(BigInt(t.amount))]),
        caller,
      );
      if (out.kind === 'user_error') rejected++;
      else if (out.kind !== 'committed') throw new Error(`transfer failed: ${out.kind}`);
    }
    done += n;
    // Let the commit log write this batch (it flushes once per event-loop turn).
    await new Promise((r) => setImmediate(r));
    if (done % 100_000 === 0) process.stderr.write(`built ${done.toLocaleString('en-US')} transactions\n`);
  }
  if (rejected > transactions / 100) throw new Error(`${rejected} transfers were refused; the workload should rarely overdraw`);
  const hash = host.stateHash();
  await host.close(); // writes the closing snapshot; keepLog leaves every log segment in place
  return { hash, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

interface Restart {
  label: string;
  dataDir: string;
  expectHash: string | undefined;
  /** Whether its cost grows with the log's length (else with the state's size), for extrapolation. */
  scalesWithLog: boolean;
}

interface Measured {
  label: string;
  scalesWithLog: boolean;
  replayed: number;
  snapshot: string;
  startMs: number;
  wallMs: number;
  maxRssMiB: number;
  dirMiB: number;
}

async function restart(r: Restart, profilePath?: string): Promise<Measured> {
  const runs: { startMs: number; wallMs: number; rss: number; replayed: number; snapshot: string }[] = [];
  for (let i = 0; i < repeat; i++) {
    const server = await ChildServer.start('host', {
      module: BANK_MODULE,
      name: BANK_DB,
      dataDir: r.dataDir,
      profileStartupTo: i === 0 ? profilePath : undefined,
    });
    try {
      if (r.expectHash !== undefined) {
        const hash = await server.stateHash();
        if (hash !== r.expectHash) throw new Error(`${r.label}: recovered state hash ${hash} differs from the built ${r.expectHash}`);
      }
      runs.push({
        startMs: server.startMs,
        wallMs: server.spawnToReadyMs,
        rss: server.maxRssMiB,
        replayed: server.recovery?.replayedRecords ?? 0,
        snapshot: server.recovery?.snapshotSeq ?? '–',
      });
    } finally {
      // Exit without the closing snapshot, so the data dir stays as it was for the next run.
      await server.close({ crash: true });
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const last = runs.at(-1)!;
  process.stderr.write(`${r.label}: ${fmt(median(runs.map((x) => x.startMs)))} ms\n`);
  return {
    label: r.label,
    scalesWithLog: r.scalesWithLog,
    replayed: last.replayed,
    snapshot: last.snapshot,
    startMs: median(runs.map((x) => x.startMs)),
    wallMs: median(runs.map((x) => x.wallMs)),
    maxRssMiB: Math.max(...runs.map((x) => x.rss)),
    dirMiB: dirBytes(r.dataDir) / 2 ** 20,
  };
}

async function main(): Promise<void> {
  process.stdout.write(
    `# Recovery: restart from a log of ${transactions.toLocaleString('en-US')} transfers (${ACCOUNTS} accounts)\n${machineLine()}\n`,
  );
  process.stdout.write(`${quick ? 'quick' : 'full'} run; each restart is a fresh process, median of ${repeat}\n\n`);
  const root = mkdtempSync(join(tmpdir(), 'bench-recovery-'));
  const profilePath = flags.profile ? join(tmpdir(), `host-recovery-${Date.now()}.cpuprofile`) : undefined;
  try {
    const built = join(root, 'built');
    const { hash, seconds } = await build(built);
    process.stdout.write(
      `Build (fsync OFF, in-process, no call budget — build step only): ${fmt(seconds)} s, ${fmt(transactions / seconds)} tx/s, ${fmt(dirBytes(built) / 2 ** 20)} MiB on disk\n\n`,
    );

    const empty = join(root, 'empty');
    const logOnly = join(root, 'log-only');
    cpSync(built, logOnly, { recursive: true });
    rmSync(join(logOnly, 'snapshots'), { recursive: true });
    // The default layout: a clean open + close with keepLog off drops the segments the snapshot covers.
    const snapshotOnly = join(root, 'snapshot');
    cpSync(built, snapshotOnly, { recursive: true });
    const trim = await ChildServer.start('host', { module: BANK_MODULE, name: BANK_DB, dataDir: snapshotOnly });
    await trim.close();

    const rows: Measured[] = [];
    rows.push(await restart({ label: 'empty data dir (baseline)', dataDir: empty, expectHash: undefined, scalesWithLog: false }));
    rows.push(await restart({ label: 'log only, no snapshot', dataDir: logOnly, expectHash: hash, scalesWithLog: true }, profilePath));
    rows.push(
      await restart({ label: 'snapshot (default: covered log dropped)', dataDir: snapshotOnly, expectHash: hash, scalesWithLog: false }),
    );
    rows.push(await restart({ label: 'snapshot + whole log kept (keepLog)', dataDir: built, expectHash: hash, scalesWithLog: true }));

    const base = rows[0]!;
    const scale = FULL / transactions;
    process.stdout.write(
      `${table(
        [
          'restart from',
          'records replayed',
          'snapshot seq',
          'startHost ms',
          'spawn→listening ms',
          '÷ empty',
          'replay µs/tx',
          ...(scale !== 1 ? ['extrapolated to 1M tx, s'] : []),
          'peak RSS MiB',
          'data dir MiB',
        ],
        rows.map((r) => {
          const extra = r.startMs - base.startMs;
          const perTx = r.replayed > 0 ? (1000 * extra) / transactions : NaN;
          return [
            r.label,
            r.replayed.toLocaleString('en-US'),
            r.snapshot,
            fmt(r.startMs),
            fmt(r.wallMs),
            `${fmt(r.startMs / base.startMs)}×`,
            fmt(perTx),
            ...(scale !== 1
              ? [r === base ? '–' : r.scalesWithLog ? fmt((base.startMs + extra * scale) / 1000) : `${fmt(r.startMs / 1000)} (state-bound)`]
              : []),
            fmt(r.maxRssMiB),
            fmt(r.dirMiB),
          ];
        }),
      )}\n`,
    );
    if (scale !== 1)
      process.stdout.write(
        `\nExtrapolation (not measured): for restarts that read the whole log, the part above the empty start scaled linearly by ${scale}×; a snapshot restart depends on the state's size (${ACCOUNTS} accounts either way), so it stays.\n`,
      );
    if (profilePath) {
      const summary = summariseProfile(readProfile(profilePath), join(BANK_MODULE, '..', '..', '..'));
      const busy = summary.totalMs - summary.idleMs;
      process.stdout.write(`\nCPU profile of the log-only restart (startHost): ${fmt(summary.totalMs)} ms sampled (${profilePath})\n`);
      process.stdout.write(
        `${table(
          ['function file:line', 'self ms', 'self % of busy', 'inclusive %'],
          summary.functions
            .filter((f) => f.where !== '(idle)')
            .slice(0, 15)
            .map((f) => [f.where, fmt(f.selfMs), fmt((100 * f.selfMs) / busy), fmt((100 * f.inclusiveMs) / busy)]),
        )}\n`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`recovery failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
