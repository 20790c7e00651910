// The embedded world as its own process (for tests and for running apps against it by hand).
// Prints {"event":"ready",...endpoints} on stdout; reads commands on stdin, one a line:
//   restart-host [downMs]   stop the host and start it again on the same port and data
//   stop                    close everything and exit
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startEmbeddedWorld } from './world';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'world-port': { type: 'string', default: '0' },
    // Unset: the port used last time with this data dir (same issuer); 0: any free port.
    'control-port': { type: 'string' },
    'relay-port': { type: 'string', default: '0' },
    'no-peer': { type: 'boolean', default: false },
    'heartbeat-ms': { type: 'string', default: '0' },
    'presence-ttl-ms': { type: 'string', default: '0' },
  },
});
if (!values['data-dir']) {
  console.error('usage: cli.ts --data-dir DIR [--world-port N] [--control-port N] [--relay-port N] [--no-peer]');
  process.exit(2);
}

const world = await startEmbeddedWorld({
  dataDir: resolve(values['data-dir']),
  worldPort: Number(values['world-port']),
  controlPort: values['control-port'] === undefined ? undefined : Number(values['control-port']),
  relayPort: Number(values['relay-port']),
  peer: !values['no-peer'],
  heartbeatIntervalMs: Number(values['heartbeat-ms']),
  presenceTtlMs: Number(values['presence-ttl-ms']),
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)),
});
const say = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
say({
  event: 'ready',
  worldUrl: world.worldUrl,
  databaseName: world.databaseName,
  controlUrl: world.controlUrl,
  relayUrl: world.relayUrl,
  peerNpub: world.peer?.npub ?? null,
});

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  queue = queue.then(async () => {
    if (command === 'restart-host') {
      await world.restartHost(arg ? Number(arg) : undefined);
      say({ event: 'host-restarted' });
    } else if (command === 'stop') {
      await world.close();
      say({ event: 'stopped' });
      process.exit(0);
    } else if (command) {
      say({ event: 'error', message: `unknown command ${command}` });
    }
  });
});
const stop = async () => {
  await world.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
