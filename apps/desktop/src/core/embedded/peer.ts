// The embedded world's resident headless autopilot, so a newcomer has someone to talk to. It is
// world-client's AutopilotNode (answers messages in its channels, advertises, accepts and runs
// compute jobs) with one extra job kind for the app's free-text requests.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import {
  AutopilotNode,
  BUILTIN_JOBS,
  ControlTokenSource,
  WorldClient,
  signerFromPrivateKey,
  type JobKind,
} from '@autopilot/world-client';
import { FileOutboxStorage, NodeWebSocket, nodeFetch } from '@autopilot/world-client/node';
import type { Logger } from 'pino';
import { readFileIfExists, writeFileAtomic } from '../files';

export interface HeadlessPeerOptions {
  dataDir: string;
  worldUrl: string;
  databaseName: string;
  controlUrl: string;
  displayName?: string;
  logger: Logger;
}

export interface HeadlessPeer {
  npub: string;
  node: AutopilotNode;
  close(): Promise<void>;
}

export const PEER_COMPUTE_CLASS = 'cpu.small';
export const PEER_NAME = 'Resident autopilot';

/** text.process: { text } → { text } describing it (words, characters, reversed) — small and checkable. */
export const textProcessJob: JobKind = {
  kind: 'text.process',
  description: 'Describes a text: { text } → { text: "<n> words, <m> chars, reversed …" }',
  validate: (input) =>
    typeof input === 'object' && input !== null && typeof (input as { text?: unknown }).text === 'string' && (input as { text: string }).text.length <= 4096
      ? null
      : 'input.text must be a string of at most 4096 characters',
  run: (input) => {
    const text = (input as { text: string }).text.trim();
    const words = text.split(/\s+/).filter((w) => w !== '').length;
    const reversed = [...text].reverse().join('').slice(0, 200);
    return { ok: true, result: { text: `${words} words, ${text.length} chars, reversed "${reversed}"` } };
  },
};

export async function startHeadlessPeer(options: HeadlessPeerOptions): Promise<HeadlessPeer> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const seedPath = join(options.dataDir, 'seed');
  let mnemonic = (await readFileIfExists(seedPath))?.toString('utf8').trim();
  if (!mnemonic) {
    mnemonic = generateMnemonic(128);
    await writeFileAtomic(seedPath, mnemonic, 0o600);
  }
  const identity = deriveIdentity(mnemonic);
  const storage = new FileOutboxStorage(join(options.dataDir, 'outbox.jsonl'));
  const name = options.displayName ?? PEER_NAME;
  const client = new WorldClient({
    worldUrl: options.worldUrl,
    database: options.databaseName,
    tokens: new ControlTokenSource({ controlUrl: options.controlUrl, signer: signerFromPrivateKey(identity), deviceId: 'embedded-peer', fetch: nodeFetch }),
    WebSocket: NodeWebSocket,
    fetch: nodeFetch,
    outboxStorage: storage,
    join: { displayName: name, version: 'embedded-peer/0.1.0', region: 'local' },
    features: ['presence', 'channels', 'messages', 'capabilities', 'compute'],
    backoff: { maxMs: 3000 },
    logger: options.logger,
  });
  const node = new AutopilotNode({
    client,
    name,
    config: { computeClasses: [PEER_COMPUTE_CLASS], maxConcurrency: 4, region: 'local', priceHints: { msats_per_job: 0 }, jobs: [textProcessJob, ...BUILTIN_JOBS] },
    logger: options.logger,
  });
  await node.start();
  return {
    npub: identity.npub,
    node,
    close: async () => {
      await node.stop();
      await storage.close();
    },
  };
}
