// startControl: the control service as a library — config, keys, sessions, revocation delivery and
// the HTTP server, with the issuer fixed once the socket listens.
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createControlApp } from './app';
import { ConfigError, MAX_CLAIM_BYTES, normalizeBaseUrl, resolveControlConfig, utf8Length, type ControlConfig, type WorldTarget } from './config';
import { KeyRing } from './keys';
import { TokenBucketLimiter } from './rateLimit';
import { RevocationDelivery, realTimers, type DeliveryStats, type Timers } from './revocations';
import { SessionStore } from './sessions';
import { mintServiceToken } from './tokens';

export interface StartControlOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  config?: ControlConfig;
  /** Keys and sessions are persisted here when given; otherwise they live in memory. */
  dataDir?: string;
  /** Milliseconds since the epoch; injectable so tests can move time without sleeping. */
  now?: () => number;
  /** Timers of revocation retries; injectable together with `now`. */
  timers?: Timers;
  /** Defaults to JSON lines on stderr at LOG_LEVEL (or info), so stdout stays free for the bin. */
  logger?: Logger;
}

export interface ControlHandle {
  /** Where the service listens, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** `iss` of minted tokens; discovery lives at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  close(): Promise<void>;
  /** Signs with a new key from now on; the previous key stays in the JWKS for the overlap period. */
  rotateKey(): Promise<void>;
  /** Adds a world to tell about revocations from now on (e.g. one started after control). */
  addWorld(target: WorldTarget): void;
  /** Delivery of revocations to worlds: counters, and a promise for "no attempt in flight". */
  revocations: { stats(): DeliveryStats; idle(): Promise<void> };
}

export async function startControl(options: StartControlOptions = {}): Promise<ControlHandle> {
  const config = resolveControlConfig(options.config);
  const nowMs = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(nowMs() / 1000);
  const logger = options.logger ?? defaultLogger();
  const host = options.host ?? '127.0.0.1';

  const keys = await KeyRing.open({ dataDir: options.dataDir, overlapSeconds: config.keyRotationOverlapSeconds, nowSeconds });
  const sessions = await SessionStore.open({ dataDir: options.dataDir, idleSeconds: config.sessionIdleSeconds, nowSeconds });
  const worlds: WorldTarget[] = [...config.worlds];

  // The issuer depends on the bound port, so the app is built once the socket listens.
  const routing: { app?: ReturnType<typeof createControlApp> } = {};
  const server = createAdaptorServer({
    fetch: (request, env) => (routing.app ? routing.app.fetch(request, env) : new Response('starting', { status: 503 })),
    hostname: host,
  }) as Server;
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${urlHost(host)}:${port}`;

  const publicUrl = config.publicUrl ?? config.issuer ?? url;
  const issuer = config.issuer ?? publicUrl;
  const issuerProblem = checkIssuer(issuer);
  if (issuerProblem) {
    await closeServer(server);
    throw new ConfigError(issuerProblem);
  }

  const revocations = await RevocationDelivery.open({
    dataDir: options.dataDir,
    serviceToken: async () => (await mintServiceToken(keys, { issuer, org: config.org, nowSeconds: nowSeconds() })).token,
    nowMs,
    timers: options.timers ?? realTimers,
    retry: config.revocationRetry,
    logger,
  });

  routing.app = createControlApp({
    config,
    issuer,
    publicUrl,
    keys,
    sessions,
    loginLimiterPerPubkey: new TokenBucketLimiter(config.rateLimits.loginPerPubkey, nowMs),
    loginLimiterPerAddress: new TokenBucketLimiter(config.rateLimits.loginPerAddress, nowMs),
    revocations,
    worlds: () => worlds,
    nowMs,
    logger,
  });
  logger.info(
    { url, issuer, persistent: options.dataDir !== undefined, openWorld: config.allowedPubkeys === undefined, worlds: worlds.length },
    'control service listening',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    issuer,
    rotateKey: async () => {
      await keys.rotate();
      logger.info({ kid: keys.signingKey().kid }, 'signing key rotated');
    },
    addWorld: (target) => {
      const normalized = normalizeBaseUrl(target.httpUrl);
      if (typeof normalized !== 'string') throw new ConfigError(`world httpUrl ${normalized.error}`);
      if (worlds.some((world) => world.httpUrl === normalized && world.database === target.database)) return;
      worlds.push({ httpUrl: normalized, database: target.database });
      logger.info({ world: `${normalized}/${target.database}` }, 'world added for revocations');
    },
    revocations: { stats: () => revocations.stats(), idle: () => revocations.idle() },
    close: () => {
      closing ??= (async () => {
        await closeServer(server);
        await revocations.close();
        await Promise.all([keys.settled(), sessions.settled()]);
      })();
      return closing;
    },
  };
}

function defaultLogger(): Logger {
  return pino(
    { name: 'autopilot-control', level: process.env.LOG_LEVEL ?? 'info', redact: ['token', '*.token', 'authorization', '*.authorization'] },
    pino.destination(2),
  );
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive sockets of past clients would otherwise hold close() open.
    server.closeAllConnections();
  });
}

/** A wildcard bind is reached locally through loopback; IPv6 literals need brackets in URLs. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function checkIssuer(issuer: string): string | undefined {
  const normalized = normalizeBaseUrl(issuer);
  if (typeof normalized !== 'string') return `issuer ${normalized.error}`;
  if (utf8Length(issuer) > MAX_CLAIM_BYTES) return `issuer "${issuer}" is longer than ${MAX_CLAIM_BYTES} bytes, which SpacetimeDB refuses`;
  return undefined;
}
