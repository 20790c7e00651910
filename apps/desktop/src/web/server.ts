// Web mode: the same core and renderer without Electron. A loopback HTTP server serves the built
// renderer (with the browser-side bridge shim) under a strict CSP, and a WebSocket at /bridge
// carries the bridge contract. Only loopback is bound; the socket requires the session token (sent
// as a WebSocket subprotocol, never in a URL the server logs) and an Origin and Host of this server.
// Malformed requests (bad percent-escapes, unparsable targets) are the client's mistake: 400, logged
// below error level without a stack, and they never reach a handler that could throw.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { WireRequest, type StatePush } from '../shared/contract';
import type { AppCore } from '../core/app-core';

export const BRIDGE_PROTOCOL = 'autopilot-bridge';
const TOKEN_PROTOCOL_PREFIX = 'token.';
const MAX_FRAME_BYTES = 256 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface WebServerOptions {
  core: AppCore;
  /** Folder of the built renderer (index.html + assets) and web-bridge.js. */
  staticDir: string;
  port?: number;
  /** Fixed token (tests); default: 32 random bytes. */
  token?: string;
  /** Default: the core's logger. */
  logger?: Logger;
}

export interface RunningWebServer {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  origin: string;
  /** What to open in a browser: origin + #token=… (the fragment never reaches the server). */
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token);
  const { core, staticDir } = options;
  const logger = options.logger ?? core.logger;
  let origin = '';
  let allowedHosts = new Set<string>();

  const server: Server = createServer((req, res) => {
    void serveStatic(req, res).catch((error: unknown) => {
      logger.error({ url: clip(req.url), err: (error as Error).message }, 'web server: serving failed');
      if (!res.headersSent) res.writeHead(500).end('internal error');
    });
  });

  async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts.has(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('wrong host');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const pathname = requestPath(req.url, origin, true);
    if (pathname === null) {
      logger.info({ url: clip(req.url) }, 'web server: malformed request URL refused');
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request: malformed URL');
      return;
    }
    const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
    const file = normalize(join(staticDir, relative));
    if (!file.startsWith(normalize(staticDir) + sep)) {
      res.writeHead(404).end();
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (relative === 'index.html') body = Buffer.from(injectBridge(body.toString('utf8')));
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': contentSecurityPolicy(origin),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has(BRIDGE_PROTOCOL) ? BRIDGE_PROTOCOL : false),
  });

  server.on('upgrade', (req, socket, head) => {
    const refusal = checkUpgrade(req);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function checkUpgrade(req: IncomingMessage): string | null {
    const pathname = requestPath(req.url, origin, false);
    if (pathname === null) {
      logger.info({ url: clip(req.url) }, 'web bridge: malformed upgrade URL refused');
      return '400 Bad Request';
    }
    if (pathname !== '/bridge') return '404 Not Found';
    if (!allowedHosts.has(req.headers.host ?? '')) return '421 Misdirected Request';
    const requestOrigin = req.headers.origin;
    if (requestOrigin === undefined || !allowedHosts.has(requestOrigin.replace(/^http:\/\//, ''))) return '403 Forbidden';
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const presented = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))?.slice(TOKEN_PROTOCOL_PREFIX.length) ?? '';
    const presentedBytes = Buffer.from(presented);
    if (presentedBytes.length !== tokenBytes.length || !timingSafeEqual(presentedBytes, tokenBytes)) return '401 Unauthorized';
    if (!offered.includes(BRIDGE_PROTOCOL)) return '400 Bad Request';
    return null;
  }

  function attach(ws: WebSocket): void {
    const send = (message: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    // A fresh page gets every slice first, so it renders without waiting for changes.
    const state = core.state();
    for (const slice of Object.keys(state) as (keyof typeof state)[]) send({ type: 'state', push: { slice, value: state[slice] } });
    const unsubscribe = core.subscribe((push: StatePush) => send({ type: 'state', push }));
    ws.on('message', (data) => {
      let request: WireRequest;
      try {
        const parsed = WireRequest.safeParse(JSON.parse(String(data)));
        if (!parsed.success) throw new Error('malformed');
        request = parsed.data;
      } catch {
        ws.close(1008, 'malformed request');
        return;
      }
      void core.call(request.call, request.params).then((result) => send({ type: 'result', id: request.id, result }));
    });
    ws.on('close', unsubscribe);
    ws.on('error', unsubscribe);
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  origin = `http://127.0.0.1:${port}`;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  return {
    origin,
    url: `${origin}/#token=${token}`,
    token,
    port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request's path (percent-decoded when asked), or null when the target or an escape is malformed. */
export function requestPath(url: string | undefined, base: string, decode: boolean): string | null {
  try {
    const pathname = new URL(url ?? '/', base).pathname;
    return decode ? decodeURIComponent(pathname) : pathname;
  } catch {
    // URIError (bad escape) or TypeError (unparsable target): both are the client's mistake.
    return null;
  }
}

/** A request target short enough to log. */
function clip(url: string | undefined): string {
  return (url ?? '').slice(0, 200);
}

/** Puts the browser-side bridge before the renderer's own script, so window.autopilot exists first. */
export function injectBridge(html: string): string {
  const tag = '<script type="module" src="/web-bridge.js"></script>';
  const at = html.indexOf('<script');
  return at === -1 ? html.replace('</head>', `${tag}</head>`) : `${html.slice(0, at)}${tag}\n    ${html.slice(at)}`;
}
