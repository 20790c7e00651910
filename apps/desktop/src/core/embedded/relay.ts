// A local Nostr relay for the embedded world (the supplemental / fallback lane), bound to loopback.
// The protocol (NIP-01 EVENT / REQ / CLOSE, id + signature checks, subscriptions) is the maintained
// @nostr-relay/core, with @nostr-relay/validator checking message shapes; this file adds the
// WebSocket + NIP-11 server around it and a bounded in-memory event repository (the project ships
// only SQLite / Postgres ones). @nostr-relay/common imports @noble/hashes v1 without declaring it:
// the root package.json's pnpm.packageExtensions supplies that dependency.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ClientReadyState,
  ConsoleLoggerService,
  EventRepository,
  LogLevel,
  MessageType,
  type Client,
  type Event,
  type EventRepositoryUpsertResult,
  type Filter,
  type Logger as RelayLogger,
} from '@nostr-relay/common';
import { NostrRelay } from '@nostr-relay/core';
import { Validator } from '@nostr-relay/validator';
import { matchFilter, matchFilters, type Filter as NostrToolsFilter } from 'nostr-tools/filter';
import { isAddressableKind, isEphemeralKind, isReplaceableKind } from 'nostr-tools/kinds';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';

const MAX_EVENTS = 50_000;
const MAX_SUBSCRIPTIONS_PER_CLIENT = 32;
const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface RunningRelay {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Events kept the NIP-01 way: regular ones kept, replaceable / addressable ones replaced by a newer
 * version, ephemeral ones never stored; the oldest stored events are dropped past `maxEvents`.
 */
export class MemoryEventRepository extends EventRepository {
  readonly #events = new Map<string, Event>();
  /** `kind:pubkey:d` of each replaceable / addressable event → the id of its current version. */
  readonly #latestByAddress = new Map<string, string>();

  constructor(private readonly maxEvents = MAX_EVENTS) {
    super();
  }

  isSearchSupported(): boolean {
    return false;
  }

  upsert(event: Event): EventRepositoryUpsertResult {
    if (this.#events.has(event.id)) return { isDuplicate: true };
    if (isEphemeralKind(event.kind)) return { isDuplicate: false }; // relayed live, never stored
    const address = addressOf(event);
    if (address !== undefined) {
      const current = this.#events.get(this.#latestByAddress.get(address) ?? '');
      // NIP-01: the newest version wins; on a tie, the lowest id.
      if (current && (current.created_at > event.created_at || (current.created_at === event.created_at && current.id < event.id))) {
        return { isDuplicate: true };
      }
      if (current) this.#remove(current);
      this.#latestByAddress.set(address, event.id);
    }
    this.#events.set(event.id, event);
    for (const oldest of this.#events.values()) {
      if (this.#events.size <= this.maxEvents) break;
      this.#remove(oldest);
    }
    return { isDuplicate: false };
  }

  find(filter: Filter): Event[] {
    if (filter.limit === 0) return [];
    // Both libraries' Filter is the NIP-01 filter; nostr-tools types tag keys as an index signature.
    const matches = [...this.#events.values()].filter((event) => matchFilter(filter as NostrToolsFilter, event));
    matches.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
    return filter.limit === undefined ? matches : matches.slice(0, filter.limit);
  }

  /** NIP-09: removes the requester's own events named by `e` / `a` tags, and keeps the request. */
  override async deleteByDeletionRequest(request: Event): Promise<void> {
    const ids = new Set(request.tags.filter((t) => t[0] === 'e').map((t) => t[1]));
    const addresses = new Set(request.tags.filter((t) => t[0] === 'a').map((t) => t[1]));
    for (const event of [...this.#events.values()]) {
      if (event.pubkey !== request.pubkey) continue;
      const address = addressOf(event);
      if (ids.has(event.id) || (address !== undefined && addresses.has(address) && event.created_at <= request.created_at)) this.#remove(event);
    }
    this.upsert(request);
  }

  async destroy(): Promise<void> {
    this.#events.clear();
    this.#latestByAddress.clear();
  }

  #remove(event: Event): void {
    this.#events.delete(event.id);
    const address = addressOf(event);
    if (address !== undefined && this.#latestByAddress.get(address) === event.id) this.#latestByAddress.delete(address);
  }
}

/** The NIP-01 coordinate `kind:pubkey:d` of a replaceable / addressable event (d is '' for replaceable ones). */
function addressOf(event: Event): string | undefined {
  if (isReplaceableKind(event.kind)) return `${event.kind}:${event.pubkey}:`;
  if (isAddressableKind(event.kind)) return `${event.kind}:${event.pubkey}:${event.tags.find((t) => t[0] === 'd')?.[1] ?? ''}`;
  return undefined;
}

/**
 * One WebSocket as @nostr-relay/core sees it. core 0.0.40 matches live events against a
 * subscription on ids / authors / kinds / since / until only (tag filters such as `#t` are
 * ignored), so each connection keeps its own REQ filters and drops outgoing events they do not match.
 */
class FilteringClient implements Client {
  readonly #subscriptions = new Map<string, Filter[]>();

  constructor(private readonly ws: WebSocket) {}

  get readyState(): ClientReadyState {
    return this.ws.readyState as ClientReadyState;
  }

  subscribe(id: string, filters: Filter[]): void {
    this.#subscriptions.delete(id);
    this.#subscriptions.set(id, filters);
    // core keeps the most recent subscriptions per client; stay in step with it.
    for (const oldest of this.#subscriptions.keys()) {
      if (this.#subscriptions.size <= MAX_SUBSCRIPTIONS_PER_CLIENT) break;
      this.#subscriptions.delete(oldest);
    }
  }

  unsubscribe(id: string): void {
    this.#subscriptions.delete(id);
  }

  send(data: string, cb?: (err?: Error) => void): void {
    if (data.startsWith(`["${MessageType.EVENT}"`)) {
      const [, id, event] = JSON.parse(data) as [string, string, Event];
      const filters = this.#subscriptions.get(id);
      if (!filters || !matchFilters(filters as NostrToolsFilter[], event)) return cb?.();
    }
    this.ws.send(data, cb);
  }
}

function relayLogger(logger: Logger | undefined): RelayLogger {
  if (!logger) {
    const errorsOnly = new ConsoleLoggerService();
    errorsOnly.setLogLevel(LogLevel.ERROR);
    return errorsOnly;
  }
  return {
    setLogLevel: () => undefined, // the pino logger's own level applies
    debug: (message) => logger.debug(message),
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    error: (message, error?: unknown) => logger.error({ err: error }, message),
  };
}

export async function startRelay(options: { port?: number; logger?: Logger } = {}): Promise<RunningRelay> {
  const relay = new NostrRelay(new MemoryEventRepository(), {
    logger: relayLogger(options.logger),
    maxSubscriptionsPerClient: MAX_SUBSCRIPTIONS_PER_CLIENT,
    // No result caches: a REQ right after an EVENT must see it, and a forged event must not
    // cache a rejection under the id of the genuine one.
    filterResultCacheTtl: 0,
    eventHandlingResultCacheTtl: 0,
  });
  const validator = new Validator();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/nostr+json', 'access-control-allow-origin': '*' }).end(
      JSON.stringify({
        name: 'autopilot embedded relay',
        software: '@nostr-relay/core',
        supported_nips: [1, 9, 11],
        limitation: { max_message_length: MAX_PAYLOAD_BYTES, max_subscriptions: MAX_SUBSCRIPTIONS_PER_CLIENT },
      }),
    );
  });
  const wss = new WebSocketServer({ server, maxPayload: MAX_PAYLOAD_BYTES });

  wss.on('connection', (ws, req) => {
    const client = new FilteringClient(ws);
    relay.handleConnection(client, req.socket.remoteAddress);
    const notice = (text: string) => client.send(JSON.stringify([MessageType.NOTICE, text]));
    // One message at a time per connection, so an EVENT is stored before a following REQ reads.
    let previous = Promise.resolve();
    const handle = async (data: string) => {
      let message;
      try {
        message = await validator.validateIncomingMessage(data);
      } catch (error) {
        notice(error instanceof SyntaxError ? 'invalid: message is not JSON' : (error as Error).message);
        return;
      }
      if (message[0] === MessageType.REQ) client.subscribe(message[1], message.slice(2) as Filter[]);
      if (message[0] === MessageType.CLOSE) client.unsubscribe(message[1]);
      try {
        await relay.handleMessage(client, message);
      } catch (error) {
        notice(`error: ${(error as Error).message}`);
      }
    };
    ws.on('message', (data) => {
      previous = previous.then(() => handle(String(data)));
    });
    // ws reports an oversized message as an error on the socket and closes it; without a
    // listener that error would be thrown.
    ws.on('error', () => ws.terminate());
    ws.on('close', () => relay.handleDisconnect(client));
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
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await relay.destroy();
    },
  };
}
