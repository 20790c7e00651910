// A whole world for integration tests: the real control service, the embedded host running the
// real world module (configured by its owner to trust that control service), and helpers to make
// world clients with fresh Nostr identities.
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { setGlobalLogLevel } from 'spacetimedb';
import { startControl, type ControlConfig, type ControlHandle } from '@autopilot/control';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { deriveIdentity, generateMnemonic, type NostrIdentity } from '@autopilot/nip06';
import { ControlTokenSource, signerFromPrivateKey, WorldClient, type WorldClientOptions } from '../../src/index';
import { NodeWebSocket } from '../../src/node/index';

export const MODULE_DIR = fileURLToPath(new URL('../../../../spacetime-module', import.meta.url));
const silent = pino({ level: process.env.TEST_LOG ?? 'silent' });
// The SDK logs every connect at info on stdout; tests only want its warnings.
setGlobalLogLevel('warn');

export interface Tunables {
  heartbeat_interval_ms?: number;
  presence_ttl_ms?: number;
  presence_sweep_ms?: number;
}

export interface TestWorld {
  control: ControlHandle;
  host: RunningHost;
  name: string;
  wsUrl: string;
  dataDir: string;
  /** Where the control service keeps its keys and sessions (a restart with it keeps both). */
  controlDataDir: string;
  /** Stops the host only (data stays); `restartHost` brings it back on the same port. */
  stopHost(): Promise<void>;
  restartHost(): Promise<void>;
  client(options?: ClientOptions): TestClient;
  close(): Promise<void>;
}

export interface ClientOptions extends Partial<Omit<WorldClientOptions, 'tokens' | 'worldUrl' | 'database' | 'WebSocket'>> {
  identity?: NostrIdentity;
  name?: string;
  scopes?: string[];
  deviceId?: string;
  refreshLeadMs?: number;
}

export interface TestClient {
  client: WorldClient;
  tokens: ControlTokenSource;
  identity: NostrIdentity;
}

let counter = 0;

export async function startTestWorld(options: { control?: ControlConfig; controlNow?: () => number; tunables?: Tunables } = {}): Promise<TestWorld> {
  const controlDataDir = mkdtempSync(join(tmpdir(), 'world-client-control-'));
  const control = await startControl({
    port: 0,
    logger: silent,
    dataDir: controlDataDir,
    ...(options.controlNow ? { now: options.controlNow } : {}),
    config: {
      rateLimits: { loginPerAddress: { burst: 10_000, perMinute: 10_000 }, loginPerPubkey: { burst: 1_000, perMinute: 1_000 } },
      ...options.control,
    },
  });
  const name = `world-${process.pid}-${++counter}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'world-client-test-'));
  let host = await startHost({ module: MODULE_DIR, name, port: 0, dataDir, trustedIssuers: [control.issuer], logger: silent });
  const port = host.port;
  let hostRunning = true;
  await configureWorld(host, name, control.issuer, options.tunables);
  const clients: WorldClient[] = [];

  const world: TestWorld = {
    control,
    get host() {
      return host;
    },
    name,
    wsUrl: host.url.replace(/^http/, 'ws'),
    dataDir,
    controlDataDir,
    async stopHost() {
      if (!hostRunning) return;
      hostRunning = false;
      await host.close();
    },
    async restartHost() {
      if (hostRunning) return;
      host = await startHost({ module: MODULE_DIR, name, port, dataDir, trustedIssuers: [control.issuer], logger: silent });
      hostRunning = true;
    },
    client(clientOptions: ClientOptions = {}) {
      const { identity: given, name: displayName, scopes, deviceId, refreshLeadMs, ...rest } = clientOptions;
      const identity = given ?? deriveIdentity(generateMnemonic());
      const tokens = new ControlTokenSource({
        controlUrl: control.url,
        signer: signerFromPrivateKey(identity),
        deviceId: deviceId ?? 'test-device',
        ...(scopes ? { scopes } : {}),
        ...(refreshLeadMs !== undefined ? { refreshLeadMs } : {}),
      });
      const client = new WorldClient({
        worldUrl: world.wsUrl,
        database: name,
        tokens,
        WebSocket: NodeWebSocket,
        join: { displayName: displayName ?? 'test-node' },
        lostAfterMs: 1_500,
        backoff: { initialMs: 50, maxMs: 500 },
        logger: silent,
        ...rest,
      });
      clients.push(client);
      return { client, tokens, identity };
    },
    async close() {
      await Promise.allSettled(clients.map((client) => client.stop()));
      if (hostRunning) await host.close();
      await control.close().catch(() => undefined); // a test may have closed it already
    },
  };
  return world;
}

export async function configureWorld(host: RunningHost, name: string, issuer: string, tunables: Tunables = {}): Promise<void> {
  const response = await fetch(`${host.url}/v1/database/${name}/call/configure_world`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${host.ownerToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      trusted_issuers: [issuer],
      heartbeat_interval_ms: tunables.heartbeat_interval_ms ?? 0,
      presence_ttl_ms: tunables.presence_ttl_ms ?? 0,
      presence_sweep_ms: tunables.presence_sweep_ms ?? 0,
      checkpoint_every_ops: 0,
      max_message_bytes: 0,
      max_file_bytes: 0,
    }),
  });
  if (!response.ok) throw new Error(`configure_world failed: ${response.status} ${await response.text()}`);
}

/** Resolves when `predicate` holds; fails naming `what` after `ms`. */
export async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
