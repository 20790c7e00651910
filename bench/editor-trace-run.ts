// The editor-trace benchmark's machinery (the CLI is editor-trace.ts, a smoke test is
// test/editor-trace.test.ts): load a keystroke trace, apply it with Yjs locally, and replay it
// through client A's FileSession into the real world (embedded host in its own process, the real
// module, the control service, the SDK) while client B's FileSession follows; measure the time
// until B holds the final text (asserted equal), batches and their round trips, peak memory.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pino } from 'pino';
import * as Y from 'yjs';
import { startControl } from '@autopilot/control';
import { deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import {
  ControlTokenSource,
  FileSession,
  openFileSession,
  signerFromPrivateKey,
  WorldClient,
  WorldFileTransport,
  type FileBatch,
  type FileOpRecord,
  type FileTransport,
  type SendOutcome,
} from '@autopilot/world-client';
import { NodeWebSocket } from '@autopilot/world-client/node';
import { setGlobalLogLevel } from 'spacetimedb';
import { summariseProfile, readProfile } from './lib/cpuprofile';
import { fmt, percentile } from './lib/stats';
import type { TraceHostOptions, TraceHostReply, TraceHostRequest } from './editor-trace-host';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODULE_DIR = join(REPO_ROOT, 'spacetime-module');
/** Where the traces are, relative to the repo root (shared/ sits beside the repository). */
export const DEFAULT_TRACES_DIR = resolve(REPO_ROOT, '../shared/data/editing-traces');
const silent = pino({ level: process.env.BENCH_LOG ?? 'silent' });
setGlobalLogLevel('warn');

export type Patch = [number, number, string];
export interface Trace {
  name: string;
  txns: Patch[][];
  patches: number;
  /** The text after the replayed txns: endContent for a whole trace, a reference replay for a prefix. */
  expected: string;
}

/** A trace file's txns (the first `prefix` patches' worth, whole txns) and the text they make. */
export function loadTrace(dir: string, name: string, prefix = Infinity): Trace {
  const raw = JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.json.gz`))).toString('utf8')) as {
    startContent: string;
    endContent: string;
    txns: { patches: Patch[] }[];
  };
  if (raw.startContent !== '') throw new Error(`${name}: expected an empty startContent`);
  const txns: Patch[][] = [];
  let patches = 0;
  for (const txn of raw.txns) {
    if (patches + txn.patches.length > prefix) break;
    txns.push(txn.patches);
    patches += txn.patches.length;
  }
  let expected = raw.endContent;
  if (txns.length < raw.txns.length) {
    // A prefix: the plain splice replay the traces' README describes gives its text.
    expected = '';
    for (const txn of txns) for (const [pos, del, ins] of txn) expected = expected.slice(0, pos) + ins + expected.slice(pos + del);
  }
  return { name, txns, patches, expected };
}

// ---- Yjs, locally ----

/** Yjs applying the trace to a local Y.Text, one Yjs transaction per trace txn. */
export function runYjs(trace: Trace): { ms: number } {
  // One untimed run first, so Yjs is measured warmed up (the comparison favours Yjs, not us).
  yjsOnce(trace);
  return yjsOnce(trace);
}

function yjsOnce(trace: Trace): { ms: number } {
  const started = performance.now();
  const doc = new Y.Doc();
  const text = doc.getText('text');
  for (const txn of trace.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn) {
        if (del > 0) text.delete(pos, del);
        if (ins !== '') text.insert(pos, ins);
      }
    });
  }
  const content = text.toString();
  const ms = performance.now() - started;
  if (content !== trace.expected) throw new Error(`${trace.name}: Yjs ended with a different text (${content.length} vs ${trace.expected.length} chars)`);
  doc.destroy();
  return { ms };
}

// ---- the world ----

class TraceHost {
  #next = 1;
  readonly #waiting = new Map<number, (reply: TraceHostReply) => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly ownerToken: string,
  ) {
    child.on('message', (reply: TraceHostReply) => {
      if ('id' in reply) {
        this.#waiting.get(reply.id)?.(reply);
        this.#waiting.delete(reply.id);
      }
    });
  }

  static async start(options: TraceHostOptions): Promise<TraceHost> {
    const child = fork(fileURLToPath(new URL('./editor-trace-host.ts', import.meta.url)), [JSON.stringify(options)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Extract<TraceHostReply, { type: 'ready' }>>((resolveReady, reject) => {
      child.once('message', (reply: TraceHostReply) => (reply.type === 'ready' ? resolveReady(reply) : reject(new Error(`unexpected ${reply.type}`))));
      child.once('exit', (code) => reject(new Error(`host process exited (${code}) before it was ready`)));
    });
    return new TraceHost(child, ready.url, ready.ownerToken);
  }

  request(request: Omit<TraceHostRequest, 'id'> & { path?: string }): Promise<TraceHostReply> {
    const id = this.#next++;
    return new Promise((resolveReply) => {
      this.#waiting.set(id, resolveReply);
      this.child.send({ ...request, id });
    });
  }

  async memory(): Promise<{ maxRssMiB: number; heapUsedMiB: number; cpuMs: number }> {
    const reply = await this.request({ type: 'memory' });
    if (reply.type !== 'memory') throw new Error(`expected memory, got ${reply.type}`);
    return reply;
  }
}

/** Passes everything through and notes each batch's round trip (send → own row back). */
class TimingTransport implements FileTransport {
  readonly roundTrips: number[] = [];
  readonly #sentAt = new Map<string, number>();

  constructor(readonly inner: FileTransport) {}

  sendBatch(batch: FileBatch): Promise<SendOutcome> {
    if (!this.#sentAt.has(batch.opId)) this.#sentAt.set(batch.opId, performance.now());
    return this.inner.sendBatch(batch);
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    return this.inner.onOps((ops) => {
      for (const op of ops) {
        const sent = this.#sentAt.get(op.opId);
        if (sent !== undefined) {
          this.roundTrips.push(performance.now() - sent);
          this.#sentAt.delete(op.opId);
        }
      }
      listener(ops);
    });
  }
}

async function until(predicate: () => boolean, what: string, ms = 600_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface WorldRun {
  totalMs: number;
  replayMs: number;
  editCallMs: number;
  batches: number;
  hostMaxRssMiB: number;
  hostCpuMs: number;
  clientMaxRssMiB: number;
  clientPeakHeapMiB: number;
  conflicts: number;
  roundTripP50: number;
  roundTripMax: number;
}

export interface WorldRunOptions {
  coalesceMs: number;
  verifyHashes: boolean;
  /** CPU-profile the client process and the host; prints the top functions. */
  profile?: boolean;
}

/**
 * Runs the trace through a FileSession with no world behind it (its batches never answered), so
 * the engine's code is JIT-warm before the timed run, as Yjs is warmed before its own.
 */
export function warmUpPipeline(trace: Trace): void {
  const session = new FileSession({
    head: { version: 1, content: '' },
    transport: { sendBatch: () => new Promise<SendOutcome>(() => undefined), onOps: () => () => undefined },
    timers: { set: () => 0, clear: () => undefined },
  });
  for (const txn of trace.txns) for (const [pos, del, ins] of txn) session.edit([{ from: pos, to: pos + del, insert: ins }]);
  if (session.text !== trace.expected) throw new Error(`${trace.name}: the warm-up ended with a different text`);
  session.close();
}

/** A fresh world with clients A and B, a workspace both belong to, and an empty file. */
interface World {
  host: TraceHost;
  a: WorldClient;
  b: WorldClient;
  workspaceId: string;
  path: string;
  fileId: string;
  dataDir: string;
  close(): Promise<void>;
}

async function openWorld(label: string): Promise<World> {
  const dataDir = mkdtempSync(join(tmpdir(), 'editor-trace-'));
  const control = await startControl({
    port: 0,
    logger: silent,
    dataDir: join(dataDir, 'control'),
    config: { rateLimits: { loginPerAddress: { burst: 1000, perMinute: 1000 }, loginPerPubkey: { burst: 100, perMinute: 100 } } },
  });
  const name = `trace-${process.pid}-${label}`;
  const host = await TraceHost.start({ module: MODULE_DIR, name, dataDir: join(dataDir, 'host'), trustedIssuers: [control.issuer], fsync: true });
  const clients: WorldClient[] = [];
  const close = async () => {
    await Promise.allSettled(clients.map((client) => client.stop()));
    await host.request({ type: 'close' }).catch(() => undefined);
    await control.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const configured = await fetch(`${host.url}/v1/database/${name}/call/configure_world`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${host.ownerToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        trusted_issuers: [control.issuer],
        heartbeat_interval_ms: 0,
        presence_ttl_ms: 0,
        presence_sweep_ms: 0,
        checkpoint_every_ops: 0,
        max_message_bytes: 0,
        max_file_bytes: 0,
      }),
    });
    if (!configured.ok) throw new Error(`configure_world: ${configured.status} ${await configured.text()}`);
    const makeClient = (displayName: string) => {
      const identity = deriveIdentity(generateMnemonic());
      const client = new WorldClient({
        worldUrl: host.url.replace(/^http/, 'ws'),
        database: name,
        tokens: new ControlTokenSource({ controlUrl: control.url, signer: signerFromPrivateKey(identity), deviceId: displayName }),
        WebSocket: NodeWebSocket,
        join: { displayName },
        features: ['files', 'conflicts'],
        logger: silent,
      });
      clients.push(client);
      return client;
    };
    const a = makeClient('trace-a');
    const b = makeClient('trace-b');
    for (const client of [a, b]) {
      await client.start();
      const connected = await client.whenConnected(20_000);
      if (!connected.ok) throw new Error(`connect: ${connected.message}`);
    }
    const created = await a.createWorkspace({ slug: 'trace', name: 'Trace' });
    if (!created.ok) throw new Error(`create_workspace: ${created.message}`);
    await until(() => Object.values(a.stores.files.getState().workspaces).some((w) => w.slug === 'trace'), 'workspace');
    const workspaceId = Object.values(a.stores.files.getState().workspaces).find((w) => w.slug === 'trace')!.id;
    const invited = await a.inviteMember({ workspaceId, member: b.identity!, role: 'editor' });
    if (!invited.ok) throw new Error(`invite_member: ${invited.message}`);
    const path = `${label}.txt`;
    const file = await a.applyFileOps({ workspaceId, path, expectedBaseVersion: 0, ops: [{ start: 0, deleteCount: 1, lines: [''] }] });
    if (!file.ok) throw new Error(`create file: ${file.message}`);
    const visible = (client: WorldClient) => Object.values(client.stores.files.getState().files).some((f) => f.path === path);
    await until(() => visible(a) && visible(b), 'file visible to both');
    const fileId = Object.values(a.stores.files.getState().files).find((f) => f.path === path)!.id;
    return { host, a, b, workspaceId, path, fileId, dataDir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runWorld(trace: Trace, options: WorldRunOptions): Promise<WorldRun> {
  const { coalesceMs, verifyHashes } = options;
  const profile = options.profile === true;
  const world = await openWorld(trace.name);
  const { host, a, b, workspaceId, path, fileId, dataDir } = world;
  const sessions: FileSession[] = [];
  try {
    // A's transport is timed: a batch's round trip runs from sendBatch to its row arriving back at A.
    const timing = new TimingTransport(new WorldFileTransport(a, { workspaceId, path, fileId }));
    const sessionA = new FileSession({ head: { version: 1, content: '' }, transport: timing, coalesceMs, verifyHashes });
    const openB = openFileSession(b, { workspaceId, path }, { verifyHashes });
    if (!openB.ok) throw new Error(`open B's session: ${openB.message}`);
    const sessionB = openB.session;
    sessions.push(sessionA, sessionB);
    let conflicts = 0;
    for (const session of sessions) session.onConflict(() => conflicts++);
    const holdsFinal = new Promise<number>((resolveFinal) => {
      const check = () => {
        if (sessionB.doc.length === trace.expected.length && sessionB.text === trace.expected) resolveFinal(performance.now());
      };
      sessionB.onChange(check);
    });
    // The subscription of B must be live before the clock starts.
    await new Promise((r) => setTimeout(r, 200));

    let clientPeakHeap = process.memoryUsage().heapUsed;
    const heapTimer = setInterval(() => (clientPeakHeap = Math.max(clientPeakHeap, process.memoryUsage().heapUsed)), 20);
    if (profile) await host.request({ type: 'profile-start' });
    const { Session } = await import('node:inspector/promises');
    const profiler = profile ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }

    const hostBefore = await host.memory();
    const started = performance.now();
    let editCallMs = 0;
    let i = 0;
    // Keystrokes arrive as events; between slices of ~4 ms the event loop runs (network, timers),
    // as it would between an editor's input events.
    while (i < trace.txns.length) {
      const sliceEnd = performance.now() + 4;
      const t0 = performance.now();
      while (i < trace.txns.length && performance.now() < sliceEnd) {
        const txn = trace.txns[i++]!;
        for (const [pos, del, ins] of txn) {
          const result = sessionA.edit([{ from: pos, to: pos + del, insert: ins }]);
          if (!result.ok) throw new Error(`edit refused at txn ${i}: ${result.code} ${result.message}`);
        }
      }
      editCallMs += performance.now() - t0;
      await yieldToLoop();
    }
    const replayMs = performance.now() - started;
    const finishedAt = await holdsFinal;
    const totalMs = finishedAt - started;
    clearInterval(heapTimer);
    if (sessionA.text !== trace.expected) throw new Error(`${trace.name}: A's text differs from the expected text`);
    await sessionA.whenIdle();
    if (profiler) {
      const { profile: cpu } = await profiler.post('Profiler.stop');
      const clientProfile = join(dataDir, 'client.cpuprofile');
      (await import('node:fs')).writeFileSync(clientProfile, JSON.stringify(cpu));
      const hostProfile = join(dataDir, 'host.cpuprofile');
      await host.request({ type: 'profile-stop', path: hostProfile });
      printProfile('client process (A, B, control)', clientProfile);
      printProfile('host process', hostProfile);
    }
    const hostAfter = await host.memory();
    return {
      totalMs,
      replayMs,
      editCallMs,
      batches: sessionB.version - 1,
      hostMaxRssMiB: hostAfter.maxRssMiB,
      hostCpuMs: hostAfter.cpuMs - hostBefore.cpuMs,
      clientMaxRssMiB: process.resourceUsage().maxRSS / 1024,
      clientPeakHeapMiB: Math.max(clientPeakHeap, process.memoryUsage().heapUsed) / 2 ** 20,
      conflicts,
      roundTripP50: percentile(timing.roundTrips.slice().sort((x, y) => x - y), 50),
      roundTripMax: Math.max(...timing.roundTrips),
    };
  } finally {
    for (const session of sessions) session.close();
    await world.close();
  }
}


export interface LatencyRun {
  keystrokes: number;
  p50: number;
  p95: number;
  max: number;
}

/**
 * Typing at a steady, human-like rate (one patch every `intervalMs`): the time from a keystroke's
 * `edit()` on A until B's session holds it (B took in the batch that carried it).
 */
export async function runLatency(trace: Trace, options: { keystrokes: number; intervalMs: number; coalesceMs: number }): Promise<LatencyRun> {
  const world = await openWorld(`${trace.name}-paced`);
  const { a, b, workspaceId, path, fileId } = world;
  const sessions: FileSession[] = [];
  try {
    const editedAt: number[] = [];
    /** opId → how many keystrokes A had made when it sent that batch (all are in it or before it). */
    const carried = new Map<string, number>();
    const sender = new SendNotingTransport(new WorldFileTransport(a, { workspaceId, path, fileId }), (opId) => carried.set(opId, editedAt.length));
    const latencies: number[] = [];
    let seen = 0;
    const receiver = new ArrivalTransport(new WorldFileTransport(b, { workspaceId, path, fileId }), (opId) => {
      const upTo = carried.get(opId);
      if (upTo === undefined) return;
      const now = performance.now();
      for (; seen < upTo; seen++) latencies.push(now - editedAt[seen]!);
    });
    const sessionA = new FileSession({ head: { version: 1, content: '' }, transport: sender, coalesceMs: options.coalesceMs });
    const sessionB = new FileSession({ head: { version: 1, content: '' }, transport: receiver });
    sessions.push(sessionA, sessionB);
    await new Promise((r) => setTimeout(r, 200));
    const patches = trace.txns.flat().slice(0, options.keystrokes);
    const started = performance.now();
    for (const [index, [pos, del, ins]] of patches.entries()) {
      // Paced against the start, so one slow turn does not shift every later keystroke.
      const wait = started + index * options.intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      editedAt.push(performance.now());
      const result = sessionA.edit([{ from: pos, to: pos + del, insert: ins }]);
      if (!result.ok) throw new Error(`edit refused: ${result.code} ${result.message}`);
    }
    await sessionA.whenIdle();
    await until(() => seen === patches.length && sessionB.text === sessionA.text, 'B holds every keystroke', 60_000);
    const sorted = latencies.slice().sort((x, y) => x - y);
    return { keystrokes: patches.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1]! };
  } finally {
    for (const session of sessions) session.close();
    await world.close();
  }
}

/** Notes the moment each batch is handed to the world. */
class SendNotingTransport implements FileTransport {
  constructor(
    readonly inner: FileTransport,
    readonly onSend: (opId: string) => void,
  ) {}

  sendBatch(batch: FileBatch): Promise<SendOutcome> {
    this.onSend(batch.opId);
    return this.inner.sendBatch(batch);
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    return this.inner.onOps(listener);
  }
}

/** Notes each op's arrival, after the session took it in. */
class ArrivalTransport implements FileTransport {
  constructor(
    readonly inner: FileTransport,
    readonly onArrival: (opId: string) => void,
  ) {}

  sendBatch(batch: FileBatch): Promise<SendOutcome> {
    return this.inner.sendBatch(batch);
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    return this.inner.onOps((ops) => {
      listener(ops);
      for (const op of ops) this.onArrival(op.opId);
    });
  }
}

export function printProfile(label: string, path: string): void {
  const summary = summariseProfile(readProfile(path), REPO_ROOT);
  process.stdout.write(`\nprofile, ${label}: ${fmt(summary.totalMs - summary.idleMs)} ms busy of ${fmt(summary.totalMs)} ms\n`);
  for (const f of summary.functions.filter((fn) => fn.where !== '(idle)').slice(0, 12)) {
    process.stdout.write(`  ${fmt(f.selfMs).padStart(8)} ms self  ${fmt(f.inclusiveMs).padStart(8)} ms incl  ${f.where}\n`);
  }
}

