// Child-process entry that runs one host (the library's `startHost`) so the host gets a core of its
// own and its CPU time can be measured apart from the clients'. Talks to the bench over IPC.
//   argv[2]: JSON HostProcessOptions
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import pino from 'pino';
import type { HostProcessOptions, ParentMessage, ChildMessage } from './host-protocol';

const send = (m: ChildMessage) => process.send!(m);

/**
 * tsx runs transformed TypeScript; point each profiled function at its line in the original source
 * (this process runs with --enable-source-maps, so the maps tsx inlines are loaded).
 */
function mapToSources(nodes: { callFrame: { url: string; lineNumber: number; columnNumber: number } }[]): void {
  for (const { callFrame: frame } of nodes) {
    if (!frame.url.startsWith('file://') || frame.lineNumber < 0) continue;
    const entry = findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (!entry || !('originalLine' in entry)) continue;
    const source = entry.originalSource.startsWith('file://') ? entry.originalSource : new URL(entry.originalSource, frame.url).href;
    frame.url = source;
    frame.lineNumber = entry.originalLine;
    frame.columnNumber = entry.originalColumn;
  }
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 100 µs sampling: fine enough for functions that run ~10 µs per transaction.
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, path: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  mapToSources(profile.nodes);
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as HostProcessOptions;
  // BENCH_HOST_ENTRY: A/B a patched copy of the host (its src/index.ts) against the workspace one.
  const { startHost } = (await import(
    process.env.BENCH_HOST_ENTRY ?? '@autopilot/spacetime-host'
  )) as typeof import('@autopilot/spacetime-host');
  let startup: Session | undefined;
  if (opts.profileStartupTo) startup = await startProfiler();
  const started = process.hrtime.bigint();
  const host = await startHost({
    module: opts.module,
    name: opts.name,
    port: 0,
    dataDir: opts.dataDir,
    fsync: opts.fsync,
    groupCommitMs: opts.groupCommitMs,
    snapshotEvery: opts.snapshotEvery,
    keepLog: opts.keepLog,
    callBudgetMs: opts.callBudgetMs,
    logger: pino({ level: process.env.HOST_LOG ?? 'warn' }, pino.destination(2)),
  });
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (startup) await stopProfiler(startup, opts.profileStartupTo!);
  let session: Session | undefined;
  // Requests are handled one after another, so a profile stop never overtakes its start.
  let queue = Promise.resolve();
  process.on('message', (raw) => {
    const m = raw as ParentMessage;
    queue = queue
      .then(async (): Promise<void> => {
        switch (m.type) {
          case 'cpu': {
            const u = process.cpuUsage();
            send({ type: 'cpu', id: m.id, userMicros: u.user, systemMicros: u.system, atNs: process.hrtime.bigint().toString() });
            return;
          }
          case 'hash':
            send({ type: 'hash', id: m.id, hash: host.stateHash() });
            return;
          case 'profile-start':
            session = await startProfiler();
            send({ type: 'ack', id: m.id });
            return;
          case 'profile-stop':
            if (!session) throw new Error('profile-stop without a running profile');
            await stopProfiler(session, m.path);
            session = undefined;
            send({ type: 'ack', id: m.id });
            return;
          case 'close':
            // `crash` leaves the data dir exactly as it is (no closing snapshot), like a kill.
            if (!m.crash) await host.close();
            send({ type: 'ack', id: m.id });
            process.exit(0);
        }
      })
      .catch((e: unknown) => {
        process.stderr.write(`host process: ${String(e)}\n`);
        process.exit(1);
      });
  });
  send({
    type: 'ready',
    url: host.url,
    startMs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    recovery: host.recovery && {
      fresh: host.recovery.fresh,
      replayedRecords: host.recovery.replayedRecords,
      snapshotSeq: host.recovery.snapshotSeq?.toString(),
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`host process failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
