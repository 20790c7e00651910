// A raw subscriber of the host: speaks the real v3 BSATN wire protocol over a bare `ws` socket but
// keeps no client cache, so the fan-out bench can measure the host's delivery apart from the SDK's
// client-side cost. It only understands the bank's `account` table.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { decodeServerMessages, encodeClientMessage, type ServerMessage } from '@autopilot/spacetime-host';

const PROTOCOL = 'v3.bsatn.spacetimedb';
/** An `account` row in BSATN: id u64 LE, then balance i64 LE. */
const ACCOUNT_ROW_BYTES = 16;

type RowList = Extract<ServerMessage, { tag: 'SubscribeApplied' }>['value']['rows']['tables'][number]['rows'];

/** (transaction number, arrival time from `performance.now()`) for each transfer seen. */
export type TransferListener = (k: number, at: number) => void;

/** Byte offsets of each row in a row list (a fixed size or explicit offsets, as the sender chose). */
function rowStarts(list: RowList): number[] {
  const { sizeHint, rowsData } = list;
  if (sizeHint.tag === 'RowOffsets') return sizeHint.value.map(Number);
  if (sizeHint.value === 0) throw new Error('a FixedSize row list with row size 0');
  return Array.from({ length: rowsData.length / sizeHint.value }, (_, i) => i * sizeHint.value);
}

function accountRows(list: RowList): { id: bigint; balance: bigint }[] {
  const view = new DataView(list.rowsData.buffer, list.rowsData.byteOffset, list.rowsData.byteLength);
  return rowStarts(list).map((at) => {
    if (at + ACCOUNT_ROW_BYTES > list.rowsData.length) throw new Error(`account row at byte ${at} runs past the row data`);
    return { id: view.getBigUint64(at, true), balance: view.getBigInt64(at + 8, true) };
  });
}

/**
 * The transaction numbers in one TransactionUpdate: a transfer of amount k deletes and re-inserts
 * two account rows, and the credited one's balance grows by exactly k.
 */
export function creditedAmounts(update: Extract<ServerMessage, { tag: 'TransactionUpdate' }>['value']): number[] {
  const out: number[] = [];
  for (const querySet of update.querySets) {
    for (const table of querySet.tables) {
      if (table.tableName !== 'account') continue;
      for (const rows of table.rows) {
        if (rows.tag !== 'PersistentTable') continue;
        const before = new Map(accountRows(rows.value.deletes).map((r) => [r.id, r.balance]));
        for (const after of accountRows(rows.value.inserts)) {
          const old = before.get(after.id);
          if (old !== undefined && after.balance > old) out.push(Number(after.balance - old));
        }
      }
    }
  }
  return out;
}

export class RawSubscriber {
  /** Messages other than TransactionUpdate received after the handshake, by tag. */
  readonly otherMessages: Record<string, number> = {};
  /** TransactionUpdates received (one may carry several transfers, or none of ours). */
  transactionUpdates = 0;
  /** Set when a frame could not be understood; the socket is then closed. */
  failure: Error | undefined;
  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly ws: WebSocket,
    readonly identity: bigint,
    private readonly onTransfer: TransferListener,
  ) {
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('error', (e) => (this.failure ??= e));
    ws.on('close', (code, reason) => this.failPending(new Error(`socket closed (${code} ${reason.toString()})`)));
  }

  /** Connect anonymously (the host mints an identity) and wait for InitialConnection. */
  static connect(wsUrl: string, database: string, onTransfer: TransferListener): Promise<RawSubscriber> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsUrl}/v1/database/${database}/subscribe?compression=None`, [PROTOCOL], { perMessageDeflate: false });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(new Error(`subscribe to ${database} refused: HTTP ${res.statusCode} ${body}`)));
      });
      ws.once('error', reject);
      ws.once('close', (code, reason) => reject(new Error(`socket closed before InitialConnection (${code} ${reason.toString()})`)));
      ws.once('message', (data: Buffer) => {
        try {
          const [first, ...rest] = decodeServerMessages(payloadOf(data), 'v3');
          if (first?.tag !== 'InitialConnection') throw new Error(`expected InitialConnection first, got ${first?.tag}`);
          const subscriber = new RawSubscriber(ws, first.value.identity, onTransfer);
          for (const msg of rest) subscriber.handle(msg);
          resolve(subscriber);
        } catch (e) {
          ws.terminate();
          reject(e as Error);
        }
      });
    });
  }

  /** Subscribe to `queries` as one query set; rejects with the host's message on a SubscriptionError. */
  subscribe(queries: string[]): Promise<void> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) return reject(new Error('the socket is not open'));
      this.pending.set(requestId, { resolve, reject });
      this.ws.send(encodeClientMessage({ tag: 'Subscribe', value: { requestId, querySetId: { id: requestId }, queryStrings: queries } }));
    });
  }

  close(): void {
    this.ws.terminate();
  }

  private receive(data: Buffer): void {
    try {
      for (const msg of decodeServerMessages(payloadOf(data), 'v3')) this.handle(msg);
    } catch (e) {
      this.failure = e as Error;
      this.failPending(this.failure);
      this.ws.terminate();
    }
  }

  private handle(msg: ServerMessage): void {
    switch (msg.tag) {
      case 'TransactionUpdate': {
        this.transactionUpdates++;
        const amounts = creditedAmounts(msg.value);
        if (amounts.length) {
          const at = performance.now();
          for (const k of amounts) this.onTransfer(k, at);
        }
        return;
      }
      case 'SubscribeApplied':
        this.settle(msg.value.requestId)?.resolve();
        break;
      case 'SubscriptionError': {
        const waiter = msg.value.requestId === undefined ? undefined : this.settle(msg.value.requestId);
        waiter?.reject(new Error(msg.value.error));
        break;
      }
    }
    this.otherMessages[msg.tag] = (this.otherMessages[msg.tag] ?? 0) + 1;
  }

  private settle(requestId: number) {
    const waiter = this.pending.get(requestId);
    this.pending.delete(requestId);
    return waiter;
  }

  private failPending(e: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(e);
    this.pending.clear();
  }
}

/** The message bytes of a frame: a compression tag (0 = none, the only one asked for), then the payload. */
function payloadOf(frame: Buffer): Uint8Array {
  if (frame.length === 0) throw new Error('an empty frame');
  if (frame[0] !== 0) throw new Error(`frame compressed with tag ${frame[0]}, but compression=None was asked for`);
  return new Uint8Array(frame.buffer, frame.byteOffset + 1, frame.length - 1);
}

/** Connect and subscribe `count` raw subscribers a few at a time (each connect is a durable transaction). */
export async function connectRawMany(
  wsUrl: string,
  database: string,
  count: number,
  queries: string[],
  onTransfer: TransferListener,
): Promise<RawSubscriber[]> {
  const out: RawSubscriber[] = [];
  while (out.length < count) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, count - out.length) }, () => RawSubscriber.connect(wsUrl, database, onTransfer)),
    );
    await Promise.all(batch.map((s) => s.subscribe(queries)));
    out.push(...batch);
  }
  return out;
}
