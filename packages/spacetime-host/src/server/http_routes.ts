// The HTTP API the `spacetimedb` SDK and CLI use (spec §3–4), as one table of routes: method, path
// pattern, handler. Handlers answer through small reply helpers; a client's mistake found anywhere
// (bad percent-escape, body too large) is thrown as HttpError and answered by `handleRequest`'s
// caller. No sockets or WebSockets here: upgrades are the server's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthReason, identityHex, publicKeyPem, randomConnectionId, type SigningKey, type TokenAuthority } from '../auth/index';
import { INTERNAL_ERROR_TEXT, type ModuleHost } from '../module/host';
import { Writer, encodeValue } from '../sats/codec';
import { JsonValueError, jsonToValue, valueToJson } from '../sats/json';
import { runAdhocQuery, type SqlDataSource } from '../sql/index';
import { HttpError, decodePathSegment } from './http_errors';

/** Upstream's incoming message limit (32 MiB), also the limit of an HTTP body. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The `/sql` body limit (README). */
export const MAX_SQL_BODY_BYTES = 1 << 20;

/** What the routes need from the rest of the host. */
export interface HttpContext {
  module: ModuleHost;
  name: string;
  signingKey: SigningKey;
  auth: TokenAuthority;
  /** Committed state as one caller's queries see it. */
  sourceFor(identity: bigint): SqlDataSource;
  /** Resolves once everything logged so far is durable. */
  whenDurable(): Promise<void>;
}

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path pattern's captures, percent-decoded. */
  params: string[];
}

interface Route {
  /** An HTTP method, or '*' for any. */
  method: string;
  path: RegExp;
  /** The first capture names a database: a route for another database answers 404 before the handler runs. */
  database?: true;
  handle(ctx: HttpContext, r: Request): Promise<void> | void;
}

const ROUTES: Route[] = [
  { method: '*', path: /^\/v1\/ping$/, handle: (_ctx, { res }) => text(res, 200, '') },
  {
    method: 'POST',
    path: /^\/v1\/identity$/,
    async handle(ctx, { res }) {
      const minted = await ctx.auth.mintAnonymous();
      json(res, 200, { identity: minted.identityHex, token: minted.token });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/identity\/websocket-token$/,
    async handle(ctx, { req, res, url }) {
      const token = credentials(req, url);
      if (!token) return text(res, 401, AuthReason.required);
      const renewed = await ctx.auth.renewForWebsocket(token);
      if (!renewed.ok) return text(res, renewed.status, renewed.reason);
      json(res, 200, { token: renewed.token });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/identity\/public-key$/,
    handle(ctx, { res }) {
      res.setHeader('Content-Type', 'application/pem-certificate-chain');
      res.end(publicKeyPem(ctx.signingKey));
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/identity\/([0-9a-fA-F]{64})\/verify$/,
    async handle(ctx, { req, res, url, params }) {
      const token = credentials(req, url);
      if (!token) return text(res, 401, AuthReason.required);
      const v = await ctx.auth.validate(token);
      if (!v.ok) return text(res, v.status, v.reason);
      res.writeHead(v.identityHex === params[0]!.toLowerCase() ? 204 : 400).end();
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/database\/([^/]+)$/,
    database: true,
    handle({ module, name }, { res }) {
      json(res, 200, { database_identity: identityHex(module.databaseIdentity), name, owner_identity: identityHex(module.ownerIdentity) });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/database\/([^/]+)\/hash$/,
    database: true,
    async handle(ctx, { req, res, url }) {
      const who = await caller(ctx, req, url, res);
      if (!who) return;
      if (who.identity !== ctx.module.ownerIdentity) return text(res, 403, 'only the database owner may read the state hash');
      const { stateHash } = await import('../durability/state');
      json(res, 200, { hash: stateHash(ctx.module.datastore), tx: ctx.module.txCounter - 1 });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/database\/([^/]+)\/schema$/,
    database: true,
    async handle(ctx, { res }) {
      const { describeModule } = await import('../codegen/describe');
      json(res, 200, describeModule(ctx.module.catalog));
    },
  },
  { method: 'POST', path: /^\/v1\/database\/([^/]+)\/call\/([^/]+)$/, database: true, handle: callReducer },
  { method: 'POST', path: /^\/v1\/database\/([^/]+)\/sql$/, database: true, handle: sql },
];

const DATABASE_PATH = /^\/v1\/database\/([^/]+)(\/.*)?$/;

/** Answer one request from the table; throws HttpError for a client's mistake. */
export async function handleRequest(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  cors(res);
  const url = parseRequestUrl(req);
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS') return void res.writeHead(204).end();
  const path = url.pathname;
  for (const route of ROUTES) {
    if (route.method !== method && route.method !== '*') continue;
    const m = route.path.exec(path);
    if (!m) continue;
    const params = m.slice(1).map((p) => decodePathSegment(p));
    if (route.database && !matchesDatabase(ctx, params[0]!)) return text(res, 404, `no such database: ${m[1]}`);
    return route.handle(ctx, { req, res, url, params });
  }
  const db = DATABASE_PATH.exec(path);
  if (db && !matchesDatabase(ctx, decodePathSegment(db[1]!))) return text(res, 404, `no such database: ${db[1]}`);
  text(res, 404, 'not found');
}

/** Whether `nameOrIdentity` (decoded) names this host's database. */
export function matchesDatabase(ctx: Pick<HttpContext, 'module' | 'name'>, nameOrIdentity: string): boolean {
  return nameOrIdentity === ctx.name || nameOrIdentity.toLowerCase() === identityHex(ctx.module.databaseIdentity);
}

/** The request's URL; a target that is not a URL path is the client's mistake (400), not ours. */
export function parseRequestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'malformed request target');
  }
}

/** The bearer token, from the Authorization header or the `token` query parameter. */
export function credentials(req: IncomingMessage, url: URL): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  return url.searchParams.get('token') ?? undefined;
}

export function text(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function internalError(res: ServerResponse): void {
  json(res, 500, { error: 'internal error' });
}

function cors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Accept, Content-Type');
}

async function body(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `request body exceeds ${limit} bytes`);
  // A declared length over the limit is refused before a byte of it is read.
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    // The client went away mid-body: its mistake (or its network's), not a host failure.
    throw new HttpError(400, `request body could not be read: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** The caller's identity: from its token, or a fresh anonymous one; undefined once a refusal was sent. */
async function caller(ctx: HttpContext, req: IncomingMessage, url: URL, res: ServerResponse): Promise<{ identity: bigint; payloadJson?: string } | undefined> {
  const token = credentials(req, url);
  if (!token) {
    const minted = await ctx.auth.mintAnonymous();
    return { identity: minted.identity };
  }
  const v = await ctx.auth.validate(token);
  if (!v.ok) {
    text(res, v.status, v.reason);
    return undefined;
  }
  return { identity: v.identity, payloadJson: v.payloadJson };
}

async function callReducer(ctx: HttpContext, { req, res, url, params }: Request): Promise<void> {
  const host = ctx.module;
  const who = await caller(ctx, req, url, res);
  if (!who) return;
  const name = params[1]!;
  const def = host.catalog.reducerByName.get(name);
  if (!def) return text(res, 404, `no such reducer: ${name}`);
  let args: Uint8Array;
  const raw = await body(req);
  try {
    const w = new Writer();
    encodeValue(def.paramsTy, jsonToValue(def.paramsTy, raw.length ? JSON.parse(raw.toString('utf8')) : []), w);
    args = w.finish();
  } catch (e) {
    return text(res, 400, e instanceof JsonValueError || e instanceof SyntaxError ? `invalid arguments: ${(e as Error).message}` : (e as Error).message);
  }
  // As SpacetimeDB does for HTTP calls: a short-lived connection carrying the caller's token, so the
  // module reads it as ctx.senderAuth.jwt (client_connected/disconnected run around the call).
  let connectionId = 0n;
  if (who.payloadJson !== undefined) {
    connectionId = randomConnectionId();
    const connected = host.connectClient(who.identity, connectionId, who.payloadJson);
    if (connected && connected.kind !== 'committed') {
      host.disconnectClient(who.identity, connectionId);
      return text(res, connected.kind === 'user_error' ? 530 : 500, connected.kind === 'user_error' ? connected.message : INTERNAL_ERROR_TEXT);
    }
  }
  let outcome: ReturnType<typeof host.callReducer>;
  try {
    outcome = host.callReducer(name, args, { identity: who.identity, connectionId });
  } finally {
    if (connectionId !== 0n) host.disconnectClient(who.identity, connectionId);
  }
  await ctx.whenDurable();
  if (outcome.kind === 'committed') return void res.writeHead(200).end();
  if (outcome.kind === 'user_error') return text(res, 530, outcome.message);
  text(res, outcome.kind === 'refused' ? 400 : 500, outcome.message);
}

async function sql(ctx: HttpContext, { req, res, url }: Request): Promise<void> {
  const host = ctx.module;
  const who = await caller(ctx, req, url, res);
  if (!who) return;
  const query = (await body(req, MAX_SQL_BODY_BYTES)).toString('utf8');
  const sqlCtx = { catalog: host.catalog, sender: who.identity, isOwner: who.identity === host.ownerIdentity };
  let out: ReturnType<typeof runAdhocQuery>;
  try {
    out = runAdhocQuery(query, sqlCtx, ctx.sourceFor(who.identity));
  } catch (e) {
    return text(res, 400, `query failed: ${(e as Error).message}`);
  }
  if (!out.ok) return text(res, 400, out.error);
  json(res, 200, [
    {
      schema: { elements: out.columns.map((c) => ({ name: c.name })) },
      rows: out.rows.map((r) => r.map((v, i) => valueToJson(out.columns[i]!.ty, v))),
    },
  ]);
}
