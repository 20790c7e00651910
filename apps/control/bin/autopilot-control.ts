#!/usr/bin/env tsx
import { parseArgs } from 'node:util';
import { ConfigError, loadControlConfigFile, startControl, type ControlConfig } from '../src/index';

const USAGE = 'usage: autopilot-control --port <port> [--host <host>] [--config FILE] [--data-dir DIR]';

async function main(): Promise<void> {
  let values: { port?: string; host?: string; config?: string; 'data-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port ?? 'missing');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be an integer 0-65535, got ${values.port ?? 'nothing'}\n${USAGE}`);

  let config: ControlConfig | undefined;
  try {
    config = values.config === undefined ? undefined : await loadControlConfigFile(values.config);
    const control = await startControl({ port, host: values.host, config, dataDir: values['data-dir'] });
    const shutdown = () => {
      control.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    // Announce readiness only once a stop signal would be handled (stdout to a pipe is synchronous).
    process.stdout.write(`listening on ${control.url}\n`);
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : `cannot start: ${(error as Error).message}`);
  }
}

function fail(message: string): never {
  process.stderr.write(`autopilot-control: ${message}\n`);
  process.exit(2);
}

await main();
