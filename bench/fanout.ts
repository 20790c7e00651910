// Fan-out: one writer calls `transfer` at a fixed rate (1 000/s by default) while 100 subscribers
// watch every account; delivery latency is from the writer's call to each subscriber seeing the
// update. Subscribers are real SDK clients (onUpdate, with the SDK's client cache) and/or raw
// protocol clients (lib/raw-subscriber.ts: decode the frames, no cache), the latter isolating the
// host's delivery from the SDK's client-side cost. Durable commits on (updates wait for fdatasync).
// Baseline in the same run: a raw WebSocket broadcast of a small message to as many `ws` clients.
//   pnpm --filter @autopilot/bench run fanout [--quick] [--profile] [--subscribers 100] [--rates 1000] [--clients sdk,raw]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { parseFlags, positive, positiveList } from './lib/args';
import { BANK_DB, BANK_MODULE, connectBank, connectMany, openAccounts, subscribe } from './lib/bank-client';
import { readProfile, summariseProfile } from './lib/cpuprofile';
import { sleep } from './lib/load';
import { machineLine } from './lib/machine';
import { paced } from './lib/pacing';
import { connectRawMany } from './lib/raw-subscriber';
import { ChildServer, coresUsed, ownCpu } from './lib/processes';
import { fmt, summarise, table, type LatencySummary } from './lib/stats';
import { transferGenerator } from './lib/workload';

const USAGE = `usage: fanout [--quick] [--profile] [--subscribers N] [--rates 1000,500] [--seconds S] [--clients sdk,raw]
  --quick     5 s measured instead of 20 s
  --rates     writer rates in tx/s; the first is the headline figure (default 1000, then 250 for reference)
  --clients   host subscriber kinds to run: sdk (spacetimedb SDK clients), raw (protocol only, no
              client cache); default both
  --profile   CPU-profile the host during the first rate's first host run`;
const flags = parseFlags(
  {
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    subscribers: { type: 'string' },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    clients: { type: 'string' },
  },
  USAGE,
);
const quick = flags.quick === true;
const subscribers = positive(flags.subscribers as string | undefined, 'subscribers', 100);
const rates = positiveList(flags.rates as string | undefined, 'rates', [1000, 250]);
const measureMs = positive(flags.seconds as string | undefined, 'seconds', quick ? 5 : 20) * 1000;
const warmupMs = quick ? 1000 : 3000;
type ClientKind = 'sdk' | 'raw';
const clientKinds = parseClientKinds(flags.clients as string | undefined);
const ACCOUNTS = 1000;
/** Large enough that no transfer (amounts grow with the transaction number) ever overdraws. */
const BALANCE = 1_000_000_000_000n;
const DRAIN_MS = 10_000;

interface FanoutResult {
  system: string;
  rate: number;
  /** Transactions whose deliveries had not all arrived when the writer stopped (a growing queue = overload). */
  behindAtEnd: number;
  sent: number;
  expected: number;
  delivered: number;
  latencyMs: LatencySummary;
  writerAckMs?: LatencySummary;
  serverCores: number;
  clientCores: number;
}

/**
 * Call `send(k)` at `rate` for warm-up + window and collect what `deliveries.record` is told;
 * only transactions sent inside the window count.
 */
async function drive(
  rate: number,
  server: ChildServer,
  send: (k: number, sentAt: number) => void,
  deliveries: { record: (k: number, at: number) => void },
  sentAt: Float64Array,
  profilePath: string | undefined,
): Promise<{
  firstK: number;
  lastK: number;
  latencies: number[];
  delivered: number;
  behindAtEnd: number;
  serverCores: number;
  clientCores: number;
}> {
  const latencies: number[] = [];
  let firstK = Infinity;
  let lastK = 0;
  let delivered = 0;
  deliveries.record = (k, at) => {
    if (k >= firstK && k <= lastK) {
      latencies.push(at - sentAt[k]!);
      delivered++;
    }
  };
  // CPU and the profile cover the whole run (warm-up, window, drain): an overloaded host answers
  // requests late, so readings taken mid-run would be skewed.
  const s0 = await server.cpu();
  const c0 = ownCpu();
  if (profilePath) await server.profileStart();
  const start = performance.now();
  let windowOpen = false;
  await paced(rate, warmupMs + measureMs, (k) => {
    const now = performance.now();
    sentAt[k] = now;
    if (!windowOpen && now - start >= warmupMs) {
      windowOpen = true;
      firstK = k;
    }
    if (windowOpen) lastK = k;
    send(k, now);
  });
  const expected = (lastK - firstK + 1) * subscribers;
  const behindAtEnd = Math.round((expected - delivered) / subscribers);
  const deadline = performance.now() + DRAIN_MS;
  while (delivered < expected && performance.now() < deadline) await sleep(20);
  const clientCores = coresUsed(c0, ownCpu());
  const serverCores = coresUsed(s0, await server.cpu());
  if (profilePath) await server.profileStop(profilePath);
  return { firstK, lastK, latencies, delivered, behindAtEnd, serverCores, clientCores };
}

function parseClientKinds(value: string | undefined): ClientKind[] {
  if (value === undefined) return ['sdk', 'raw'];
  const kinds = value.split(',').map((v) => v.trim());
  const bad = kinds.filter((k) => k !== 'sdk' && k !== 'raw');
  if (bad.length) {
    process.stderr.write(`--clients takes sdk, raw or sdk,raw; got ${JSON.stringify(value)}\n${USAGE}\n`);
    process.exit(2);
  }
  return [...new Set(kinds as ClientKind[])];
}

/**
 * Connect and subscribe the subscribers; each reports (transaction number, arrival time) to
 * `record`. `close` disconnects them all and throws if a raw subscriber met a frame it could not read.
 */
async function connectSubscribers(
  kind: ClientKind,
  wsUrl: string,
  record: (k: number, at: number) => void,
): Promise<{ close: () => void }> {
  const queries = ['SELECT * FROM account'];
  if (kind === 'raw') {
    const subs = await connectRawMany(wsUrl, BANK_DB, subscribers, queries, record);
    return {
      close: () => {
        const failed = subs.find((s) => s.failure);
        for (const s of subs) s.close();
        if (failed) throw new Error(`a raw subscriber failed: ${failed.failure!.message}`);
      },
    };
  }
  const subs = await connectMany(wsUrl, subscribers);
  for (const conn of subs) {
    // The credited row's balance grows by exactly the amount, which is the transaction number.
    conn.db.account.onUpdate((_ctx, before, after) => {
      const delta = after.balance - before.balance;
      if (delta > 0n) record(Number(delta), performance.now());
    });
  }
  for (let i = 0; i < subs.length; i += 10) await Promise.all(subs.slice(i, i + 10).map((c) => subscribe(c, queries)));
  return { close: () => subs.forEach((c) => c.disconnect()) };
}

async function hostFanout(rate: number, kind: ClientKind, profilePath: string | undefined): Promise<FanoutResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-fanout-'));
  const server = await ChildServer.start('host', { module: BANK_MODULE, name: BANK_DB, dataDir });
  try {
    const writer = await connectBank(server.wsUrl);
    await openAccounts(writer, ACCOUNTS, BALANCE);
    const deliveries = { record: (_k: number, _at: number) => {} };
    const subs = await connectSubscribers(kind, server.wsUrl, (k, at) => deliveries.record(k, at));
    const next = transferGenerator(ACCOUNTS, 99);
    const sentAt = new Float64Array(Math.ceil((rate * (warmupMs + measureMs)) / 1000) + 10);
    const acks: number[] = [];
    const failures: unknown[] = [];
    const run = await drive(
      rate,
      server,
      (k, at) => {
        const t = next();
        writer.reducers.transfer({ from: BigInt(t.from), to: BigInt(t.to), amount: BigInt(k) }).then(
          () => acks.push(performance.now() - at),
          (e: unknown) => failures.push(e),
        );
      },
      deliveries,
      sentAt,
      profilePath,
    );
    if (failures.length) throw new Error(`${failures.length} transfers failed; first: ${String(failures[0])}`);
    subs.close();
    writer.disconnect();
    return {
      system: `host, ${subscribers} ${kind === 'sdk' ? 'SDK' : 'raw protocol'} subscribers (durable)`,
      rate,
      behindAtEnd: run.behindAtEnd,
      sent: run.lastK - run.firstK + 1,
      expected: (run.lastK - run.firstK + 1) * subscribers,
      delivered: run.delivered,
      latencyMs: summarise(run.latencies),
      writerAckMs: summarise(acks),
      serverCores: run.serverCores,
      clientCores: run.clientCores,
    };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function wsFanout(rate: number): Promise<FanoutResult> {
  const server = await ChildServer.start('broadcast');
  try {
    const writer = await openWs(server.wsUrl);
    const subs = await Promise.all(Array.from({ length: subscribers }, () => openWs(server.wsUrl)));
    const deliveries = { record: (_k: number, _at: number) => {} };
    for (const ws of subs) ws.on('message', (data: Buffer) => deliveries.record(data.readUInt32LE(0), performance.now()));
    const sentAt = new Float64Array(Math.ceil((rate * (warmupMs + measureMs)) / 1000) + 10);
    // About the size of the host's TransactionUpdate for one transfer (two row updates).
    const payload = Buffer.alloc(96);
    const run = await drive(
      rate,
      server,
      (k) => {
        payload.writeUInt32LE(k, 0);
        writer.send(payload);
      },
      deliveries,
      sentAt,
      undefined,
    );
    for (const ws of [writer, ...subs]) ws.terminate();
    return {
      system: `raw WebSocket broadcast (ws), ${subscribers} clients`,
      rate,
      behindAtEnd: run.behindAtEnd,
      sent: run.lastK - run.firstK + 1,
      expected: (run.lastK - run.firstK + 1) * subscribers,
      delivered: run.delivered,
      latencyMs: summarise(run.latencies),
      serverCores: run.serverCores,
      clientCores: run.clientCores,
    };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`# Fan-out: 1 writer → ${subscribers} subscribers at ${rates.join(', ')} tx/s\n${machineLine()}\n`);
  process.stdout.write(`${quick ? 'quick' : 'full'} run: ${measureMs / 1000} s measured after ${warmupMs / 1000} s warm-up, per rate\n\n`);
  const profilePath = flags.profile ? join(tmpdir(), `host-fanout-${Date.now()}.cpuprofile`) : undefined;
  const groups: { base: FanoutResult; hosts: FanoutResult[] }[] = [];
  for (const rate of rates) {
    const base = await wsFanout(rate);
    process.stderr.write(`ws broadcast at ${rate}/s: p50 ${fmt(base.latencyMs.p50)} ms\n`);
    const hosts: FanoutResult[] = [];
    for (const kind of clientKinds) {
      const profiled = rate === rates[0] && kind === clientKinds[0];
      const host = await hostFanout(rate, kind, profiled ? profilePath : undefined);
      process.stderr.write(`host (${kind} subscribers) at ${rate}/s: p50 ${fmt(host.latencyMs.p50)} ms\n`);
      hosts.push(host);
    }
    groups.push({ base, hosts });
  }
  const ratio = (a: number, b: number) => `${fmt(a / b)}×`;
  process.stdout.write(
    `${table(
      [
        'system',
        'rate tx/s',
        'tx sent',
        'deliveries',
        'delivered',
        'behind at end (tx)',
        'p50 ms',
        'p99 ms',
        'max ms',
        'writer ack p50/p99 ms',
        'server cores (whole run)',
        'client cores (whole run)',
        'p50 ÷ ws',
        'p99 ÷ ws',
      ],
      groups.flatMap(({ base, hosts }) =>
        [base, ...hosts].map((r) => [
          r.system,
          String(r.rate),
          String(r.sent),
          String(r.expected),
          `${fmt((100 * r.delivered) / r.expected)}%`,
          String(r.behindAtEnd),
          fmt(r.latencyMs.p50),
          fmt(r.latencyMs.p99),
          fmt(r.latencyMs.max),
          r.writerAckMs ? `${fmt(r.writerAckMs.p50)} / ${fmt(r.writerAckMs.p99)}` : '–',
          fmt(r.serverCores),
          fmt(r.clientCores),
          r === base ? '1.00×' : ratio(r.latencyMs.p50, base.latencyMs.p50),
          r === base ? '1.00×' : ratio(r.latencyMs.p99, base.latencyMs.p99),
        ]),
      ),
    )}\n`,
  );
  if (profilePath) {
    const summary = summariseProfile(readProfile(profilePath), join(BANK_MODULE, '..', '..', '..'));
    const busy = summary.totalMs - summary.idleMs;
    process.stdout.write(
      `\nHost CPU profile of the ${rates[0]} tx/s run with ${clientKinds[0]} subscribers (warm-up, window and drain): ${fmt(summary.totalMs)} ms sampled, main thread ${fmt((100 * busy) / summary.totalMs)}% not idle (${profilePath})\n`,
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
    process.stderr.write(`fanout failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
