// Reducer throughput: Zipf-chosen transfers between bank accounts, pipelined from 1, 8 and 64 real
// SDK clients against the host with durable commits (log + fdatasync, replies wait for it).
// Baselines in the same run: the same transfer against PostgreSQL (fsync and synchronous_commit
// on; as an interactive transaction and as a server-side function) and a raw WebSocket echo.
//   pnpm --filter @autopilot/bench run throughput [--quick] [--profile] [--clients 1,8,64] [--depth 8]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseFlags, positive, positiveList } from './lib/args';
import { BANK_DB, BANK_MODULE, connectBank, connectMany, openAccounts } from './lib/bank-client';
import { summariseProfile, readProfile } from './lib/cpuprofile';
import { closedLoop, type LoadResult } from './lib/load';
import { machineLine } from './lib/machine';
import { POSTGRES_INSTALL_HINT, findPostgresBin, resetBank, startPostgres, transferFunction, transferInteractive } from './lib/postgres';
import { ChildServer, coresUsed, ownCpu, type CpuReading } from './lib/processes';
import { fmt, table } from './lib/stats';
import { EchoClient } from './lib/ws-client';
import { START_BALANCE, transferGenerator } from './lib/workload';

const USAGE = `usage: throughput [--quick] [--profile] [--clients 1,8,64] [--depth N] [--seconds S] [--accounts N] [--no-postgres] [--no-diagnostics]
  --quick      3 s per row instead of 10 s
  --profile    CPU-profile the host during the largest client count; prints the top functions
  --depth      calls each client keeps in flight (default 8; a PostgreSQL connection has 1)
  diagnostic rows (largest client count): the host without its per-call watchdog; also with a
  101-row table (cheap index maintenance); also without fsync`;

const flags = parseFlags(
  {
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    clients: { type: 'string' },
    depth: { type: 'string' },
    seconds: { type: 'string' },
    accounts: { type: 'string' },
    'no-postgres': { type: 'boolean' },
    'no-diagnostics': { type: 'boolean' },
  },
  USAGE,
);
const quick = flags.quick === true;
const clientCounts = positiveList(flags.clients as string | undefined, 'clients', [1, 8, 64]);
const depth = positive(flags.depth as string | undefined, 'depth', 8);
const durationMs = positive(flags.seconds as string | undefined, 'seconds', quick ? 3 : 10) * 1000;
const warmupMs = quick ? 1000 : 2000;
const accounts = positive(flags.accounts as string | undefined, 'accounts', 10_000);
const ECHO_PAYLOAD = new Uint8Array(48); // about the size of a v2 CallReducer for `transfer`

interface Row {
  system: string;
  clients: number;
  inFlight: number;
  result: LoadResult | undefined;
  serverCores?: number;
  clientCores?: number;
  note?: string;
}

/** Measure CPU of the server and of this (client) process across the load's window. */
function cpuWindow(server: ChildServer | undefined) {
  let s0: CpuReading | undefined;
  let c0: CpuReading | undefined;
  const out: { serverCores?: number; clientCores?: number } = {};
  return {
    out,
    onWindow: async (edge: 'start' | 'end') => {
      if (edge === 'start') {
        c0 = ownCpu();
        s0 = await server?.cpu();
      } else {
        out.clientCores = coresUsed(c0!, ownCpu());
        if (server && s0) out.serverCores = coresUsed(s0, await server.cpu());
      }
    },
  };
}

async function echoRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const server = await ChildServer.start('echo');
  try {
    for (const clients of clientCounts) {
      const sockets = await Promise.all(Array.from({ length: clients }, () => EchoClient.open(server.wsUrl)));
      const cpu = cpuWindow(server);
      const result = await closedLoop({
        workers: clients * depth,
        warmupMs,
        durationMs,
        onWindow: cpu.onWindow,
        op: async (w) => {
          await sockets[w % clients]!.roundTrip(ECHO_PAYLOAD);
          return 'ok';
        },
      });
      for (const s of sockets) s.close();
      rows.push({ system: 'raw WebSocket echo (ws)', clients, inFlight: clients * depth, result, ...cpu.out });
      process.stderr.write(`echo ×${clients}: ${fmt(result.perSecond)}/s\n`);
    }
  } finally {
    await server.close();
  }
  return rows;
}

interface HostVariant {
  label: string;
  fsync: boolean;
  /** undefined: the host's default budget (a vm watchdog per call); 0: none. */
  callBudgetMs?: number;
  /** A smaller table than the run's, to show what the index's size costs. */
  accounts?: number;
}
const HOST_DEFAULT: HostVariant = { label: 'host, durable (fdatasync)', fsync: true };
const HOST_DIAGNOSTICS: HostVariant[] = [
  { label: 'host, durable, no call budget (diag.)', fsync: true, callBudgetMs: 0 },
  { label: 'host, durable, no call budget, 101 accounts (diag.)', fsync: true, callBudgetMs: 0, accounts: 101 },
  { label: 'host, fsync OFF, no call budget (diag.)', fsync: false, callBudgetMs: 0 },
];

async function hostRow(clients: number, variant: HostVariant, profilePath?: string): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-host-'));
  const server = await ChildServer.start('host', {
    module: BANK_MODULE,
    name: BANK_DB,
    dataDir,
    fsync: variant.fsync,
    callBudgetMs: variant.callBudgetMs,
  });
  try {
    const admin = await connectBank(server.wsUrl);
    const tableSize = variant.accounts ?? accounts;
    await openAccounts(admin, tableSize, START_BALANCE);
    admin.disconnect();
    const conns = await connectMany(server.wsUrl, clients);
    const next = transferGenerator(tableSize, 7 + clients);
    const cpu = cpuWindow(server);
    const result = await closedLoop({
      workers: clients * depth,
      warmupMs,
      durationMs,
      onWindow: async (edge) => {
        if (profilePath) await (edge === 'start' ? server.profileStart() : server.profileStop(profilePath));
        await cpu.onWindow(edge);
      },
      op: async (w) => {
        const t = next();
        try {
          await conns[w % clients]!.reducers.transfer({ from: BigInt(t.from), to: BigInt(t.to), amount: BigInt(t.amount) });
          return 'ok';
        } catch (e) {
          if (e instanceof Error && e.message.startsWith('Insufficient funds')) return 'rejected';
          throw e;
        }
      },
    });
    for (const c of conns) c.disconnect();
    process.stderr.write(`${variant.label} ×${clients}: ${fmt(result.perSecond)}/s\n`);
    return { system: variant.label, clients, inFlight: clients * depth, result, ...cpu.out };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function postgresRows(): Promise<Row[]> {
  const variants = [
    { system: 'PostgreSQL, interactive tx', run: transferInteractive },
    { system: 'PostgreSQL, server function', run: transferFunction },
  ];
  const bin = findPostgresBin();
  if (!bin) {
    const note = `skipped: PostgreSQL binaries not found (install with: ${POSTGRES_INSTALL_HINT})`;
    process.stderr.write(`${note}\n`);
    return variants.flatMap((v) =>
      clientCounts.map((clients) => ({ system: v.system, clients, inFlight: clients, result: undefined, note })),
    );
  }
  const server = await startPostgres(bin);
  process.stderr.write(`${server.version} on 127.0.0.1:${server.config.port}\n`);
  const rows: Row[] = [];
  try {
    for (const variant of variants) {
      for (const clients of clientCounts) {
        const admin = new pg.Client(server.config);
        await admin.connect();
        await resetBank(admin, accounts, START_BALANCE);
        await admin.end();
        const conns = await Promise.all(
          Array.from({ length: clients }, async () => {
            const c = new pg.Client(server.config);
            await c.connect();
            return c;
          }),
        );
        const next = transferGenerator(accounts, 7 + clients);
        const cpu = cpuWindow(undefined);
        const result = await closedLoop({
          workers: clients,
          warmupMs,
          durationMs,
          onWindow: cpu.onWindow,
          op: (w) => variant.run(conns[w]!, next()),
        });
        await Promise.all(conns.map((c) => c.end()));
        rows.push({
          system: variant.system,
          clients,
          inFlight: clients,
          result,
          clientCores: cpu.out.clientCores,
          note: 'server CPU not sampled (many processes)',
        });
        process.stderr.write(`${variant.system} ×${clients}: ${fmt(result.perSecond)}/s\n`);
      }
    }
  } finally {
    await server.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  process.stdout.write(`# Reducer throughput (transfer, Zipf ${accounts} accounts)\n${machineLine()}\n`);
  process.stdout.write(
    `${quick ? 'quick' : 'full'} run: ${durationMs / 1000} s measured after ${warmupMs / 1000} s warm-up per row; SDK clients keep ${depth} calls in flight each\n\n`,
  );
  const most = Math.max(...clientCounts);
  const profiles: { label: string; path: string }[] = [];
  const profileFor = (label: string) => {
    if (!flags.profile) return undefined;
    const path = join(tmpdir(), `host-throughput-${profiles.length}-${Date.now()}.cpuprofile`);
    profiles.push({ label, path });
    return path;
  };
  const rows: Row[] = [];
  rows.push(...(await echoRows()));
  for (const clients of clientCounts)
    rows.push(await hostRow(clients, HOST_DEFAULT, clients === most ? profileFor(HOST_DEFAULT.label) : undefined));
  if (!flags['no-diagnostics']) for (const v of HOST_DIAGNOSTICS) rows.push(await hostRow(most, v, profileFor(v.label)));
  if (!flags['no-postgres']) rows.push(...(await postgresRows()));

  const find = (system: string, clients: number) =>
    rows.find((r) => r.system.startsWith(system) && r.clients === clients)?.result?.perSecond;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${fmt(a / b)}×` : '–');
  process.stdout.write(
    `${table(
      [
        'system',
        'clients',
        'in flight',
        'tx/s',
        'p50 ms',
        'p99 ms',
        'rejected',
        'server cores',
        'client cores',
        '÷ echo',
        '÷ PG tx',
        '÷ PG fn',
        'note',
      ],
      rows.map((r) => {
        const mine = r.result?.perSecond;
        const isHost = r.system.startsWith('host');
        return [
          r.system,
          String(r.clients),
          String(r.inFlight),
          fmt(mine),
          fmt(r.result?.latencyMs.p50),
          fmt(r.result?.latencyMs.p99),
          r.result ? String(r.result.rejected) : '–',
          fmt(r.serverCores),
          fmt(r.clientCores),
          r.system.startsWith('raw') ? '1.00×' : ratio(mine, find('raw WebSocket', r.clients)),
          isHost ? ratio(mine, find('PostgreSQL, interactive', r.clients)) : '–',
          isHost ? ratio(mine, find('PostgreSQL, server function', r.clients)) : '–',
          r.note ?? '',
        ];
      }),
    )}\n`,
  );
  for (const { label, path } of profiles) {
    const summary = summariseProfile(readProfile(path), join(BANK_MODULE, '..', '..', '..'));
    const busy = summary.totalMs - summary.idleMs;
    process.stdout.write(
      `\nHost CPU profile — ${label}, ${most} clients: ${fmt(summary.totalMs)} ms sampled, main thread ${fmt((100 * busy) / summary.totalMs)}% not idle (${path})\n`,
    );
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
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`throughput failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
