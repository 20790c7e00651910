// Child-process entry for the editor-trace bench: runs the world (embedded host + the real module,
// trusting the bench's control service) in its own process, so its CPU and peak memory are
// measured apart from the clients'. Talks to the bench over IPC.
//   argv[2]: JSON { module, name, dataDir, trustedIssuers, fsync }
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { startHost } from '@autopilot/spacetime-host';

export interface TraceHostOptions {
  module: string;
  name: string;
  dataDir: string;
  trustedIssuers: string[];
  fsync: boolean;
}

export type TraceHostRequest = { id: number; type: 'memory' } | { id: number; type: 'profile-start' } | { id: number; type: 'profile-stop'; path: string } | { id: number; type: 'close' };

export type TraceHostReply =
  | { type: 'ready'; url: string; ownerToken: string }
  | { type: 'memory'; id: number; maxRssMiB: number; heapUsedMiB: number; cpuMs: number }
  | { type: 'ack'; id: number };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as TraceHostOptions;
  const host = await startHost({
    module: options.module,
    name: options.name,
    port: 0,
    dataDir: options.dataDir,
    trustedIssuers: options.trustedIssuers,
    fsync: options.fsync,
    logger: pino({ level: process.env.HOST_LOG ?? 'warn' }, pino.destination(2)),
  });
  const send = (reply: TraceHostReply) => process.send!(reply);
  let profiler: Session | undefined;
  let queue = Promise.resolve();
  process.on('message', (raw) => {
    const request = raw as TraceHostRequest;
    queue = queue
      .then(async () => {
        switch (request.type) {
          case 'memory': {
            const cpu = process.cpuUsage();
            send({
              type: 'memory',
              id: request.id,
              maxRssMiB: process.resourceUsage().maxRSS / 1024,
              heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
              cpuMs: (cpu.user + cpu.system) / 1000,
            });
            return;
          }
          case 'profile-start':
            profiler = new Session();
            profiler.connect();
            await profiler.post('Profiler.enable');
            await profiler.post('Profiler.start');
            send({ type: 'ack', id: request.id });
            return;
          case 'profile-stop': {
            const { profile } = await profiler!.post('Profiler.stop');
            writeFileSync(request.path, JSON.stringify(profile));
            profiler!.disconnect();
            send({ type: 'ack', id: request.id });
            return;
          }
          case 'close':
            await host.close();
            send({ type: 'ack', id: request.id });
            process.exit(0);
        }
      })
      .catch((error: unknown) => {
        process.stderr.write(`editor-trace host: ${String(error)}\n`);
        process.exit(1);
      });
  });
  if (!host.ownerToken) throw new Error('the host gave no owner token');
  send({ type: 'ready', url: host.url, ownerToken: host.ownerToken });
}

main().catch((error: unknown) => {
  process.stderr.write(`editor-trace host failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
