// Fuzzing the wire protocol for a bounded time: random and mutated frames, random reducer
// arguments and mangled SQL. The host must answer every decodable message, close the socket on
// every undecodable frame, never crash, and keep its state and subscribers consistent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningHost } from '../src/index';
import { decodeServerMessages, encodeClientMessage, decodeClientFrame, type ClientMessage, type ServerMessage } from '../src/server/wire';
import { DbConnection } from './fixtures/chat/module_bindings/index';
import { connectSdk, deferred, fixture, until, withHost } from './sdk/helpers';
import { prng } from './random';

let host: RunningHost;
beforeAll(async () => {
  host = await withHost({ module: fixture('chat'), name: 'chat' });
});
afterAll(async () => host?.close());


type Event = { kind: 'message'; msg: ServerMessage } | { kind: 'close'; code: number; reason: string };

async function open(): Promise<{ ws: WebSocket; next(ms: number): Promise<Event | undefined> }> {
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
  const next = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (!events.length && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 20)));
    return events.shift();
  };
  const first = await next(2000);
  if (first?.kind !== 'message' || first.msg.tag !== 'InitialConnection') throw new Error('no InitialConnection');
  return { ws, next };
}

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
  it('answers or closes on every input, never crashes, and keeps subscribers consistent', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 7);
    const r = prng(seed);
    const { conn: watcher } = await connectSdk(DbConnection, host.url, 'chat');
    const applied = deferred<void>();
    watcher.subscriptionBuilder().onApplied(() => applied.resolve()).subscribe(['SELECT * FROM message', 'SELECT * FROM user']);
    await applied.promise;

    let client = await open();
    const counts = { answered: 0, closed: 0, committed: 0 };
    const deadline = Date.now() + Number(process.env.FUZZ_MS ?? 4000);
    for (let i = 1; Date.now() < deadline; i++) {
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
      try {
        decodeClientFrame(frame, 'v3');
        decodable = true;
      } catch {
        decodable = false;
      }
      client.ws.send(frame);
      const ev = await client.next(3000);
      expect(ev, `input ${i} (seed ${seed}) got neither a reply nor a close`).toBeDefined();
      if (ev!.kind === 'close') {
        expect(decodable, `input ${i} (seed ${seed}) decodes but closed the socket: ${ev!.reason}`).toBe(false);
        expect(ev!.code).toBe(1011);
        counts.closed++;
        client = await open();
      } else {
        // A decodable frame may hold several messages: drain the extra replies.
        counts.answered++;
        if (ev!.msg.tag === 'ReducerResult' && ev!.msg.value.result.tag === 'Ok') counts.committed++;
        while (await client.next(30)) counts.answered++;
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
  }, 60_000);
});
