// HTTP + WebSocket front of the host (spec §3–4), as wiring: HTTP requests go to the route table
// (http_routes.ts); WebSocket upgrades pass the handshake (handshake.ts) and the connection limits
// (admission.ts); client messages go through the inbox (inbox.ts) to the module; what the module
// commits goes to subscribers through the durability-gated outbound queue (outbound.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { TokenAuthority, connectionIdHex, identityHex, type SigningKey } from '../auth/index';
import { INTERNAL_ERROR_TEXT, type CallOutcome, type CommitEvent, type ModuleHost } from '../module/host';
import { compileSubscription, evaluate } from '../sql/index';
import { Admission, type Ticket } from './admission';
import { PROTOCOL_V3, authenticateUpgrade, parseHandshake, rejectUpgrade } from './handshake';
import { HttpError } from './http_errors';
import { MAX_BODY_BYTES, handleRequest, internalError, parseRequestUrl, text } from './http_routes';
import { Inbox } from './inbox';
import { Outbound, type Compression, type DurabilityGate } from './outbound';
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

export { PROTOCOL_V2, PROTOCOL_V3 } from './handshake';
export type { DurabilityGate } from './outbound';
/** Upstream's incoming message limit (32 MiB). Larger frames close the socket with 1009. */
export const MAX_MESSAGE_BYTES = MAX_BODY_BYTES;

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

type Received = { conn: Connection; msg: ClientMessage };

export class HostServer {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly auth: TokenAuthority;
  private readonly admission: Admission;
  private readonly limits: typeof DEFAULT_LIMITS;
  private readonly subs: SubscriptionManager;
  private readonly outbound: Outbound<Connection>;
  private readonly inbox: Inbox<Received>;
  private readonly conns = new Map<bigint, Connection>();
  private readonly sockets = new Set<Socket>();
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** Undo the subscriptions made in the constructor, in reverse order, on close. */
  private readonly disposers: (() => void)[] = [];
  private readonly chosenProtocol = new WeakMap<IncomingMessage, string>();
  /** Connections marked failed by the running batch: an undone batch unmarks them. */
  private failedInBatch: Connection[] = [];

  constructor(private readonly opts: HostServerOptions) {
    this.log = opts.logger;
    this.auth = new TokenAuthority({ signingKey: opts.signingKey, trustedIssuers: opts.trustedIssuers, now: opts.tokenClock });
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.admission = new Admission(this.limits);
    this.subs = new SubscriptionManager(opts.module);
    this.outbound = new Outbound<Connection>({
      durability: opts.durability,
      compress: opts.compress ?? false,
      maxBacklogBytes: this.limits.maxSocketBacklogBytes,
      onSlow: (conn) => this.disconnectSlow(conn),
    });
    this.inbox = new Inbox<Received>({
      module: opts.module,
      isCall: (r) => r.msg.tag === 'CallReducer',
      handle: (r) => this.handleOne(r),
    });
    const httpContext = {
      module: opts.module,
      name: opts.name,
      signingKey: opts.signingKey,
      auth: this.auth,
      sourceFor: (identity: bigint) => this.subs.sourceFor(identity),
      whenDurable: () => this.outbound.whenDurable(),
    };
    this.http = createServer((req, res) => {
      handleRequest(httpContext, req, res).catch((e) => this.requestFailed(req, res, e));
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
          return rejectUpgrade(socket as Socket, e.status, e.message);
        }
        this.log.error({ err: e }, 'upgrade failed');
        rejectUpgrade(socket as Socket, 500, 'internal error');
      });
    });
    this.disposers.push(
      opts.module.onBatch({ begin: () => this.outbound.beginBatch(), end: (kept) => this.batchEnded(kept) }),
      opts.module.onCommit((c) => this.broadcast(c)),
      this.outbound.attach(),
    );
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
    for (const dispose of this.disposers.splice(0).reverse()) dispose();
    clearInterval(this.pingTimer);
    for (const c of this.conns.values()) c.ws.close(1001, 'host shutting down');
    for (const c of [...this.conns.values()]) this.dropConnection(c);
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** A request handler threw: a client's mistake (HttpError) is answered and logged as such; anything else is ours. */
  private requestFailed(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (e instanceof HttpError) {
      this.log.info({ status: e.status, method: req.method, path: req.url, error: e.message }, 'request refused');
      if (res.headersSent) return void res.end();
      // Do not read the rest of a refused body (it may be endless): reply, then close the connection.
      if (e.status === 413) res.setHeader('Connection', 'close');
      return text(res, e.status, e.message);
    }
    this.log.error({ err: e }, 'request failed');
    if (!res.headersSent) internalError(res);
    else res.end();
  }

  /** A batch of reducer calls ended: release what it held back, or undo the failures it found. */
  private batchEnded(kept: boolean): void {
    const failed = this.failedInBatch;
    this.failedInBatch = [];
    this.outbound.endBatch(kept);
    if (kept) return;
    // The undone batch's calls run again; so do the failures it found.
    for (const c of failed) c.failed = false;
    // It may have been cut short while a reducer's updates were being gathered.
    for (const c of this.conns.values()) c.pendingCallerUpdates = undefined;
  }

  // ---- WebSocket ----

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = parseRequestUrl(req);
    const handshake = parseHandshake(req, url, {
      module: this.opts.module,
      name: this.opts.name,
      protocols: this.opts.protocols ?? ['v3', 'v2'],
      inUse: (id) => this.conns.has(id),
    });
    if (!handshake.ok) return rejectUpgrade(socket, handshake.status, handshake.message);
    // The slot is taken before the token check, which waits: concurrent upgrades see each other.
    const admitted = this.admission.admit(socket.remoteAddress ?? 'unknown');
    if (!admitted.ok) {
      this.log.info({ address: socket.remoteAddress, reason: admitted.message }, 'websocket refused: limit');
      return rejectUpgrade(socket, admitted.status, admitted.message);
    }
    const ticket = admitted.ticket;
    let opened = false;
    try {
      opened = await this.openConnection(req, socket, head, url, { ...handshake, ticket });
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
    c: { connectionId: bigint; protocol: string; compression: Compression; ticket: Ticket },
  ): Promise<boolean> {
    const host = this.opts.module;
    const who = await authenticateUpgrade(req, url, this.auth, host.ownerIdentity);
    if (!who.ok) {
      this.log.info({ reason: who.reason }, 'websocket refused: bad token');
      rejectUpgrade(socket, who.status, who.reason);
      return false;
    }
    const { identity, payloadJson, sessionToken, anonymous } = who;
    if (anonymous) {
      const room = c.ticket.markAnonymous();
      if (!room.ok) {
        this.log.info({ address: socket.remoteAddress, reason: room.message }, 'websocket refused: limit');
        rejectUpgrade(socket, room.status, room.message);
        return false;
      }
    }
    if (socket.destroyed) return false; // gone while its token was checked: no client_connected for it

    const { connectionId } = c;
    const connected = host.connectClient(identity, connectionId, payloadJson);
    if (connected && connected.kind !== 'committed') {
      const why = connected.kind === 'user_error' ? connected.message : INTERNAL_ERROR_TEXT;
      this.log.info({ identity: identityHex(identity), why }, 'connection refused by client_connected');
      rejectUpgrade(socket, 403, why);
      return false;
    }

    this.chosenProtocol.set(req, c.protocol);
    let opened = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      const conn: Connection = {
        ws,
        identity,
        connectionId,
        protocol: c.protocol === PROTOCOL_V3 ? 'v3' : 'v2',
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
    this.inbox.drainIfHolding((m) => m.conn === conn);
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

  /** A subscriber that does not read its socket must not hold memory or slow the others. */
  private disconnectSlow(conn: Connection): void {
    this.log.warn({ connection: connectionIdHex(conn.connectionId), backlog: conn.ws.bufferedAmount }, 'disconnecting a slow subscriber');
    conn.ws.close(1008, 'subscriber too slow: outgoing backlog limit exceeded');
    setTimeout(() => conn.ws.terminate(), 1000).unref();
    this.dropConnection(conn);
  }

  /** Send once the state the message reflects is durable (at once when nothing waits for the log). */
  private send(conn: Connection, msg: ServerMessage): void {
    this.outbound.send(conn, encodeUncompressedFrame(msg));
  }

  private closeWithError(conn: Connection, message: string): void {
    conn.failed = true;
    if (this.outbound.deferWhileBatching(() => this.closeWithError(conn, message))) {
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
    this.inbox.push(messages.map((msg) => ({ conn, msg })));
  }

  private handleOne({ conn, msg }: Received): void {
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
        // The caller's own updates travel inside its ReducerResult (see broadcast).
        const updates: QuerySetUpdateV[] = [];
        conn.pendingCallerUpdates = updates;
        let outcome: ReturnType<ModuleHost['callReducer']>;
        try {
          outcome = host.callReducer(reducer, args, { identity: conn.identity, connectionId: conn.connectionId });
        } finally {
          conn.pendingCallerUpdates = undefined;
        }
        return this.send(conn, { tag: 'ReducerResult', value: { requestId, timestamp: outcome.timestamp, result: reducerResult(outcome, updates) } });
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
      this.outbound.send(conn, frame);
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
