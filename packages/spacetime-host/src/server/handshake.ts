// The WebSocket handshake before a connection exists: which database, protocol, compression and
// connection id the upgrade asks for; who the caller is (token, or a fresh anonymous identity) and
// whether that counts as anonymous for the connection limits; and the raw HTTP refusal.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { parseConnectionIdHex, randomConnectionId, type TokenAuthority } from '../auth/index';
import type { ModuleHost } from '../module/host';
import { decodePathSegment } from './http_errors';
import { credentials, matchesDatabase } from './http_routes';
import type { Compression } from './outbound';

export const PROTOCOL_V2 = 'v2.bsatn.spacetimedb';
export const PROTOCOL_V3 = 'v3.bsatn.spacetimedb';

export type Handshake =
  | { ok: true; protocol: typeof PROTOCOL_V2 | typeof PROTOCOL_V3; compression: Compression; connectionId: bigint }
  | { ok: false; status: 400 | 404; message: string };

/** Read the upgrade request; `inUse` says whether a client-chosen connection id is taken. */
export function parseHandshake(
  req: IncomingMessage,
  url: URL,
  ctx: { module: ModuleHost; name: string; protocols: ('v2' | 'v3')[]; inUse(connectionId: bigint): boolean },
): Handshake {
  const m = /^\/v1\/database\/([^/]+)\/subscribe$/.exec(url.pathname);
  if (!m) return { ok: false, status: 404, message: 'not found' };
  if (!matchesDatabase(ctx, decodePathSegment(m[1]!))) return { ok: false, status: 404, message: `no such database: ${m[1]}` };
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const protocol = ctx.protocols.map((p) => (p === 'v3' ? PROTOCOL_V3 : PROTOCOL_V2)).find((p) => offered.includes(p));
  if (!protocol) return { ok: false, status: 400, message: 'no valid protocol selected' };
  const compression = url.searchParams.get('compression') ?? 'Brotli';
  if (compression !== 'None' && compression !== 'Gzip' && compression !== 'Brotli') return { ok: false, status: 400, message: `unknown compression ${compression}` };

  const cidParam = url.searchParams.get('connection_id');
  if (!cidParam) return { ok: true, protocol, compression, connectionId: randomConnectionId() };
  const parsed = parseConnectionIdHex(cidParam);
  if (!parsed.ok) return { ok: false, status: 400, message: parsed.message };
  if (ctx.inUse(parsed.connectionId)) return { ok: false, status: 400, message: 'connection id already in use' };
  return { ok: true, protocol, compression, connectionId: parsed.connectionId };
}

export type Caller =
  | { ok: true; identity: bigint; payloadJson: string; sessionToken: string; anonymous: boolean }
  | { ok: false; status: 400 | 401; reason: string };

/** Who opens the connection: the token's holder, or (without one) a fresh anonymous identity. */
export async function authenticateUpgrade(req: IncomingMessage, url: URL, auth: TokenAuthority, ownerIdentity: bigint): Promise<Caller> {
  const token = credentials(req, url);
  if (!token) {
    const minted = await auth.mintAnonymous();
    const v = await auth.validate(minted.token);
    if (!v.ok) throw new Error('freshly minted token failed validation');
    return { ok: true, identity: minted.identity, payloadJson: v.payloadJson, sessionToken: minted.token, anonymous: true };
  }
  const v = await auth.validate(token);
  if (!v.ok) return { ok: false, status: v.status, reason: v.reason };
  // Anyone may mint a host token (POST /v1/identity): only the owner's and trusted issuers' count as logged in.
  const anonymous = v.identity !== ownerIdentity && !auth.isTrustedIssuer(v.claims);
  return { ok: true, identity: v.identity, payloadJson: v.payloadJson, sessionToken: token, anonymous };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Refuse an upgrade with a plain HTTP reply (before any WebSocket exists). */
export function rejectUpgrade(socket: Socket, status: number, message: string): void {
  const reason = STATUS_TEXT[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
}
