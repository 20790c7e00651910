// startHost: the embedded database as a library — bundle and load the module, create or reopen
// the database, serve the SDK protocol on loopback.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { SignJWT } from 'jose';
import { identityFromIssuerSubject, identityHex, loadOrCreateSigningKey, type SigningKey } from './auth/index';
import { ModuleHost } from './module/host';
import { bundleModule, type ModuleBundle } from './module/bundle';
import { Durability, stateHash, type RecoveryReport } from './durability/index';
import { HostServer, type HostServerOptions } from './server/server';
import { viewRowsFromSql } from './server/raw_sql_view';

export interface StartHostOptions {
  /** Module entry file or folder (uses src/index.ts). */
  module: string;
  /** Database name clients connect to. */
  name: string;
  port?: number;
  host?: string;
  dataDir?: string;
  trustedIssuers?: string[];
  /**
   * Identity that publishes the module (runs `init`, reads private tables, calls private reducers).
   * Default: the host's own owner identity, whose token is returned as `ownerToken` (like the token
   * `spacetime login` gives the publisher of a database).
   */
  ownerIdentity?: bigint;
  logger?: Logger;
  protocols?: ('v2' | 'v3')[];
  /** Snapshot every N transactions (default 10 000). */
  snapshotEvery?: number;
  /** fdatasync each group commit (default true). */
  fsync?: boolean;
  /** Keep log segments that snapshots cover (default false). */
  keepLog?: boolean;
  /** Group-commit window in ms (default 0: one write + sync per event-loop turn). */
  groupCommitMs?: number;
  /** Time budget of one reducer/view/procedure call in ms (default 5000; 0 = unlimited). */
  callBudgetMs?: number;
  /** Row changes one transaction may make (default 1 000 000). */
  maxRowChangesPerTx?: number;
  /** Connection and backlog limits of the server (see README). */
  limits?: HostServerOptions['limits'];
  /** Compress large frames as negotiated (default off; see HostServerOptions.compress). */
  compress?: boolean;
  /** Clock for token validity checks, ms since the epoch (tests); default Date.now. */
  tokenClock?: () => number;
}

export interface RunningHost {
  url: string;
  port: number;
  name: string;
  module: ModuleHost;
  /** A token for the owner identity (absent when `ownerIdentity` was given). */
  ownerToken: string | undefined;
  /** What recovery found (undefined without a data dir). */
  recovery: RecoveryReport | undefined;
  /** Deterministic hash of the committed state (tables by name, rows in primary-key order). */
  stateHash(): string;
  close(): Promise<void>;
}

/** The module program a database runs is kept in its data dir, so the data can be read without the source. */
export const BUNDLE_FILE = 'module.bundle.js';

export async function loadBundle(opts: { module?: string; dataDir?: string }): Promise<ModuleBundle> {
  if (opts.module) return bundleModule(opts.module);
  const path = opts.dataDir && join(opts.dataDir, BUNDLE_FILE);
  if (!path || !existsSync(path)) throw new Error('no module given and none stored in the data dir');
  const code = readFileSync(path, 'utf8');
  const { createHash } = await import('node:crypto');
  return { entry: path, code, hash: createHash('sha256').update(code).digest('hex') };
}

/** Open a data dir offline (no server): recover it and return its state hash. */
export async function hashDataDir(opts: { module?: string; dataDir: string; name?: string }): Promise<{ hash: string; report: RecoveryReport }> {
  const bundle = await loadBundle(opts);
  const logger = pino({ level: 'silent' });
  const module = await ModuleHost.create({ module: bundle, name: opts.name ?? 'offline', databaseIdentity: 0n, logger });
  const { durability, report } = Durability.open(opts.dataDir, module, { logger });
  const hash = durability.stateHash();
  durability.close({ snapshot: false });
  module.close();
  return { hash, report };
}

/** The publisher's token: a host-signed JWT with a stable subject, so it survives restarts. */
async function mintOwnerToken(signingKey: SigningKey, name: string): Promise<{ identity: bigint; token: string }> {
  const iss = 'localhost';
  const sub = `owner:${name}`;
  const identity = identityFromIssuerSubject(iss, sub);
  const token = await new SignJWT({ hex_identity: identityHex(identity) })
    .setProtectedHeader({ typ: 'JWT', alg: 'ES256' })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(['spacetimedb'])
    .setIssuedAt()
    .sign(signingKey.privateKey);
  return { identity, token };
}

export async function startHost(opts: StartHostOptions): Promise<RunningHost> {
  const logger = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const signingKey = await loadOrCreateSigningKey(opts.dataDir);
  const databaseIdentity = identityFromIssuerSubject('spacetime-host', opts.name);
  const owner = opts.ownerIdentity === undefined ? await mintOwnerToken(signingKey, opts.name) : undefined;
  const bundle = await bundleModule(opts.module);
  const module = await ModuleHost.create({
    module: bundle,
    name: opts.name,
    databaseIdentity,
    ownerIdentity: opts.ownerIdentity ?? owner!.identity,
    logger,
    rawSqlView: viewRowsFromSql,
    callBudgetMs: opts.callBudgetMs,
    maxRowChangesPerTx: opts.maxRowChangesPerTx,
  });
  let durability: Durability | undefined;
  let recovery: RecoveryReport | undefined;
  if (opts.dataDir) {
    ({ durability, report: recovery } = Durability.open(opts.dataDir, module, { logger, snapshotEvery: opts.snapshotEvery, fsync: opts.fsync, keepLog: opts.keepLog, groupCommitMs: opts.groupCommitMs }));
    writeFileSync(join(opts.dataDir, BUNDLE_FILE), bundle.code);
  }
  if (!recovery || recovery.fresh) {
    const init = module.initialize();
    if (init && init.kind !== 'committed') {
      throw new Error(`init reducer failed: ${init.kind === 'user_error' ? init.message : init.detail}`);
    }
  } else {
    module.resume();
    for (const c of recovery.staleClients) module.clearStaleClient(c.identity, c.connectionId, c.jwtPayload);
    logger.info({ replayed: recovery.replayedRecords, snapshot: recovery.snapshotSeq?.toString(), stale: recovery.staleClients.length }, 'database recovered');
  }
  const server = new HostServer({
    module,
    name: opts.name,
    signingKey,
    trustedIssuers: opts.trustedIssuers ?? [],
    logger,
    protocols: opts.protocols,
    limits: opts.limits,
    compress: opts.compress,
    tokenClock: opts.tokenClock,
    host: opts.host,
    port: opts.port ?? 3000,
    durability: durability && {
      lastSeq: () => durability.log.nextSeq - 1n,
      durableSeq: () => durability.log.durableSeq,
      onDurable: (l) => durability.log.onDurable(l),
    },
  });
  const url = await server.listen();
  return {
    url,
    port: Number(new URL(url).port),
    name: opts.name,
    module,
    ownerToken: owner?.token,
    recovery,
    stateHash: () => stateHash(module.datastore),
    async close() {
      await server.close();
      module.close();
      durability?.close();
    },
  };
}
