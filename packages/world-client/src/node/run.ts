// Runs one or many headless autopilot nodes in this process (many = a load generator): each with
// its own identity from the keystore, its own control session, world connection and outbox file.
import { join } from 'node:path';
import { setGlobalLogLevel } from 'spacetimedb';
import type { Logger } from '../core/logger';
import { AutopilotNode, type AutopilotNodeConfig } from '../core/autopilot';
import { ControlTokenSource, signerFromPrivateKey } from '../core/token';
import { WorldClient, type WorldFeature } from '../core/world/client';
import type { BackoffOptions } from '../core/backoff';
import { FileOutboxStorage } from './file-storage';
import { loadOrCreateNodeIdentities, type KeystoreOptions } from './identity';
import { NodeWebSocket, nodeFetch } from './websocket';

export interface StartNodesOptions {
  /** ws(s):// or http(s):// URL of the world server; a path names the database (ws://host:3000/world). */
  worldUrl: string;
  /** Database name when the URL has no path. Default "world". */
  database?: string;
  controlUrl: string;
  keystore: KeystoreOptions;
  /** Display name; with count > 1 each node gets "-<index>". Default "autopilot-node". */
  name?: string;
  count?: number;
  config?: AutopilotNodeConfig;
  /** Outbox files go here, one per node. Default: "<keystore>.outbox". */
  dataDir?: string;
  features?: readonly WorldFeature[];
  heartbeatIntervalMs?: number;
  lostAfterMs?: number;
  backoff?: Partial<BackoffOptions>;
  compression?: 'gzip' | 'none';
  version?: string;
  logger?: Logger;
  /** Called once per node when it first joined. */
  onJoined?(node: AutopilotNode, npub: string): void;
}

export interface RunningNodes {
  readonly nodes: readonly AutopilotNode[];
  readonly worldUrl: string;
  readonly database: string;
  stop(): Promise<void>;
}

export function parseWorldUrl(worldUrl: string, fallbackDatabase = 'world'): { uri: string; database: string } {
  if (!URL.canParse(worldUrl)) throw new TypeError(`--world ${JSON.stringify(worldUrl)} is not a URL`);
  const url = new URL(worldUrl);
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new TypeError(`--world must be a ws://, wss://, http:// or https:// URL`);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (path.includes('/')) throw new TypeError(`--world path must be just the database name, got /${path}`);
  return { uri: `${url.protocol}//${url.host}`, database: path === '' ? fallbackDatabase : decodeURIComponent(path) };
}

export async function startAutopilotNodes(options: StartNodesOptions): Promise<RunningNodes> {
  // The SDK prints every connect at info on stdout, which is the CLI's channel for its own lines.
  setGlobalLogLevel('warn');
  const count = options.count ?? 1;
  const baseName = options.name ?? 'autopilot-node';
  const { uri, database } = parseWorldUrl(options.worldUrl, options.database);
  const identities = await loadOrCreateNodeIdentities(options.keystore, count, baseName);
  const dataDir = options.dataDir ?? `${options.keystore.path}.outbox`;
  const nodes: AutopilotNode[] = [];
  const storages: FileOutboxStorage[] = [];

  const stop = async () => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    await Promise.allSettled(storages.map((storage) => storage.close()));
  };

  try {
    await Promise.all(
      identities.map(async ({ accountId, identity }, index) => {
        const name = count === 1 ? baseName : `${baseName}-${index}`;
        const tokens = new ControlTokenSource({
          controlUrl: options.controlUrl,
          signer: signerFromPrivateKey(identity),
          deviceId: `${accountId}`,
          fetch: nodeFetch,
          ...(options.logger ? { logger: options.logger } : {}),
        });
        const storage = new FileOutboxStorage(join(dataDir, `${accountId}.jsonl`));
        storages.push(storage);
        const client = new WorldClient({
          worldUrl: uri,
          database,
          tokens,
          WebSocket: NodeWebSocket,
          fetch: nodeFetch,
          outboxStorage: storage,
          join: { displayName: name, version: options.version ?? 'autopilot-node/0.1.0', region: options.config?.region ?? '' },
          features: options.features ?? ['presence', 'channels', 'messages', 'capabilities', 'compute'],
          ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
          ...(options.lostAfterMs !== undefined ? { lostAfterMs: options.lostAfterMs } : {}),
          ...(options.backoff ? { backoff: options.backoff } : {}),
          ...(options.compression ? { compression: options.compression } : {}),
          ...(options.logger ? { logger: options.logger } : {}),
        });
        const node = new AutopilotNode({ client, name, ...(options.config ? { config: options.config } : {}), ...(options.logger ? { logger: options.logger } : {}) });
        nodes.push(node);
        await node.start();
        options.onJoined?.(node, identity.npub);
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, worldUrl: options.worldUrl, database, stop };
}
