// The embedded world on one machine: the control service, the host running the world module
// (trusting only that control service) configured by its owner, a local Nostr relay, and the
// resident headless peer. The host can be restarted in place (same port, same data) to exercise
// recovery.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startControl, type ControlHandle } from '@autopilot/control';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import type { Logger } from 'pino';
import { startHeadlessPeer, type HeadlessPeer } from './peer';
import { startRelay, type RunningRelay } from './relay';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
export const MODULE_DIR = join(REPO_ROOT, 'spacetime-module');

export interface EmbeddedWorldOptions {
  dataDir: string;
  /** 0 = any free port. */
  worldPort?: number;
  controlPort?: number;
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
  /** Stops the host and starts it again on the same port and data (clients must recover). */
  restartHost(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbeddedWorld(options: EmbeddedWorldOptions): Promise<EmbeddedWorld> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const name = options.name ?? 'world';
  const logger = options.logger;

  const control: ControlHandle = await startControl({ port: options.controlPort ?? 0, dataDir: join(dataDir, 'control'), logger });
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
  await configureWorld(host, control.issuer, options);
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

/** The owner (publisher) tells the world which control service issues its tokens. */
async function configureWorld(host: RunningHost, issuer: string, options: EmbeddedWorldOptions): Promise<void> {
  const res = await fetch(`${host.url}/v1/database/${host.name}/call/configure_world`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      trusted_issuers: [issuer],
      heartbeat_interval_ms: options.heartbeatIntervalMs ?? 0,
      presence_ttl_ms: options.presenceTtlMs ?? 0,
      presence_sweep_ms: 0,
      checkpoint_every_ops: 0,
      max_message_bytes: 0,
      max_file_bytes: 0,
    }),
  });
  if (!res.ok) throw new Error(`configure_world failed: ${res.status} ${await res.text()}`);
}
