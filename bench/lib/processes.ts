// Start a host (or an echo server) in a child process and talk to it: CPU time, state hash,
// profiling, and shutdown.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, HostProcessOptions, ParentMessage, RecoverySummary } from './host-protocol';

const HOST_ENTRY = fileURLToPath(new URL('./host-process.ts', import.meta.url));
const ECHO_ENTRY = fileURLToPath(new URL('./echo-process.ts', import.meta.url));

/** CPU time a process used between two readings, as a share of one core (1.0 = one core busy). */
export interface CpuReading {
  userMicros: number;
  systemMicros: number;
  atNs: bigint;
}

export function coresUsed(from: CpuReading, to: CpuReading): number {
  const wallMicros = Number(to.atNs - from.atNs) / 1000;
  return (to.userMicros - from.userMicros + to.systemMicros - from.systemMicros) / wallMicros;
}

export function ownCpu(): CpuReading {
  const u = process.cpuUsage();
  return { userMicros: u.user, systemMicros: u.system, atNs: process.hrtime.bigint() };
}

/** A parent message without its id (distributes over the union). */
type Request = ParentMessage extends infer M ? (M extends ParentMessage ? Omit<M, 'id'> : never) : never;

export class ChildServer {
  /** Wall time from spawning the process to its `ready` message. */
  readonly spawnToReadyMs: number;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: ChildMessage) => void>();
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    /** Time `startHost` took inside the child (module bundling + recovery + listen). */
    readonly startMs: number,
    readonly recovery: RecoverySummary | undefined,
    spawnToReadyMs: number,
    /** Peak resident memory of the child when it became ready. */
    readonly maxRssMiB: number,
  ) {
    this.spawnToReadyMs = spawnToReadyMs;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (m: ChildMessage) => {
      if ('id' in m) {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      }
    });
  }

  static async start(entry: 'host' | 'echo' | 'broadcast', opts?: HostProcessOptions, execArgv: string[] = []): Promise<ChildServer> {
    const t0 = process.hrtime.bigint();
    const args = entry === 'host' ? [JSON.stringify(opts)] : [entry];
    const child = fork(entry === 'host' ? HOST_ENTRY : ECHO_ENTRY, args, {
      execArgv: ['--import', 'tsx', '--enable-source-maps', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
      child.once('message', (m: ChildMessage) =>
        m.type === 'ready' ? resolve(m) : reject(new Error(`unexpected first message ${m.type}`)),
      );
      child.once('exit', (code) => reject(new Error(`${entry} process exited (${code}) before it was ready`)));
    });
    return new ChildServer(child, ready.url, ready.startMs, ready.recovery, Number(process.hrtime.bigint() - t0) / 1e6, ready.maxRssMiB);
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  private request(m: Request): Promise<ChildMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.child.send({ ...m, id } as ParentMessage, (err) => err && reject(err));
    });
  }

  async cpu(): Promise<CpuReading> {
    const m = await this.request({ type: 'cpu' });
    if (m.type !== 'cpu') throw new Error(`expected a cpu reply, got ${m.type}`);
    return { userMicros: m.userMicros, systemMicros: m.systemMicros, atNs: BigInt(m.atNs) };
  }

  async stateHash(): Promise<string> {
    const m = await this.request({ type: 'hash' });
    if (m.type !== 'hash') throw new Error(`expected a hash reply, got ${m.type}`);
    return m.hash;
  }

  async profileStart(): Promise<void> {
    await this.request({ type: 'profile-start' });
  }

  async profileStop(path: string): Promise<void> {
    await this.request({ type: 'profile-stop', path });
  }

  /** Stop the server; `crash` exits without the closing snapshot, leaving the data dir as it is. */
  async close(opts: { crash?: boolean } = {}): Promise<void> {
    if (this.child.exitCode === null) {
      await Promise.race([this.request({ type: 'close', crash: opts.crash }), this.exited]);
    }
    await this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
