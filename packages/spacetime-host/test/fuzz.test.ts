// Fuzzing the wire protocol with a seeded stream of inputs (SEED, ITERATIONS = inputs): random and
// mutated frames, random reducer arguments and mangled SQL. The host must answer every decodable
// message, close the socket on every undecodable frame, never crash, and keep its state and
// subscribers consistent. Each input is followed by a sentinel query: the host handles a
// connection's messages in order, so the sentinel's answer marks the end of the input's replies
// without waiting for a quiet period (which would depend on the machine's speed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningHost } from '../src/index';
import { decodeServerMessages, encodeClientMessage, decodeClientFrame, type ClientMessage, type ServerMessage } from '../src/server/wire';
import { DbConnection } from './fixtures/chat/module_bindings/index';
import { connectSdk, deferred, fixture, until, withHost } from './sdk/helpers';
import { seeded } from '@autopilot/test-support';

let host: RunningHost;
beforeAll(async () => {
  host = await withHost({ module: fixture('chat'), name: 'chat' });
});
afterAll(async () => host?.close());


type Event = { kind: 'message'; msg: ServerMessage } | { kind: 'close'; code: number; reason: string };

async function open(): Promise<{ ws: WebSocket; next(): Promise<Event> }> {
  const ws = new WebSocket(`${host.url.replace('http', 'ws')}/v1/database/chat/subscribe?compression=None`, ['v3.bsatn.spacetimedb']);
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d: Buffer) => {
    for (const msg of decodeServerMessages(new Uint8Array(d.subarray(1)), 'v3')) events.push({ kind: 'message', msg });
    wake?.();
  });
  ws.on('close', (code, reason) => {
    events.push({ kind: 'close', code, reason: reason.toString() });
    wake?.();
  });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  // Waits as long as it takes; a host that never answers fails the test by its timeout.
  const next = async () => {
    while (!events.length) await new Promise<void>((r) => (wake = r));
    return events.shift()!;
  };
  const first = await next();
  if (first?.kind !== 'message' || first.msg.tag !== 'InitialConnection') throw new Error('no InitialConnection');
  return { ws, next };
}

/** Request ids of the sentinel queries; the fuzzed ids stay far below. */
const SENTINEL = 0x7000_0000;
const REDUCERS = ['send_message', 'set_name', 'typing', 'keep_secret', 'crash', 'on_connect', 'nope', ''];
const SQL = ['SELECT * FROM user', 'SELECT * FROM message WHERE id > 3', 'SELECT * FROM "message" WHERE "message"."text" = \'hi\'', 'SELECT * FROM my_secrets', 'SELECT * FROM typing_event'];

function randomBytes(r: () => number, max: number): Uint8Array {
  const b = new Uint8Array(Math.floor(r() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function mangle(r: () => number, s: string): string {
  const chars = [...s];
  for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) {
    const at = Math.floor(r() * (chars.length + 1));
    const op = r();
    if (op < 0.4) chars.splice(at, 1);
    else if (op < 0.8) chars.splice(at, 0, String.fromCharCode(32 + Math.floor(r() * 95)));
    else chars.splice(at, 0, "'");
  }
  return chars.join('');
}

function randomMessage(r: () => number, id: number): ClientMessage {
  const pick = r();
  if (pick < 0.45) {
    const reducer = REDUCERS[Math.floor(r() * REDUCERS.length)]!;
    return { tag: 'CallReducer', value: { requestId: id, flags: 0, reducer, args: randomBytes(r, 24) } };
  }
  if (pick < 0.75) {
    const base = SQL[Math.floor(r() * SQL.length)]!;
    return { tag: 'Subscribe', value: { requestId: id, querySetId: { id }, queryStrings: [r() < 0.5 ? mangle(r, base) : base] } };
  }
  if (pick < 0.85) return { tag: 'Unsubscribe', value: { requestId: id, querySetId: { id: Math.floor(r() * id + 1) }, flags: { tag: 'SendDroppedRows' } } };
  return { tag: 'OneOffQuery', value: { requestId: id, queryString: mangle(r, SQL[Math.floor(r() * SQL.length)]!) } };
}

describe('protocol fuzzing', () => {
  it('answers or closes on every input, never crashes, and keeps subscribers consistent', seeded({ seed: 7, iterations: 600 }, async ({ random: r, iterations, seed }) => {
    const { conn: watcher } = await connectSdk(DbConnection, host.url, 'chat');
    const applied = deferred<void>();
    watcher.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM message', 'SELECT * FROM user']);
    await applied.promise;

    let client = await open();
    const counts = { answered: 0, closed: 0, committed: 0 };
    for (let i = 1; i <= iterations; i++) {
      let frame: Uint8Array;
      let decodable: boolean;
      const mode = r();
      if (mode < 0.6) {
        frame = encodeClientMessage(randomMessage(r, i));
      } else if (mode < 0.85) {
        frame = encodeClientMessage(randomMessage(r, i));
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) frame[Math.floor(r() * frame.length)]! ^= 1 << Math.floor(r() * 8);
        if (r() < 0.3) frame = frame.subarray(0, Math.floor(r() * frame.length));
      } else frame = randomBytes(r, 64);
      let decoded = 0;
      try {
        decoded = decodeClientFrame(frame, 'v3').length;
        decodable = true;
      } catch {
        decodable = false;
      }
      client.ws.send(frame);
      const sentinelId = SENTINEL + i;
      client.ws.send(encodeClientMessage({ tag: 'OneOffQuery', value: { requestId: sentinelId, queryString: 'SELECT * FROM user' } }));
      let replies = 0;
      for (;;) {
        const ev = await client.next();
        if (ev.kind === 'close') {
          expect(decodable, `input ${i} (seed ${seed}) decodes but closed the socket: ${ev.reason}`).toBe(false);
          expect(ev.code).toBe(1011);
          counts.closed++;
          client = await open();
          break;
        }
        if (ev.msg.tag === 'OneOffQueryResult' && ev.msg.value.requestId === sentinelId) {
          expect(decodable, `input ${i} (seed ${seed}) does not decode but the socket stayed open`).toBe(true);
          // A decodable frame may hold several messages; each gets its own reply.
          expect(replies, `input ${i} (seed ${seed}) got too few replies`).toBeGreaterThanOrEqual(decoded);
          counts.answered += replies;
          break;
        }
        replies++;
        if (ev.msg.tag === 'ReducerResult' && ev.msg.value.result.tag === 'Ok') counts.committed++;
      }
    }
    client.ws.close();
    expect(counts.closed).toBeGreaterThan(0);
    expect(counts.answered).toBeGreaterThan(0);

    // Still serving, and the watcher's cache equals the committed state.
    expect((await fetch(`${host.url}/v1/ping`)).status).toBe(200);
    const table = host.module.datastore.tableByName('message')!;
    await until(() => Number(watcher.db.message.count()) === table.rows.size, 'the watcher caught up');
    const serverTexts = [...table.rows.values()].map((row) => row.value[3] as string).sort();
    expect([...watcher.db.message.iter()].map((m) => m.text).sort()).toEqual(serverTexts);
    for (const t of host.module.datastore.tables) {
      expect(t.byKey.size).toBe(t.rows.size);
      for (const ix of t.indexes) expect(ix.entries.length).toBe(t.rows.size);
    }
    watcher.disconnect();
  }), 60_000);
});
