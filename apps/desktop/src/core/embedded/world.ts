// The embedded world on one machine: the control service, the host running the world module
// (trusting that control service) configured by its owner, a local Nostr relay, and the resident
// headless peer. The host can be restarted in place (same port, same data) to exercise recovery.
// Control's port — hence its issuer — is kept in the data dir and reused, so identities stay put
// across restarts; when it must change, the world keeps trusting the previous issuers too, and
// control is told where the world is so revocations reach it.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startControl, type ControlHandle } from '@autopilot/control';
import { z } from 'zod';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import type { Logger } from 'pino';
import { readFileIfExists, writeFileAtomic } from '../files';
import { startHeadlessPeer, type HeadlessPeer } from './peer';
import { startRelay, type RunningRelay } from './relay';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
export const MODULE_DIR = join(REPO_ROOT, 'spacetime-module');

/** The module keeps at most this many trusted issuers (spacetime-module Limits.trustedIssuers). */
export const MAX_TRUSTED_ISSUERS = 8;
/** What the launcher remembers in the data dir between runs. */
export const LAUNCHER_STATE_FILE = 'launcher.json';

const launcherStateSchema = z.object({
  controlPort: z.int().min(1).max(65_535).optional(),
  controlIssuer: z.string().optional(),
  /** Issuers the world was told to trust, oldest first. */
  trustedIssuers: z.array(z.string()).default([]),
});
type LauncherState = z.infer<typeof launcherStateSchema>;

export interface EmbeddedWorldOptions {
  dataDir: string;
  /** 0 = any free port. */
  worldPort?: number;
  /**
   * Control's port. Unset: the port used last time with this data dir (so the issuer stays the
   * same), else `preferredControlPort`, else any free port. A port that is taken falls back to a
   * free one, with a warning.
   */
  controlPort?: number;
  /** The first run's control port when `controlPort` is unset. */
  preferredControlPort?: number;
  relayPort?: number;
  name?: string;
  /** Start the resident headless peer (default true). */
  peer?: boolean;
  /** Tunables for configure_world (0 = the module's default). */
  heartbeatIntervalMs?: number;
  presenceTtlMs?: number;
  logger: Logger;
}

export interface EmbeddedWorld {
  worldUrl: string;
  databaseName: string;
  controlUrl: string;
  relayUrl: string;
  peer: HeadlessPeer | undefined;
  /** Control's delivery of revocations to this world (counters, and "no attempt in flight"). */
  revocations: ControlHandle['revocations'];
  /** Stops the host and starts it again on the same port and data (clients must recover). */
  restartHost(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbeddedWorld(options: EmbeddedWorldOptions): Promise<EmbeddedWorld> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const name = options.name ?? 'world';
  const logger = options.logger;

  const state = await readLauncherState(dataDir, logger);
  const control = await startControlWithFallback(options.controlPort ?? state.controlPort ?? options.preferredControlPort ?? 0, dataDir, state, logger);
  let worldPort = options.worldPort ?? 0;
  const launchHost = async (): Promise<RunningHost> => {
    const host = await startHost({
      module: MODULE_DIR,
      name,
      port: worldPort,
      dataDir: join(dataDir, 'world'),
      trustedIssuers: [control.issuer],
      logger,
    });
    worldPort = host.port;
    return host;
  };
  let host = await launchHost();
  const trustedIssuers = await configureWorld(host, control.issuer, state.trustedIssuers, options);
  await writeLauncherState(dataDir, { controlPort: Number(new URL(control.url).port), controlIssuer: control.issuer, trustedIssuers });
  // Revocations at control must reach this world too.
  control.addWorld({ httpUrl: host.url, database: name });
  const relay: RunningRelay = await startRelay({ port: options.relayPort ?? 0, logger });
  const worldUrl = host.url.replace(/^http/, 'ws');

  const peer =
    options.peer === false
      ? undefined
      : await startHeadlessPeer({ dataDir: join(dataDir, 'peer'), worldUrl, databaseName: name, controlUrl: control.url, logger });

  return {
    worldUrl,
    databaseName: name,
    controlUrl: control.url,
    relayUrl: relay.url,
    peer,
    revocations: control.revocations,
    async restartHost(downMs = 300) {
      await host.close();
      await new Promise((r) => setTimeout(r, downMs));
      host = await launchHost();
    },
    async close() {
      await peer?.close().catch(() => undefined);
      await host.close();
      await relay.close();
      await control.close();
    },
  };
}

/**
 * The owner (publisher) tells the world which control services issue its tokens: the current issuer
 * is added to those trusted before (oldest dropped beyond the module's limit), so a change of port
 * does not strand tokens or worlds configured by an earlier run. Returns the list, oldest first.
 */
async function configureWorld(host: RunningHost, issuer: string, remembered: readonly string[], options: EmbeddedWorldOptions): Promise<string[]> {
  const previous = (await trustedIssuersOf(host)) ?? remembered;
  const trusted = [...previous.filter((known) => known !== issuer), issuer].slice(-MAX_TRUSTED_ISSUERS);
  const res = await fetch(`${host.url}/v1/database/${host.name}/call/configure_world`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      trusted_issuers: trusted,
      heartbeat_interval_ms: options.heartbeatIntervalMs ?? 0,
      presence_ttl_ms: options.presenceTtlMs ?? 0,
      presence_sweep_ms: 0,
      checkpoint_every_ops: 0,
      max_message_bytes: 0,
      max_file_bytes: 0,
    }),
  });
  if (!res.ok) throw new Error(`configure_world failed: ${res.status} ${await res.text()}`);
  return trusted;
}

/** The issuers the world trusts now (read as its owner), or undefined when it is not configured yet. */
async function trustedIssuersOf(host: RunningHost): Promise<string[] | undefined> {
  const res = await fetch(`${host.url}/v1/database/${host.name}/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.ownerToken}`, 'content-type': 'text/plain' },
    body: 'SELECT * FROM world_config',
  });
  if (!res.ok) throw new Error(`reading world_config failed: ${res.status} ${await res.text()}`);
  const [result] = (await res.json()) as { schema: { elements: { name: string | { some: string } }[] }; rows: unknown[][] }[];
  const columns = result?.schema.elements.map((element) => (typeof element.name === 'string' ? element.name : element.name.some)) ?? [];
  const row = result?.rows[0];
  if (!row || row[columns.indexOf('configured')] !== true) return undefined;
  const issuers = row[columns.indexOf('trusted_issuers')];
  return Array.isArray(issuers) ? issuers.filter((value): value is string => typeof value === 'string') : undefined;
}

/** Starts control on `port`; if that port is taken, on a free one — its issuer then changes, which is logged. */
async function startControlWithFallback(port: number, dataDir: string, state: LauncherState, logger: Logger): Promise<ControlHandle> {
  const start = (p: number) => startControl({ port: p, dataDir: join(dataDir, 'control'), logger });
  if (port === 0) return start(0);
  try {
    return await start(port);
  } catch (error) {
    if (!/EADDRINUSE/.test((error as Error).message)) throw error;
    const control = await start(0);
    logger.warn(
      { wanted: port, port: Number(new URL(control.url).port), previousIssuer: state.controlIssuer ?? null, issuer: control.issuer },
      `control port ${port} is taken; control listens on ${control.url} instead, so its issuer changed (the world keeps trusting the previous one; users keep their identity)`,
    );
    return control;
  }
}

async function readLauncherState(dataDir: string, logger: Logger): Promise<LauncherState> {
  const raw = await readFileIfExists(join(dataDir, LAUNCHER_STATE_FILE));
  if (raw === undefined) return { trustedIssuers: [] };
  try {
    return launcherStateSchema.parse(JSON.parse(raw.toString('utf8')));
  } catch (error) {
    logger.warn({ file: join(dataDir, LAUNCHER_STATE_FILE), error: (error as Error).message }, 'ignoring an unreadable launcher state file');
    return { trustedIssuers: [] };
  }
}

async function writeLauncherState(dataDir: string, state: LauncherState): Promise<void> {
  await writeFileAtomic(join(dataDir, LAUNCHER_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
