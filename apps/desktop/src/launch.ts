// `npm start`: the embedded world (control, host + module, relay, resident peer) and the app: in
// Electron when its binary is present, else in web mode (printing the URL to open). With
// `--attach`, starts only the app, against the world a first `npm start` is running.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildApp } from '../scripts/build';
import { REPO_ROOT, startEmbeddedWorld, type EmbeddedWorld } from './core/embedded/world';
import { findElectronBinary } from './electron-binary';
import { runWebMode } from './web/cli';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'default' },
    'data-dir': { type: 'string', default: join(REPO_ROOT, '.data') },
    attach: { type: 'boolean', default: false },
    web: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
    'world-port': { type: 'string', default: '3000' },
    'control-port': { type: 'string' },
    'relay-port': { type: 'string', default: '7777' },
  },
});

const dataDir = resolve(values['data-dir']!);
const endpointsFile = join(dataDir, 'embedded', 'endpoints.json');
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));

const built = await buildApp({ ifStale: true });
if (built.built) console.log('built the app (apps/desktop/dist)');

let world: EmbeddedWorld | undefined;
let endpoints: { worldUrl: string; databaseName: string; controlUrl: string; relayUrl?: string };
if (values.attach) {
  if (!existsSync(endpointsFile)) {
    console.error(`no running embedded world found (${endpointsFile}); start one with plain \`npm start\` first`);
    process.exit(1);
  }
  endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8'));
} else {
  world = await startEmbeddedWorld({
    dataDir: join(dataDir, 'embedded'),
    worldPort: Number(values['world-port']),
    controlPort: values['control-port'] === undefined ? undefined : Number(values['control-port']),
    preferredControlPort: 8787,
    relayPort: Number(values['relay-port']),
    logger,
  });
  endpoints = { worldUrl: world.worldUrl, databaseName: world.databaseName, controlUrl: world.controlUrl, relayUrl: world.relayUrl };
  await mkdir(join(dataDir, 'embedded'), { recursive: true });
  await writeFile(endpointsFile, JSON.stringify(endpoints));
  console.log(
    [
      'Embedded world is running:',
      `  world    ${world.worldUrl}  database "${world.databaseName}"  (SpacetimeDB-compatible host with spacetime-module)`,
      `  control  ${world.controlUrl}  (NIP-98 login, token issuer)`,
      `  relay    ${world.relayUrl}  (local Nostr relay)`,
      `  peer     ${world.peer?.npub ?? '-'}  ("Resident autopilot", answers messages and compute requests)`,
      `  data     ${dataDir}`,
    ].join('\n'),
  );
}

const profileDir = join(dataDir, 'profiles', values.profile!);
const electron = values.web ? undefined : findElectronBinary();
let stopApp: () => Promise<void>;
if (electron) {
  console.log(`Starting the desktop app in Electron (${electron}), profile "${values.profile}".`);
  const child = spawn(electron, [join(REPO_ROOT, 'apps', 'desktop', 'dist', 'electron', 'main.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, AUTOPILOT_PROFILE: profileDir, AUTOPILOT_EMBEDDED: JSON.stringify(endpoints) },
  });
  child.on('exit', () => void shutdown());
  stopApp = async () => {
    child.kill('SIGTERM');
  };
} else {
  const app = await runWebMode({ profileDir, port: Number(values.port), embedded: endpoints });
  console.log(`No Electron binary found: running in web mode, profile "${values.profile}".`);
  console.log(`Open the app: ${app.server.url}`);
  stopApp = () => app.close();
}
console.log('Press Ctrl-C to stop.');

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopApp().catch(() => undefined);
  await world?.close().catch(() => undefined);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
