// HTTP + WebSocket front of the host: the routes the `spacetimedb` SDK and CLI use (spec §3–4).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AuthReason,
  TokenAuthority,
  connectionIdHex,
  identityHex,
  parseConnectionIdHex,
  randomConnectionId,
  publicKeyPem,
  type SigningKey,
} from '../auth/index';
import { INTERNAL_ERROR_TEXT, type CallOutcome, type CommitEvent, type ModuleHost } from '../module/host';
import { Writer, encodeValue } from '../sats/codec';
import { JsonValueError, jsonToValue, valueToJson } from '../sats/json';
import { compileSubscription, evaluate, runAdhocQuery } from '../sql/index';
import { Admission, type Ticket } from './admission';
import { HttpError, decodePathSegment } from './http_errors';
import { SubscriptionManager } from './subscriptions';
import {
  decodeClientFrame,
  encodeString,
  encodeUncompressedFrame,
  rowList,
  type ClientMessage,
  type QuerySetUpdateV,
  type ServerMessage,
} from './wire';

export const PROTOCOL_V2 = 'v2.bsatn.spacetimedb';
export const PROTOCOL_V3 = 'v3.bsatn.spacetimedb';
/** Upstream's incoming message limit (32 MiB). Larger frames close the socket with 1009. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
const COMPRESSION_THRESHOLD = 1024;
/** A v3 frame carrying several messages is closed at this size (one larger message travels alone). */
const MAX_V3_BATCH_BYTES = 1024 * 1024;

/** Documented limits (README of the host). Exceeding one gives a clear error, never a silent drop. */
export const DEFAULT_LIMITS = {
  /** Open WebSocket connections per host; more are refused with HTTP 503. */
  maxConnections: 1000,
  /**
   * Connections from one remote address, below the overall limit so one address cannot take every
   * slot; more are refused with HTTP 429. (On loopback or behind a proxy every client shares one.)
   */
  maxConnectionsPerAddress: 500,
  /**
   * Anonymous connections in total (no token, or a token this host minted rather than one from a
   * trusted issuer or the owner's); more are refused with HTTP 503. Below the per-address limit, so
   * an anonymous flood from one address leaves room for authenticated users, even on loopback.
   */
  maxAnonymousConnections: 250,
  /** An anonymous connection that sends no message (subscribe, query, call) this long is closed (1008). */
  anonymousDeadlineMs: 30_000,
  /** Bytes queued on a socket that is not being read; beyond it the subscriber is disconnected (1008). */
  maxSocketBacklogBytes: 64 * 1024 * 1024,
};
const PING_INTERVAL_MS = 15_000;
const IDLE_TIMEOUT_MS = 30_000;

type Compression = 'None' | 'Gzip' | 'Brotli';

export interface HostServerOptions {
  module: ModuleHost;
  name: string;
  signingKey: SigningKey;
  trustedIssuers: string[];
  logger: Logger;
  /** Force a protocol (tests); default: prefer v3, then v2, as offered. */
  protocols?: ('v2' | 'v3')[];
  host?: string;
  port?: number;
  limits?: Partial<typeof DEFAULT_LIMITS>;
  /**
   * Compress large server frames with the algorithm the client asked for (upstream's behaviour).
   * Off by default: the embedded host serves loopback, where compression only costs CPU, and the
   * 2.10 SDK decompresses frames concurrently, so a compressed frame can be applied after a later
   * uncompressed one (stale rows). Tag 0 (uncompressed) is always valid for every client.
   */
  compress?: boolean;
  /** When the database is durable: messages wait until the log holds what they reflect. */
  durability?: DurabilityGate;
  /** Clock for token checks, ms since the epoch (tests); default Date.now. */
  tokenClock?: () => number;
}

/** What the server needs from the commit log to send only what is durable (confirmed reads). */
export interface DurabilityGate {
  /** Sequence number of the last record appended (durable or not). */
  lastSeq(): bigint;
  durableSeq(): bigint;
  onDurable(listener: (seq: bigint) => void): () => void;
}

interface Connection {
  ws: WebSocket;
  identity: bigint;
  connectionId: bigint;
  protocol: 'v2' | 'v3';
  compression: Compression;
  lastSeen: number;
  /** Set while this connection's reducer runs, so its updates travel inside the ReducerResult. */
  pendingCallerUpdates: QuerySetUpdateV[] | undefined;
  /** Closed after a message it sent could not be handled: its later messages are ignored. */
  failed: boolean;
  /** Its slot in the connection limits, released when it is dropped. */
  ticket: Ticket;
  /** Anonymous and silent so far: closed when this fires (cleared by its first message). */
  deadline: NodeJS.Timeout | undefined;
}

export class HostServer {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly auth: TokenAuthority;
  private readonly admission: Admission;
  private readonly limits: typeof DEFAULT_LIMITS;
  private readonly subs: SubscriptionManager;
  private readonly conns = new Map<bigint, Connection>();
  private readonly sockets = new Set<Socket>();
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private stopCommits: () => void;
  private readonly chosenProtocol = new WeakMap<IncomingMessage, string>();
  /** Frames waiting for the log record they depend on to become durable, in send order. */
  private readonly outq: { seq: bigint; conn: Connection; frame: Uint8Array }[] = [];
  private outqHead = 0;
  /** Frames ready to go, per connection in send order; written out together (one v3 frame each). */
  private readonly ready = new Map<Connection, Uint8Array[]>();
  private flushScheduled = false;
  /** Client messages received this event-loop turn, handled together (reducer calls in batches). */
  private inbox: { conn: Connection; msg: ClientMessage }[] = [];
  private draining = false;
  /** While the module runs a batch: the sends and closes it caused, released only if it is kept. */
  private staged: (() => void)[] | undefined;
  /** Connections marked failed by the running batch: an undone batch unmarks them. */
  private failedInBatch: Connection[] = [];

  constructor(private readonly opts: HostServerOptions) {
    this.log = opts.logger;
    this.auth = new TokenAuthority({ signingKey: opts.signingKey, trustedIssuers: opts.trustedIssuers, now: opts.tokenClock });
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.admission = new Admission(this.limits);
    this.subs = new SubscriptionManager(opts.module);
    this.http = createServer((req, res) => {
      this.route(req, res).catch((e) => this.requestFailed(req, res, e));
    });
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => this.chosenProtocol.get(req) ?? false,
    });
    this.http.on('upgrade', (req, socket, head) => {
      this.upgrade(req, socket as Socket, head).catch((e) => {
        if (e instanceof HttpError) {
          this.log.info({ status: e.status, path: req.url, error: e.message }, 'upgrade refused');
          return this.rejectUpgrade(socket as Socket, e.status, e.message);
        }
        this.log.error({ err: e }, 'upgrade failed');
        this.rejectUpgrade(socket as Socket, 500, 'internal error');
      });
    });
    const stopBatches = opts.module.onBatch({
      begin: () => {
        this.staged = [];
      },
      end: (kept) => {
        const staged = this.staged ?? [];
        const failed = this.failedInBatch;
        this.staged = undefined;
        this.failedInBatch = [];
        if (kept) for (const action of staged) action();
        else {
          // The undone batch's calls run again; so do the failures it found.
          for (const c of failed) c.failed = false;
          // It may have been cut short while a reducer's updates were being gathered.
          for (const c of this.conns.values()) c.pendingCallerUpdates = undefined;
        }
      },
    });
    const stopCommitEvents = opts.module.onCommit((c) => this.broadcast(c));
    this.stopCommits = () => {
      stopCommitEvents();
      stopBatches();
    };
    const stopDurable = opts.durability?.onDurable(() => this.pump());
    if (stopDurable) {
      const stopCommits = this.stopCommits;
      this.stopCommits = () => {
        stopCommits();
        stopDurable();
      };
    }
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 3000, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.pingTimer = setInterval(() => this.keepalive(), PING_INTERVAL_MS);
    this.pingTimer.unref();
    const addr = this.http.address() as AddressInfo;
    return `http://${this.opts.host ?? '127.0.0.1'}:${addr.port}`;
  }

  async close(): Promise<void> {
    this.stopCommits();
    clearInterval(this.pingTimer);
    for (const c of this.conns.values()) c.ws.close(1001, 'host shutting down');
    for (const c of [...this.conns.values()]) this.dropConnection(c);
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  // ---- HTTP ----

  /** A request handler threw: a client's mistake (HttpError) is answered and logged as such; anything else is ours. */
  private requestFailed(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (e instanceof HttpError) {
      this.log.info({ status: e.status, method: req.method, path: req.url, error: e.message }, 'request refused');
      if (res.headersSent) return void res.end();
      // Do not read the rest of a refused body (it may be endless): reply, then close the connection.
      if (e.status === 413) res.setHeader('Connection', 'close');
      return this.text(res, e.status, e.message);
    }
    this.log.error({ err: e }, 'request failed');
    if (!res.headersSent) this.json(res, 500, { error: 'internal error' });
    else res.end();
  }

  private cors(res: ServerResponse): void {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Accept, Content-Type');
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(body);
  }

  private async body(req: IncomingMessage, limit = MAX_MESSAGE_BYTES): Promise<Buffer> {
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

  private credentials(req: IncomingMessage, url: URL): string | undefined {
    const h = req.headers.authorization;
    if (h?.startsWith('Bearer ')) return h.slice(7).trim();
    return url.searchParams.get('token') ?? undefined;
  }

  private matchesDatabase(nameOrIdentity: string): boolean {
    return nameOrIdentity === this.opts.name || nameOrIdentity.toLowerCase() === identityHex(this.opts.module.databaseIdentity);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.cors(res);
    const url = parseRequestUrl(req);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return void res.writeHead(204).end();
    if (path === '/v1/ping') return this.text(res, 200, '');
    if (path === '/v1/identity' && method === 'POST') {
      const minted = await this.auth.mintAnonymous();
      return this.json(res, 200, { identity: minted.identityHex, token: minted.token });
    }
    if (path === '/v1/identity/websocket-token' && method === 'POST') {
      const token = this.credentials(req, url);
      if (!token) return this.text(res, 401, AuthReason.required);
      const renewed = await this.auth.renewForWebsocket(token);
      if (!renewed.ok) return this.text(res, renewed.status, renewed.reason);
      return this.json(res, 200, { token: renewed.token });
    }
    if (path === '/v1/identity/public-key' && method === 'GET') {
      res.setHeader('Content-Type', 'application/pem-certificate-chain');
      return void res.end(publicKeyPem(this.opts.signingKey));
    }
    const verify = /^\/v1\/identity\/([0-9a-fA-F]{64})\/verify$/.exec(path);
    if (verify && method === 'GET') {
      const token = this.credentials(req, url);
      if (!token) return this.text(res, 401, AuthReason.required);
      const v = await this.auth.validate(token);
      if (!v.ok) return this.text(res, v.status, v.reason);
      return void res.writeHead(v.identityHex === verify[1]!.toLowerCase() ? 204 : 400).end();
    }
    const db = /^\/v1\/database\/([^/]+)(\/.*)?$/.exec(path);
    if (db) {
      if (!this.matchesDatabase(decodePathSegment(db[1]!))) return this.text(res, 404, `no such database: ${db[1]}`);
      return this.databaseRoute(req, res, url, db[2] ?? '', method);
    }
    this.text(res, 404, 'not found');
  }

  private async caller(req: IncomingMessage, url: URL, res: ServerResponse): Promise<{ identity: bigint } | undefined> {
    const token = this.credentials(req, url);
    if (!token) {
      const minted = await this.auth.mintAnonymous();
      return { identity: minted.identity };
    }
    const v = await this.auth.validate(token);
    if (!v.ok) {
      this.text(res, v.status, v.reason);
      return undefined;
    }
    return { identity: v.identity };
  }

  private async databaseRoute(req: IncomingMessage, res: ServerResponse, url: URL, rest: string, method: string): Promise<void> {
    const host = this.opts.module;
    if (rest === '' && method === 'GET') {
      return this.json(res, 200, { database_identity: identityHex(host.databaseIdentity), name: this.opts.name, owner_identity: identityHex(host.ownerIdentity) });
    }
    if (rest === '/hash' && method === 'GET') {
      const who = await this.caller(req, url, res);
      if (!who) return;
      if (who.identity !== host.ownerIdentity) return this.text(res, 403, 'only the database owner may read the state hash');
      const { stateHash } = await import('../durability/state');
      return this.json(res, 200, { hash: stateHash(host.datastore), tx: host.txCounter - 1 });
    }
    if (rest === '/schema' && method === 'GET') {
      const { describeModule } = await import('../codegen/describe');
      return this.json(res, 200, describeModule(host.catalog));
    }
    const call = /^\/call\/([^/]+)$/.exec(rest);
    if (call && method === 'POST') {
      const who = await this.caller(req, url, res);
      if (!who) return;
      const name = decodePathSegment(call[1]!);
      const def = host.catalog.reducerByName.get(name);
      if (!def) return this.text(res, 404, `no such reducer: ${name}`);
      let args: Uint8Array;
      try {
        const raw = await this.body(req);
        const json = raw.length ? JSON.parse(raw.toString('utf8')) : [];
        const w = new Writer();
        encodeValue(def.paramsTy, jsonToValue(def.paramsTy, json), w);
        args = w.finish();
      } catch (e) {
        if (e instanceof HttpError) throw e;
        return this.text(res, 400, e instanceof JsonValueError || e instanceof SyntaxError ? `invalid arguments: ${(e as Error).message}` : (e as Error).message);
      }
      const outcome = host.callReducer(name, args, { identity: who.identity, connectionId: 0n });
      await this.whenDurable();
      if (outcome.kind === 'committed') return void res.writeHead(200).end();
      if (outcome.kind === 'user_error') return this.text(res, 530, outcome.message);
      return this.text(res, outcome.kind === 'refused' ? 400 : 500, outcome.message);
    }
    if (rest === '/sql' && method === 'POST') {
      const who = await this.caller(req, url, res);
      if (!who) return;
      const sql = (await this.body(req, 1 << 20)).toString('utf8');
      const ctx = { catalog: host.catalog, sender: who.identity, isOwner: who.identity === host.ownerIdentity };
      let out: ReturnType<typeof runAdhocQuery>;
      try {
        out = runAdhocQuery(sql, ctx, this.subs.sourceFor(who.identity));
      } catch (e) {
        return this.text(res, 400, `query failed: ${(e as Error).message}`);
      }
      if (!out.ok) return this.text(res, 400, out.error);
      return this.json(res, 200, [
        {
          schema: { elements: out.columns.map((c) => ({ name: c.name })) },
          rows: out.rows.map((r) => r.map((v, i) => valueToJson(out.columns[i]!.ty, v))),
        },
      ]);
    }
    this.text(res, 404, 'not found');
  }

  // ---- WebSocket ----

  private rejectUpgrade(socket: Socket, status: number, message: string): void {
    const reason =
      {
        400: 'Bad Request',
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'Not Found',
        429: 'Too Many Requests',
        500: 'Internal Server Error',
        503: 'Service Unavailable',
      }[status] ??
      'Error';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = parseRequestUrl(req);
    const m = /^\/v1\/database\/([^/]+)\/subscribe$/.exec(url.pathname);
    if (!m) return this.rejectUpgrade(socket, 404, 'not found');
    if (!this.matchesDatabase(decodePathSegment(m[1]!))) return this.rejectUpgrade(socket, 404, `no such database: ${m[1]}`);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const allowed = this.opts.protocols ?? ['v3', 'v2'];
    const pick = allowed.map((p) => (p === 'v3' ? PROTOCOL_V3 : PROTOCOL_V2)).find((p) => offered.includes(p));
    if (!pick) return this.rejectUpgrade(socket, 400, 'no valid protocol selected');
    const compressionParam = url.searchParams.get('compression') ?? 'Brotli';
    if (!['None', 'Gzip', 'Brotli'].includes(compressionParam)) return this.rejectUpgrade(socket, 400, `unknown compression ${compressionParam}`);

    let connectionId: bigint;
    const cidParam = url.searchParams.get('connection_id');
    if (cidParam) {
      const parsed = parseConnectionIdHex(cidParam);
      if (!parsed.ok) return this.rejectUpgrade(socket, 400, parsed.message);
      connectionId = parsed.connectionId;
      if (this.conns.has(connectionId)) return this.rejectUpgrade(socket, 400, 'connection id already in use');
    } else connectionId = randomConnectionId();

    // The slot is taken before the token check, which waits: concurrent upgrades see each other.
    const admitted = this.admission.admit(socket.remoteAddress ?? 'unknown');
    if (!admitted.ok) {
      this.log.info({ address: socket.remoteAddress, reason: admitted.message }, 'websocket refused: limit');
      return this.rejectUpgrade(socket, admitted.status, admitted.message);
    }
    const ticket = admitted.ticket;
    let opened = false;
    try {
      opened = await this.openConnection(req, socket, head, url, { connectionId, pick, compression: compressionParam as Compression, ticket });
    } finally {
      if (!opened) ticket.release();
    }
  }

  /** Authenticate, admit as anonymous or not, run client_connected and complete the upgrade; true once open. */
  private async openConnection(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    url: URL,
    c: { connectionId: bigint; pick: string; compression: Compression; ticket: Ticket },
  ): Promise<boolean> {
    const host = this.opts.module;
    const token = this.credentials(req, url);
    let identity: bigint;
    let payloadJson: string;
    let sessionToken: string;
    let anonymous: boolean;
    if (token) {
      const v = await this.auth.validate(token);
      if (!v.ok) {
        this.log.info({ reason: v.reason }, 'websocket refused: bad token');
        this.rejectUpgrade(socket, v.status, v.reason);
        return false;
      }
      identity = v.identity;
      payloadJson = v.payloadJson;
      sessionToken = token;
      // Anyone may mint a host token (POST /v1/identity): only the owner's and trusted issuers' count as logged in.
      anonymous = identity !== host.ownerIdentity && !this.auth.isTrustedIssuer(v.claims);
    } else {
      const minted = await this.auth.mintAnonymous();
      const v = await this.auth.validate(minted.token);
      if (!v.ok) throw new Error('freshly minted token failed validation');
      identity = minted.identity;
      payloadJson = v.payloadJson;
      sessionToken = minted.token;
      anonymous = true;
    }
    if (anonymous) {
      const room = c.ticket.markAnonymous();
      if (!room.ok) {
        this.log.info({ address: socket.remoteAddress, reason: room.message }, 'websocket refused: limit');
        this.rejectUpgrade(socket, room.status, room.message);
        return false;
      }
    }
    if (socket.destroyed) return false; // gone while its token was checked: no client_connected for it

    const { connectionId } = c;
    const connected = host.connectClient(identity, connectionId, payloadJson);
    if (connected && connected.kind !== 'committed') {
      const why = connected.kind === 'user_error' ? connected.message : INTERNAL_ERROR_TEXT;
      this.log.info({ identity: identityHex(identity), why }, 'connection refused by client_connected');
      this.rejectUpgrade(socket, 403, why);
      return false;
    }

    this.chosenProtocol.set(req, c.pick);
    let opened = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      const conn: Connection = {
        ws,
        identity,
        connectionId,
        protocol: c.pick === PROTOCOL_V3 ? 'v3' : 'v2',
        compression: c.compression,
        lastSeen: Date.now(),
        pendingCallerUpdates: undefined,
        failed: false,
        ticket: c.ticket,
        deadline: undefined,
      };
      if (anonymous) conn.deadline = this.startDeadline(conn);
      this.conns.set(connectionId, conn);
      this.subs.addSubscriber({ connectionId, identity, isOwner: identity === host.ownerIdentity });
      this.send(conn, { tag: 'InitialConnection', value: { identity, connectionId, token: sessionToken } });
      ws.on('message', (data, isBinary) => this.onMessage(conn, data as Buffer, isBinary));
      ws.on('pong', () => (conn.lastSeen = Date.now()));
      ws.on('close', () => this.dropConnection(conn));
      ws.on('error', (e) => this.log.debug({ err: e, connection: connectionIdHex(connectionId) }, 'socket error'));
    });
    // ws completes the handshake synchronously or refuses it (bad key header, socket already closed):
    // then the module saw a connect without a connection, and must see the disconnect too.
    if (!opened) host.disconnectClient(identity, connectionId);
    return opened;
  }

  /** An anonymous socket must say something within the deadline, or it gives its slot back. */
  private startDeadline(conn: Connection): NodeJS.Timeout {
    const ms = this.limits.anonymousDeadlineMs;
    const timer = setTimeout(() => {
      conn.deadline = undefined;
      this.log.info({ connection: connectionIdHex(conn.connectionId) }, 'closing an idle anonymous connection');
      conn.ws.close(1008, `anonymous connection sent nothing within ${ms} ms`);
      setTimeout(() => conn.ws.terminate(), 1000).unref();
      this.dropConnection(conn);
    }, ms);
    timer.unref();
    return timer;
  }

  private dropConnection(conn: Connection): void {
    if (!this.conns.has(conn.connectionId)) return;
    // Messages that arrived before the close are handled first, as if the close came after them.
    if (!this.draining && this.inbox.some((m) => m.conn === conn)) this.drainInbox();
    this.conns.delete(conn.connectionId);
    clearTimeout(conn.deadline);
    conn.ticket.release();
    this.subs.removeSubscriber(conn.connectionId);
    this.opts.module.disconnectClient(conn.identity, conn.connectionId);
  }

  private keepalive(): void {
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (now - c.lastSeen > IDLE_TIMEOUT_MS) {
        c.ws.terminate();
        this.dropConnection(c);
      } else c.ws.ping();
    }
  }

  /** Send once the state the message reflects is durable (at once when nothing waits for the log). */
  private send(conn: Connection, msg: ServerMessage): void {
    this.sendFrame(conn, encodeUncompressedFrame(msg));
  }

  /** `frame` is an uncompressed frame (tag 0 + message); it may be shared by several connections. */
  private sendFrame(conn: Connection, frame: Uint8Array): void {
    if (this.staged) {
      this.staged.push(() => this.sendFrame(conn, frame));
      return;
    }
    const gate = this.opts.durability;
    if (gate) {
      const seq = gate.lastSeq();
      if (seq > gate.durableSeq() || this.outqHead < this.outq.length) {
        this.outq.push({ seq, conn, frame });
        return;
      }
    }
    this.addReady(conn, frame);
    if (!this.flushScheduled) {
      // Everything sent during this event-loop turn leaves together: one write per connection.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private addReady(conn: Connection, frame: Uint8Array): void {
    const list = this.ready.get(conn);
    if (list) list.push(frame);
    else this.ready.set(conn, [frame]);
  }

  /** Resolves once everything logged so far is durable (HTTP replies wait for it too). */
  private whenDurable(): Promise<void> {
    const gate = this.opts.durability;
    if (!gate) return Promise.resolve();
    const target = gate.lastSeq();
    if (target <= gate.durableSeq()) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = gate.onDurable((seq) => {
        if (seq >= target) {
          stop();
          resolve();
        }
      });
    });
  }

  /** A group commit became durable: release what waited for it, one write per connection. */
  private pump(): void {
    const durable = this.opts.durability!.durableSeq();
    while (this.outqHead < this.outq.length && this.outq[this.outqHead]!.seq <= durable) {
      const { conn, frame } = this.outq[this.outqHead++]!;
      this.addReady(conn, frame);
    }
    if (this.outqHead === this.outq.length) {
      this.outq.length = 0;
      this.outqHead = 0;
    }
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [conn, frames] of this.ready) {
      this.ready.delete(conn);
      if (conn.protocol === 'v2') {
        for (const frame of frames) if (!this.write(conn, frame)) break;
        continue;
      }
      // v3: messages travel back to back in one frame (the SDK reads until the payload ends).
      let i = 0;
      while (i < frames.length) {
        let j = i + 1;
        let size = frames[i]!.length;
        while (j < frames.length && size + frames[j]!.length - 1 <= MAX_V3_BATCH_BYTES) size += frames[j++]!.length - 1;
        if (!this.write(conn, j === i + 1 ? frames[i]! : joinFrames(frames, i, j, size))) break;
        i = j;
      }
    }
  }

  /** Write one uncompressed frame (compressing it if asked to); false once the connection is gone. */
  private write(conn: Connection, frame: Uint8Array): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    let out = frame;
    if (this.opts.compress && frame.length - 1 > COMPRESSION_THRESHOLD && conn.compression !== 'None') {
      const payload = frame.subarray(1);
      const body = conn.compression === 'Gzip' ? gzipSync(payload) : brotliCompressSync(payload);
      out = new Uint8Array(body.length + 1);
      out[0] = conn.compression === 'Gzip' ? 2 : 1;
      out.set(body, 1);
    }
    const maxBacklog = this.limits.maxSocketBacklogBytes;
    if (conn.ws.bufferedAmount + out.length > maxBacklog) {
      // A subscriber that does not read its socket must not hold memory or slow the others.
      this.log.warn({ connection: connectionIdHex(conn.connectionId), backlog: conn.ws.bufferedAmount }, 'disconnecting a slow subscriber');
      conn.ws.close(1008, 'subscriber too slow: outgoing backlog limit exceeded');
      setTimeout(() => conn.ws.terminate(), 1000).unref();
      this.dropConnection(conn);
      return false;
    }
    conn.ws.send(out);
    return true;
  }

  private closeWithError(conn: Connection, message: string): void {
    conn.failed = true;
    if (this.staged) {
      this.staged.push(() => this.closeWithError(conn, message));
      this.failedInBatch.push(conn);
      return;
    }
    this.log.info({ connection: connectionIdHex(conn.connectionId), error: message }, 'closing connection after a bad message');
    // Close reasons are limited to 123 bytes.
    conn.ws.close(1011, Buffer.from(message).subarray(0, 120).toString());
  }

  private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    conn.lastSeen = Date.now();
    if (conn.deadline) {
      clearTimeout(conn.deadline);
      conn.deadline = undefined;
    }
    if (!isBinary) return this.closeWithError(conn, 'text frames are not supported; send BSATN binary frames');
    let messages: ClientMessage[];
    try {
      messages = decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), conn.protocol);
    } catch (e) {
      return this.closeWithError(conn, `invalid client message: ${(e as Error).message}`);
    }
    if (!this.inbox.length) setImmediate(() => this.drainInbox());
    for (const msg of messages) this.inbox.push({ conn, msg });
  }

  /**
   * Handle the messages of this turn in arrival order. Runs of reducer calls go to the module as
   * one batch under one call budget (see ModuleHost.runBatch); if the batch is undone, its calls
   * run again one by one, each with its own budget. Everything else is handled on its own.
   */
  private drainInbox(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inbox.length) {
        const inbox = this.inbox;
        this.inbox = [];
        let i = 0;
        while (i < inbox.length) {
          let j = i;
          while (j < inbox.length && inbox[j]!.msg.tag === 'CallReducer') j++;
          if (j - i < 2 || this.opts.module.callBudgetMs <= 0) this.handleOne(inbox[i++]!);
          else i = this.handleReducerBatch(inbox, i, j);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Handle inbox[from..to), all reducer calls, as one batch; returns the index to go on from. */
  private handleReducerBatch(inbox: { conn: Connection; msg: ClientMessage }[], from: number, to: number): number {
    const module = this.opts.module;
    // Stop adding calls once a quarter of the budget is used, so a slow but honest call rarely
    // runs out of time because of the calls before it (and if it does, it runs again alone).
    const softLimitMs = module.callBudgetMs / 4;
    let next = from;
    const outcome = module.runBatch(() => {
      const started = performance.now();
      while (next < to && (next === from || performance.now() - started < softLimitMs)) this.handleOne(inbox[next++]!);
    });
    if (outcome.ok) return next;
    // `next` was running (or had just finished) when the budget ran out.
    const end = Math.max(Math.min(next, to), from + 1);
    for (let k = from; k < end; k++) this.handleOne(inbox[k]!);
    return end;
  }

  private handleOne({ conn, msg }: { conn: Connection; msg: ClientMessage }): void {
    if (conn.failed || !this.conns.has(conn.connectionId)) return;
    try {
      this.handle(conn, msg);
    } catch (e) {
      this.log.error({ err: e }, 'message handling failed');
      this.closeWithError(conn, `internal error: ${(e as Error).message}`);
    }
  }

  private handle(conn: Connection, msg: ClientMessage): void {
    const host = this.opts.module;
    switch (msg.tag) {
      case 'Subscribe': {
        const { requestId, querySetId, queryStrings } = msg.value;
        const r = this.subs.subscribe(conn.connectionId, querySetId.id, queryStrings);
        if (r.ok) this.send(conn, { tag: 'SubscribeApplied', value: { requestId, querySetId, rows: r.rows } });
        else this.send(conn, { tag: 'SubscriptionError', value: { requestId, querySetId, error: r.error } });
        return;
      }
      case 'Unsubscribe': {
        const { requestId, querySetId, flags } = msg.value;
        const r = this.subs.unsubscribe(conn.connectionId, querySetId.id);
        if (!r.ok) return this.send(conn, { tag: 'SubscriptionError', value: { requestId, querySetId, error: r.error } });
        const rows = flags.tag === 'SendDroppedRows' ? r.rows : undefined;
        return this.send(conn, { tag: 'UnsubscribeApplied', value: { requestId, querySetId, rows } });
      }
      case 'OneOffQuery': {
        const { requestId, queryString } = msg.value;
        const compiled = compileSubscription(queryString, { catalog: host.catalog, sender: conn.identity, isOwner: conn.identity === host.ownerIdentity });
        if (!compiled.ok) return this.send(conn, { tag: 'OneOffQueryResult', value: { requestId, result: { tag: 'Err', value: compiled.error } } });
        const src = this.subs.sourceFor(conn.identity);
        let tables: { table: string; rows: ReturnType<typeof rowList> }[];
        try {
          tables = compiled.queries.map((q) => ({ table: q.returns.def.name, rows: rowList(evaluate(q, src)) }));
        } catch (e) {
          return this.send(conn, { tag: 'OneOffQueryResult', value: { requestId, result: { tag: 'Err', value: `query failed: ${(e as Error).message}` } } });
        }
        return this.send(conn, { tag: 'OneOffQueryResult', value: { requestId, result: { tag: 'Ok', value: { tables } } } });
      }
      case 'CallReducer': {
        const { requestId, reducer, args } = msg.value;
        conn.pendingCallerUpdates = [];
        let outcome: ReturnType<ModuleHost['callReducer']>;
        try {
          outcome = host.callReducer(reducer, args, { identity: conn.identity, connectionId: conn.connectionId });
        } finally {
          var updates = conn.pendingCallerUpdates; // eslint-disable-line no-var
          conn.pendingCallerUpdates = undefined;
        }
        return this.send(conn, { tag: 'ReducerResult', value: { requestId, timestamp: outcome.timestamp, result: reducerResult(outcome, updates ?? []) } });
      }
      case 'CallProcedure': {
        const { requestId, procedure, args } = msg.value;
        const out = host.callProcedure(procedure, args, { identity: conn.identity, connectionId: conn.connectionId });
        return this.send(conn, {
          tag: 'ProcedureResult',
          value: {
            requestId,
            timestamp: out.timestamp,
            totalHostExecutionDuration: out.durationMicros,
            status: out.kind === 'returned' ? { tag: 'Returned', value: out.value } : { tag: 'InternalError', value: out.message },
          },
        });
      }
    }
  }

  private broadcast(commit: CommitEvent): void {
    const updates = this.subs.updatesFor(commit);
    const callerConn = commit.reducer?.caller.connectionId;
    // Subscribers with identical updates share one array: encode it once, send the same bytes.
    const encoded = new Map<QuerySetUpdateV[], Uint8Array>();
    for (const [connectionId, sets] of updates) {
      const conn = this.conns.get(connectionId);
      if (!conn) continue;
      if (connectionId === callerConn && conn.pendingCallerUpdates) {
        conn.pendingCallerUpdates.push(...sets);
        continue;
      }
      let frame = encoded.get(sets);
      if (!frame) {
        frame = encodeUncompressedFrame({ tag: 'TransactionUpdate', value: { querySets: sets } });
        encoded.set(sets, frame);
      }
      this.sendFrame(conn, frame);
    }
  }
}

function reducerResult(
  outcome: CallOutcome | { kind: 'refused'; timestamp: bigint; message: string },
  updates: QuerySetUpdateV[],
): Extract<ServerMessage, { tag: 'ReducerResult' }>['value']['result'] {
  switch (outcome.kind) {
    case 'committed':
      return { tag: 'Ok', value: { retValue: new Uint8Array(0), transactionUpdate: { querySets: updates } } };
    case 'user_error':
      return { tag: 'Err', value: encodeString(outcome.message) };
    case 'internal_error':
      return { tag: 'InternalError', value: outcome.message };
    case 'refused':
      return { tag: 'InternalError', value: outcome.message };
  }
}

/** One v3 frame from frames[from..to) (each tag 0 + one message): tag 0, then the messages. */
function joinFrames(frames: Uint8Array[], from: number, to: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 1;
  for (let k = from; k < to; k++) {
    out.set(frames[k]!.subarray(1), at);
    at += frames[k]!.length - 1;
  }
  return out;
}

/** The request's URL; a target that is not a URL path is the client's mistake (400), not ours. */
function parseRequestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'malformed request target');
  }
}
