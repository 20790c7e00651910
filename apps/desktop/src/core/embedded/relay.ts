// A local Nostr relay for the embedded world (the supplemental / fallback lane): NIP-01 EVENT,
// REQ and CLOSE over a loopback WebSocket, with an in-memory store. Event checks (id + signature)
// and filter matching come from the maintained nostr-tools; this file is only the protocol loop.
// (@nostr-relay/core was tried first: its common package imports @noble/hashes v1 paths without
// declaring the dependency, which does not resolve in this pnpm workspace.)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchFilter, matchFilters, type Filter } from 'nostr-tools/filter';
import { verifyEvent, type Event } from 'nostr-tools/pure';
import { WebSocketServer, type WebSocket } from 'ws';

const MAX_EVENTS = 50_000;
const MAX_SUBSCRIPTIONS_PER_CLIENT = 32;

export interface RunningRelay {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Stores events the NIP-01 way: regular kept, replaceable/addressable replaced, ephemeral never stored. */
export class MemoryEventStore {
  #events: Event[] = [];

  /** false when the event was already known (or older than what it would replace). */
  add(event: Event): boolean {
    if (this.#events.some((e) => e.id === event.id)) return false;
    const kind = event.kind;
    if (kind >= 20_000 && kind < 30_000) return true;
    const replaceable = kind === 0 || kind === 3 || (kind >= 10_000 && kind < 20_000);
    const addressable = kind >= 30_000 && kind < 40_000;
    if (replaceable || addressable) {
      const d = addressable ? dTag(event) : '';
      const older = this.#events.findIndex((e) => e.pubkey === event.pubkey && e.kind === kind && (!addressable || dTag(e) === d));
      if (older !== -1) {
        if (this.#events[older]!.created_at > event.created_at) return false;
        this.#events.splice(older, 1);
      }
    }
    this.#events.push(event);
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
    return true;
  }

  query(filters: Filter[]): Event[] {
    const out = new Map<string, Event>();
    for (const filter of filters) {
      const matches = this.#events.filter((e) => matchFilter(filter, e)).sort((a, b) => b.created_at - a.created_at);
      for (const e of filter.limit !== undefined ? matches.slice(0, filter.limit) : matches) out.set(e.id, e);
    }
    return [...out.values()].sort((a, b) => a.created_at - b.created_at);
  }
}

function dTag(event: Event): string {
  return event.tags.find((t) => t[0] === 'd')?.[1] ?? '';
}

export async function startRelay(options: { port?: number } = {}): Promise<RunningRelay> {
  const store = new MemoryEventStore();
  const subscriptions = new Map<WebSocket, Map<string, Filter[]>>();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/nostr+json' }).end(JSON.stringify({ name: 'autopilot embedded relay', supported_nips: [1, 11] }));
  });
  const wss = new WebSocketServer({ server, maxPayload: 256 * 1024 });
  const send = (ws: WebSocket, message: unknown[]) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };

  wss.on('connection', (ws) => {
    const subs = new Map<string, Filter[]>();
    subscriptions.set(ws, subs);
    ws.on('close', () => subscriptions.delete(ws));
    ws.on('message', (data) => {
      let message: unknown;
      try {
        message = JSON.parse(String(data));
      } catch {
        send(ws, ['NOTICE', 'invalid: not JSON']);
        return;
      }
      if (!Array.isArray(message) || typeof message[0] !== 'string') {
        send(ws, ['NOTICE', 'invalid: messages are JSON arrays']);
        return;
      }
      const [type, ...rest] = message as [string, ...unknown[]];
      if (type === 'EVENT') {
        const event = rest[0] as Event;
        let valid = false;
        try {
          valid = verifyEvent(event);
        } catch {
          valid = false;
        }
        if (!valid) {
          send(ws, ['OK', typeof event?.id === 'string' ? event.id : '', false, 'invalid: bad id or signature']);
          return;
        }
        const fresh = store.add(event);
        send(ws, ['OK', event.id, true, fresh ? '' : 'duplicate: already have this event']);
        if (!fresh) return;
        for (const [client, clientSubs] of subscriptions) {
          for (const [id, filters] of clientSubs) if (matchFilters(filters, event)) send(client, ['EVENT', id, event]);
        }
      } else if (type === 'REQ') {
        const [id, ...filters] = rest as [string, ...Filter[]];
        if (typeof id !== 'string' || id.length === 0 || id.length > 64) {
          send(ws, ['NOTICE', 'invalid: subscription id']);
          return;
        }
        if (!subs.has(id) && subs.size >= MAX_SUBSCRIPTIONS_PER_CLIENT) {
          send(ws, ['CLOSED', id, 'error: too many subscriptions']);
          return;
        }
        subs.set(id, filters);
        for (const event of store.query(filters)) send(ws, ['EVENT', id, event]);
        send(ws, ['EOSE', id]);
      } else if (type === 'CLOSE') {
        subs.delete(String(rest[0]));
      } else {
        send(ws, ['NOTICE', `unsupported: ${type.slice(0, 16)}`]);
      }
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
