// startHost: the embedded database as a library — bundle and load the module, create or reopen
// the database, serve the SDK protocol on loopback.
import { mkdirSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { SignJWT } from 'jose';
import { identityFromIssuerSubject, identityHex, loadOrCreateSigningKey, type SigningKey } from './auth/index';
import { ModuleHost } from './module/host';
import { HostServer } from './server/server';
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
}

export interface RunningHost {
  url: string;
  port: number;
  name: string;
  module: ModuleHost;
  /** A token for the owner identity (absent when `ownerIdentity` was given). */
  ownerToken: string | undefined;
  close(): Promise<void>;
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
  const module = await ModuleHost.create({
    module: opts.module,
    name: opts.name,
    databaseIdentity,
    ownerIdentity: opts.ownerIdentity ?? owner!.identity,
    logger,
    rawSqlView: viewRowsFromSql,
  });
  const init = module.initialize();
  if (init && init.kind !== 'committed') {
    throw new Error(`init reducer failed: ${init.kind === 'user_error' ? init.message : init.detail}`);
  }
  const server = new HostServer({
    module,
    name: opts.name,
    signingKey,
    trustedIssuers: opts.trustedIssuers ?? [],
    logger,
    protocols: opts.protocols,
    host: opts.host,
    port: opts.port ?? 3000,
  });
  const url = await server.listen();
  return {
    url,
    port: Number(new URL(url).port),
    name: opts.name,
    module,
    ownerToken: owner?.token,
    async close() {
      await server.close();
      module.close();
    },
  };
}
