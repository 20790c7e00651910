// A whole world for SDK tests: the real control service (NIP-98 login, ES256 tokens, JWKS), the
// embedded host running this module and trusting that control, and real SDK clients built from
// the committed bindings.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { pino } from 'pino';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { Identity } from 'spacetimedb';
import { startControl, type ControlHandle } from '@autopilot/control';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { MODULE_DIR } from '../../scripts/bindings';
import { parseWorldError, type WorldErrorCode } from '../../src/errors';
import * as worldBindings from '../../../packages/world-client/src/module_bindings/index';

type WorldBindings = typeof worldBindings;
type Connection = InstanceType<WorldBindings['DbConnection']>;

export const ALL_SCOPES = ['world:join', 'comms:write', 'compute:request', 'compute:provide', 'files:write', 'bridge:publish'] as const;

export interface Tunables {
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  presenceSweepMs: number;
  checkpointEveryOps: number;
  maxMessageBytes: number;
  maxFileBytes: number;
}

export interface WorldNode {
  conn: Connection;
  /** The user's principal (their Nostr key as an Identity), what the world's rows hold; for a
   * connection without a user token (the admin's owner token) the connection identity. */
  identity: Identity;
  hex: string;
  /** The SDK's connection identity (derived from the token's iss + sub). */
  connectionIdentity: Identity;
  token: string;
  pubkey: string;
  close(): void;
}

export interface World {
  control: ControlHandle;
  host: RunningHost;
  bindings: WorldBindings;
  /** The publisher (world admin), connected with the host's owner token. */
  admin: WorldNode;
  /** Logs a fresh Nostr user in at the control service and returns the token. */
  login(scopes?: readonly string[], deviceId?: string): Promise<{ token: string; pubkey: string }>;
  connect(token: string, pubkey?: string): Promise<WorldNode>;
  /** login + connect + join_world (when the token may join). */
  node(opts?: { scopes?: readonly string[]; join?: boolean; name?: string }): Promise<WorldNode>;
  close(): Promise<void>;
}

const silent = { level: 'silent' } as const;
let worldCounter = 0;

export async function startWorld(opts: { configure?: Partial<Tunables> | false } = {}): Promise<World> {
  const bindings = worldBindings;
  const control = await startControl({
    port: 0,
    logger: pino(silent),
    // Tests log in many users from one address in a few seconds.
    // bridge: the tests exercise bridge:publish, which the default role (user) no longer carries.
    config: { defaultRole: 'bridge', rateLimits: { loginPerAddress: { burst: 10_000, perMinute: 10_000 }, loginPerPubkey: { burst: 100, perMinute: 100 } } },
  });
  const name = `world-${process.pid}-${++worldCounter}`;
  const host = await startHost({ module: MODULE_DIR, name, port: 0, trustedIssuers: [control.issuer], logger: pino(silent) });
  const nodes: WorldNode[] = [];

  const connect = async (token: string, pubkey = ''): Promise<WorldNode> => {
    const node = await new Promise<WorldNode>((resolve, reject) => {
      bindings.DbConnection.builder()
        .withUri(host.url.replace(/^http/, 'ws'))
        .withDatabaseName(name)
        .withToken(token)
        .onConnect((conn, identity, tok) => {
          const key = pubkey || pubkeyOfToken(token);
          const principal = key ? new Identity(key) : identity;
          resolve({ conn, identity: principal, hex: principal.toHexString(), connectionIdentity: identity, token: tok, pubkey: key, close: () => conn.disconnect() });
        })
        .onConnectError((_ctx, err) => reject(err))
        .build();
    });
    nodes.push(node);
    return node;
  };

  const login = async (scopes?: readonly string[], deviceId = 'test-device'): Promise<{ token: string; pubkey: string }> => {
    const secretKey = generateSecretKey();
    const pubkey = getPublicKey(secretKey);
    const url = `${control.url}/v1/auth/token`;
    const body = JSON.stringify(scopes ? { device_id: deviceId, scopes } : { device_id: deviceId });
    const event = finalizeEvent(
      {
        kind: 27235,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['u', url],
          ['method', 'POST'],
          ['payload', bytesToHex(sha256(new TextEncoder().encode(body)))],
        ],
        content: '',
      },
      secretKey,
    );
    const response = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Nostr ${Buffer.from(JSON.stringify(event)).toString('base64')}`, 'Content-Type': 'application/json' },
      body,
    });
    if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
    const json = (await response.json()) as { token: string };
    return { token: json.token, pubkey };
  };

  const admin = await connect(host.ownerToken!);
  if (opts.configure !== false) {
    await admin.conn.reducers.configureWorld({
      trustedIssuers: [control.issuer],
      heartbeatIntervalMs: 0,
      presenceTtlMs: 0,
      presenceSweepMs: 0,
      checkpointEveryOps: 0,
      maxMessageBytes: 0,
      maxFileBytes: 0,
      ...opts.configure,
    });
  }

  return {
    control,
    host,
    bindings,
    admin,
    login,
    connect,
    async node({ scopes = ALL_SCOPES, join = true, name: displayName = 'node' } = {}) {
      const { token, pubkey } = await login(scopes);
      const node = await connect(token, pubkey);
      if (join) await node.conn.reducers.joinWorld({ displayName, version: '1.0.0', region: 'test' });
      return node;
    },
    async close() {
      for (const node of nodes) node.close();
      await host.close();
      await control.close();
    },
  };
}

/** The nostr_pubkey claim of a JWT ('' when it has none). */
export function pubkeyOfToken(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return typeof payload['nostr_pubkey'] === 'string' ? payload['nostr_pubkey'] : '';
}

/** Subscribes and resolves once the initial rows are applied. */
export function subscribe(conn: Connection, queries: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((ctx) => reject(ctx.event ?? new Error('subscription error')))
      .subscribe(queries);
  });
}

/** Resolves when `predicate` holds (polling the SDK caches); fails naming `what` after `ms`. */
export async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Asserts that a reducer call is refused with `code` (read with parseWorldError, as clients do)
 * and that the text for people still contains `text`.
 */
export async function refused(call: Promise<unknown>, code: WorldErrorCode, text: string): Promise<void> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof Error)) throw new Error(`expected a refusal [${code}] ${text}, but the call succeeded`);
  const parsed = parseWorldError(error.message);
  if (parsed.code !== code || !parsed.message.includes(text)) {
    throw new Error(`expected a refusal [${code}] …${text}…, got: ${error.message}`);
  }
}
