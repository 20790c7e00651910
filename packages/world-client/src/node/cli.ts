// autopilot-node: headless autopilots on the command line.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Level } from 'pino';
import type { AutopilotNodeConfig } from '../core/autopilot';
import { createNodeLogger } from './logger';
import { startAutopilotNodes, type RunningNodes } from './run';

export const USAGE = `usage: autopilot-node --world <ws://host:port[/database]> --control <http://host:port> --keystore <file>
                      [--name <display name>] [--count <n>] [--database <name>] [--config <file.json>]
                      [--log-level <fatal|error|warn|info|debug|silent>]

  --world     the world server; a path names the database (default database: world)
  --control   the control service that issues tokens (NIP-98 login)
  --keystore  encrypted keystore file holding the nodes' keys (created when missing);
              passphrase from AUTOPILOT_NODE_PASSPHRASE (a fixed development passphrase otherwise)
  --count     run n nodes in this process (load generation); each gets its own identity
  --config    JSON: { computeClasses, maxConcurrency, region, priceHints, answerMessages }

Prints "autopilot-node joined as <npub> on <world url>" once per node when it joined.`;

export const DEV_PASSPHRASE = 'autopilot-node-development-only';

export interface CliOptions {
  world: string;
  control: string;
  keystore: string;
  name: string;
  count: number;
  database: string | undefined;
  config: string | undefined;
  logLevel: Level | 'silent';
  scryptLogN: number | undefined;
}

export type ParsedCli = { ok: true; options: CliOptions } | { ok: false; message: string; help?: boolean };

export function parseCli(argv: readonly string[]): ParsedCli {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        world: { type: 'string' },
        control: { type: 'string' },
        keystore: { type: 'string' },
        name: { type: 'string' },
        count: { type: 'string' },
        database: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        'scrypt-log-n': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { ok: false, message: `${(error as Error).message}\n\n${USAGE}` };
  }
  if (values.help) return { ok: false, message: USAGE, help: true };
  const missing = (['world', 'control', 'keystore'] as const).filter((flag) => !values[flag]);
  if (missing.length > 0) return { ok: false, message: `missing ${missing.map((flag) => `--${flag}`).join(', ')}\n\n${USAGE}` };
  const count = values.count === undefined ? 1 : Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) return { ok: false, message: `--count must be an integer from 1 to 10000, got ${values.count}` };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  const logLevel = values['log-level'] ?? 'warn';
  if (!levels.includes(logLevel)) return { ok: false, message: `--log-level must be one of ${levels.join(', ')}` };
  const scrypt = values['scrypt-log-n'] === undefined ? undefined : Number(values['scrypt-log-n']);
  if (scrypt !== undefined && (!Number.isInteger(scrypt) || scrypt < 1 || scrypt > 20)) return { ok: false, message: '--scrypt-log-n must be an integer from 1 to 20' };
  return {
    ok: true,
    options: {
      world: values.world!,
      control: values.control!,
      keystore: values.keystore!,
      name: values.name ?? 'autopilot-node',
      count,
      database: values.database,
      config: values.config,
      logLevel: logLevel as Level | 'silent',
      scryptLogN: scrypt,
    },
  };
}

export async function loadNodeConfig(path: string): Promise<AutopilotNodeConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read config ${path}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`config ${path} must be a JSON object`);
  const config = json as Record<string, unknown>;
  const known = ['computeClasses', 'maxConcurrency', 'region', 'priceHints', 'answerMessages'];
  const unknown = Object.keys(config).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`config ${path} has unknown fields: ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const classes = config.computeClasses;
  if (classes !== undefined && (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string' && /^[a-z][a-z0-9._-]*$/.test(c)))) {
    throw new Error(`config ${path}: computeClasses must be a list of lowercase names like "cpu.small"`);
  }
  if (config.maxConcurrency !== undefined && !(Number.isInteger(config.maxConcurrency) && (config.maxConcurrency as number) >= 1)) {
    throw new Error(`config ${path}: maxConcurrency must be a positive integer`);
  }
  if (config.region !== undefined && typeof config.region !== 'string') throw new Error(`config ${path}: region must be a string`);
  if (config.answerMessages !== undefined && typeof config.answerMessages !== 'boolean') throw new Error(`config ${path}: answerMessages must be true or false`);
  if (config.priceHints !== undefined && (typeof config.priceHints !== 'object' || config.priceHints === null || Array.isArray(config.priceHints))) {
    throw new Error(`config ${path}: priceHints must be a JSON object`);
  }
  return config as AutopilotNodeConfig;
}

/** Runs the CLI; resolves with the process exit code once the nodes stopped. */
export async function runCli(
  argv: readonly string[],
  io: { stdout: (line: string) => void; stderr: (line: string) => void; env: NodeJS.ProcessEnv; onSignal: (handler: () => void) => void },
): Promise<number> {
  const parsed = parseCli(argv);
  if (!parsed.ok) {
    (parsed.help ? io.stdout : io.stderr)(parsed.message);
    return parsed.help ? 0 : 2;
  }
  const options = parsed.options;
  const logger = createNodeLogger(options.logLevel);
  let passphrase = io.env.AUTOPILOT_NODE_PASSPHRASE;
  if (!passphrase) {
    passphrase = DEV_PASSPHRASE;
    io.stderr('autopilot-node: AUTOPILOT_NODE_PASSPHRASE is not set; the keystore uses the development passphrase');
  }
  let running: RunningNodes;
  try {
    const config = options.config ? await loadNodeConfig(options.config) : undefined;
    running = await startAutopilotNodes({
      worldUrl: options.world,
      controlUrl: options.control,
      keystore: { path: options.keystore, passphrase, ...(options.scryptLogN !== undefined ? { scryptLogN: options.scryptLogN } : {}) },
      name: options.name,
      count: options.count,
      ...(options.database ? { database: options.database } : {}),
      ...(config ? { config } : {}),
      logger,
      onJoined: (_node, npub) => io.stdout(`autopilot-node joined as ${npub} on ${options.world}`),
    });
  } catch (error) {
    io.stderr(`autopilot-node: ${(error as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => io.onSignal(resolve));
  await running.stop();
  return 0;
}
