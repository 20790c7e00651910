// Web mode on its own: the core + the loopback server for one profile, pointed at a world given on
// the command line. Used by the launcher for extra profiles and by the e2e suite. Prints one JSON
// line {"event":"ready",...} on stdout once it serves, then a line for people.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AppCore } from '../core/app-core';
import { LocalKeySecretBox } from '../core/secrets';
import { startWebServer } from './server';

const appDir = resolve(import.meta.dirname, '..', '..');

export async function runWebMode(options: {
  profileDir: string;
  port?: number;
  embedded?: { worldUrl: string; databaseName: string; controlUrl: string };
  staticDir?: string;
  token?: string;
}) {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const core = await AppCore.open({
    profileDir: options.profileDir,
    secretBox: await LocalKeySecretBox.open(options.profileDir),
    mode: 'web',
    embedded: options.embedded,
    logger,
  });
  const server = await startWebServer({ core, staticDir: options.staticDir ?? join(appDir, 'dist', 'renderer'), port: options.port, token: options.token });
  return {
    core,
    server,
    async close() {
      await server.close();
      await core.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      port: { type: 'string', default: '0' },
      world: { type: 'string' },
      database: { type: 'string', default: 'world' },
      control: { type: 'string' },
    },
  });
  if (!values.profile) {
    console.error('usage: cli.ts --profile DIR [--port N] [--world ws://HOST:PORT --control http://HOST:PORT --database NAME]');
    process.exit(2);
  }
  const embedded = values.world && values.control ? { worldUrl: values.world, databaseName: values.database!, controlUrl: values.control } : undefined;
  const running = await runWebMode({ profileDir: resolve(values.profile), port: Number(values.port), embedded });
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: running.server.url, origin: running.server.origin })}\n`);
  process.stdout.write(`Autopilot (web mode) for profile ${values.profile}: open ${running.server.url}\n`);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
