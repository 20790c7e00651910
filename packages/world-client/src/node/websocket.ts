// Node 20 has no global WebSocket; undici's (v7: v8 needs Node 22) is the WHATWG one.
import { WebSocket as UndiciWebSocket, fetch as undiciFetch } from 'undici';
import type { FetchLike } from '../core/http';
import type { WebSocketConstructor } from '../core/ws';

export const NodeWebSocket: WebSocketConstructor = (globalThis as { WebSocket?: unknown }).WebSocket
  ? ((globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructor)
  : (UndiciWebSocket as unknown as WebSocketConstructor);

export const nodeFetch: FetchLike = typeof globalThis.fetch === 'function' ? (url, init) => globalThis.fetch(url, init) : (undiciFetch as unknown as FetchLike);
