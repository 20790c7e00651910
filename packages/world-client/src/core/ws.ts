// The SDK's socket factory, built from a WebSocket constructor and a fetch that the host passes
// in (undici's in Node 20, the platform's in browsers and Electron). Frames reach the SDK strictly
// in arrival order: a gzip frame is inflated asynchronously, and a small frame behind a big one
// must not overtake it.
import type { FetchLike } from './http';

/** The part of the WHATWG WebSocket this factory needs. */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the SDK passes to a socket factory (spacetimedb 2.10 `WebSocketArgs`). */
export interface SdkSocketArgs {
  url: URL;
  wsProtocol: string[];
  nameOrAddress: string;
  authToken?: string;
  compression: 'gzip' | 'brotli' | 'none';
  lightMode: boolean;
  confirmedReads?: boolean;
}

/** What the SDK expects back (spacetimedb 2.10 `WebSocketAdapter`). */
export interface SdkSocket {
  readonly protocol: string;
  readonly readyState: number;
  send(message: Uint8Array): void;
  close(): void;
  set onclose(handler: (event: any) => void);
  set onopen(handler: () => void);
  set onmessage(handler: (message: { data: Uint8Array }) => void);
  set onerror(handler: (event: any) => void);
}

export type SdkSocketFactory = (args: SdkSocketArgs) => Promise<SdkSocket>;

export interface SocketFactoryOptions {
  WebSocket: WebSocketConstructor;
  fetch: FetchLike;
  /** Called for every frame received (health: time of the last update). */
  onFrame?: () => void;
  /**
   * Called with the `exp` (ms since the epoch) of the short-lived token the server handed out for
   * this connection: servers may bind the connection's claims to it, so it can expire before the
   * token it was traded for.
   */
  onShortLivedToken?: (expiresAtMs: number | undefined) => void;
}

/** The host refused the token (expired, unknown issuer, forged): get a new one before retrying. */
export class SocketAuthError extends Error {
  override readonly name = 'SocketAuthError';
}

export function createSocketFactory(options: SocketFactoryOptions): SdkSocketFactory {
  return async (args) => {
    if (args.compression === 'brotli') throw new TypeError('brotli frames are not supported; use gzip or none');
    let shortLivedToken: string | undefined;
    if (args.authToken) {
      // Like the SDK: trade the long token for a short-lived one so it never sits in a URL.
      const tokenUrl = new URL('v1/identity/websocket-token', args.url);
      tokenUrl.protocol = args.url.protocol === 'wss:' ? 'https:' : 'http:';
      const response = await options.fetch(tokenUrl.toString(), {
        method: 'POST',
        headers: { Authorization: `Bearer ${args.authToken}` },
      });
      if (response.status === 401 || response.status === 403) {
        const detail = (await response.text().catch(() => '')).trim().slice(0, 200);
        throw new SocketAuthError(`the world refused the token (${response.status})${detail ? `: ${detail}` : ''}`);
      }
      if (!response.ok) throw new Error(`websocket token exchange failed: ${response.status} ${response.statusText}`);
      const body = (await response.json()) as { token?: unknown };
      if (typeof body.token !== 'string') throw new Error('websocket token exchange answered without a token');
      shortLivedToken = body.token;
      options.onShortLivedToken?.(jwtExpiry(shortLivedToken));
    }
    const databaseUrl = new URL(`v1/database/${args.nameOrAddress}/subscribe`, args.url);
    if (shortLivedToken) databaseUrl.searchParams.set('token', shortLivedToken);
    databaseUrl.searchParams.set('compression', args.compression === 'gzip' ? 'Gzip' : 'None');
    if (args.lightMode) databaseUrl.searchParams.set('light', 'true');
    if (args.confirmedReads !== undefined) databaseUrl.searchParams.set('confirmed', String(args.confirmedReads));
    const socket = new options.WebSocket(databaseUrl.toString(), args.wsProtocol);
    socket.binaryType = 'arraybuffer';
    return new OrderedSocket(socket, options.onFrame);
  };
}

class OrderedSocket implements SdkSocket {
  readonly #socket: WebSocketLike;
  readonly #onFrame: (() => void) | undefined;
  /** Frames waiting behind one that is still being inflated. */
  #backlog: Uint8Array[] = [];
  #inflating = false;
  #deliver: (message: { data: Uint8Array }) => void = () => undefined;

  constructor(socket: WebSocketLike, onFrame?: () => void) {
    this.#socket = socket;
    this.#onFrame = onFrame;
    socket.onmessage = (event) => this.#receive(toBytes(event.data));
  }

  get protocol(): string {
    return this.#socket.protocol;
  }

  get readyState(): number {
    return this.#socket.readyState;
  }

  set onclose(handler: (event: unknown) => void) {
    this.#socket.onclose = handler;
  }

  set onopen(handler: () => void) {
    this.#socket.onopen = () => handler();
  }

  set onerror(handler: (event: unknown) => void) {
    this.#socket.onerror = handler;
  }

  set onmessage(handler: (message: { data: Uint8Array }) => void) {
    this.#deliver = handler;
  }

  send(message: Uint8Array): void {
    this.#socket.send(message);
  }

  close(): void {
    this.#socket.close();
  }

  #receive(frame: Uint8Array): void {
    this.#onFrame?.();
    if (this.#inflating || frame[0] === GZIP_TAG) {
      this.#backlog.push(frame);
      if (!this.#inflating) void this.#drain();
      return;
    }
    this.#handOver(frame);
  }

  async #drain(): Promise<void> {
    this.#inflating = true;
    try {
      while (this.#backlog.length > 0) {
        const frame = this.#backlog.shift()!;
        if (frame[0] === GZIP_TAG) {
          let inflated: Uint8Array;
          try {
            inflated = await gunzip(frame.subarray(1));
          } catch {
            // A frame we cannot read leaves the client state unknown: drop the link, resync on reconnect.
            this.#backlog = [];
            this.#socket.close();
            return;
          }
          this.#deliver({ data: inflated });
        } else {
          this.#handOver(frame);
        }
      }
    } finally {
      this.#inflating = false;
    }
  }

  #handOver(frame: Uint8Array): void {
    if (frame[0] !== NONE_TAG) {
      this.#socket.close();
      return;
    }
    this.#deliver({ data: frame.subarray(1) });
  }
}

/** `exp` of a JWT in ms, read without verifying (the server that issued it verifies it). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as { exp?: unknown };
    return typeof json.exp === 'number' && Number.isFinite(json.exp) ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const NONE_TAG = 0;
const GZIP_TAG = 2;

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('expected a binary WebSocket frame');
}

async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
