// The embedded world on one machine: the control service, the host running the world module
// (trusting only that control service), configured by its owner. Ctrl-C stops everything.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startControl } from '@autopilot/control';
import { startHost } from '@autopilot/spacetime-host';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: join(root, '.data') },
    'world-port': { type: 'string', default: '3000' },
    'control-port': { type: 'string', default: '8787' },
    name: { type: 'string', default: 'world' },
  },
});
const dataDir = resolve(values['data-dir']!);
mkdirSync(dataDir, { recursive: true });
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));

const control = await startControl({ port: Number(values['control-port']), dataDir: join(dataDir, 'control'), logger });
const host = await startHost({
  module: join(root, 'spacetime-module'),
  name: values.name!,
  port: Number(values['world-port']),
  dataDir: join(dataDir, 'world'),
  trustedIssuers: [control.issuer],
  logger,
});

// The owner (publisher) tells the world which control service issues its tokens.
const res = await fetch(`${host.url}/v1/database/${values.name}/call/configure_world`, {
  method: 'POST',
  headers: { authorization: `Bearer ${host.ownerToken}`, 'content-type': 'application/json' },
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
if (!res.ok) throw new Error(`configure_world failed: ${res.status} ${await res.text()}`);

process.stdout.write(
  [
    'Autopilot world is running (embedded):',
    `  world    ${host.url.replace('http', 'ws')}  database "${values.name}"  (SpacetimeDB-compatible host)`,
    `  control  ${control.url}  (NIP-98 login, OIDC issuer ${control.issuer})`,
    `  data     ${dataDir}`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);

const stop = async () => {
  await host.close();
  await control.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
