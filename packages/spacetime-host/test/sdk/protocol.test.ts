// The wire protocol under bad input, driven by a raw WebSocket client speaking BSATN frames:
// every bad frame gets a clear error or close, and the host keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import WebSocket from 'ws';
import type { RunningHost } from '../../src/index';
import { MAX_MESSAGE_BYTES } from '../../src/index';
import { decodeServerMessages, encodeClientMessage, type ClientMessage, type ServerMessage } from '../../src/server/wire';
import { fixture, withHost } from './helpers';

let host: RunningHost;
beforeAll(async () => {
  host = await withHost({ module: fixture('chat'), name: 'chat' });
});
afterAll(async () => host?.close());

interface RawClient {
  ws: WebSocket;
  protocol: string;
  next(): Promise<ServerMessage>;
  closed: Promise<{ code: number; reason: string }>;
  send(msg: ClientMessage | Uint8Array | string): void;
}

/** A frame's messages: v3 frames may carry several back to back. */
function decodeFrame(buf: Buffer, protocol: string): ServerMessage[] {
  const tag = buf[0];
  const body = buf.subarray(1);
  const payload = tag === 0 ? body : tag === 1 ? brotliDecompressSync(body) : gunzipSync(body);
  return decodeServerMessages(new Uint8Array(payload), protocol === 'v2.bsatn.spacetimedb' ? 'v2' : 'v3');
}

async function rawConnect(opts: { protocols?: string[]; query?: string; headers?: Record<string, string> } = {}): Promise<RawClient> {
  const url = `${host.url.replace('http', 'ws')}/v1/database/chat/subscribe${opts.query ?? '?compression=None'}`;
  const ws = new WebSocket(url, opts.protocols ?? ['v3.bsatn.spacetimedb', 'v2.bsatn.spacetimedb'], { headers: opts.headers });
  const queue: ServerMessage[] = [];
  const waiters: ((m: ServerMessage) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    for (const m of decodeFrame(data, ws.protocol)) {
      const w = waiters.shift();
      failures.shift();
      if (w) w(m);
      else queue.push(m);
    }
  });
  const failures: ((e: Error) => void)[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      // A test waiting for a reply fails at once instead of timing out.
      for (const fail of failures.splice(0)) fail(new Error(`socket closed (${code} ${reason})`));
      resolve({ code, reason: reason.toString() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
  return {
    ws,
    protocol: ws.protocol,
    closed,
    next: () =>
      queue.length
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve, reject) => {
            waiters.push(resolve);
            failures.push(reject);
          }),
    send: (msg) => ws.send(typeof msg === 'string' || msg instanceof Uint8Array ? msg : encodeClientMessage(msg)),
  };
}

async function expectRefused(p: Promise<unknown>, status: number, text: string | RegExp): Promise<void> {
  const err = (await p.then(
    () => undefined,
    (e) => e,
  )) as { status?: number; body?: string } | undefined;
  expect(err, 'the upgrade should have been refused').toBeDefined();
  expect(err!.status).toBe(status);
  expect(err!.body).toMatch(text);
}

describe('handshake', () => {
  it('negotiates v3 when offered, v2 otherwise, and sends InitialConnection first', async () => {
    const v3 = await rawConnect();
    expect(v3.protocol).toBe('v3.bsatn.spacetimedb');
    const first = await v3.next();
    expect(first.tag).toBe('InitialConnection');
    v3.ws.close();
    const v2 = await rawConnect({ protocols: ['v2.bsatn.spacetimedb'] });
    expect(v2.protocol).toBe('v2.bsatn.spacetimedb');
    expect((await v2.next()).tag).toBe('InitialConnection');
    v2.ws.close();
  });

  it('refuses an unknown protocol, an unknown database, a bad compression and bad tokens', async () => {
    await expectRefused(rawConnect({ protocols: ['v1.json.spacetimedb'] }), 400, 'no valid protocol selected');
    await expectRefused(rawConnect({ query: '?compression=Zstd' }), 400, /unknown compression/);
    await expectRefused(rawConnect({ query: '?token=not-a-jwt' }), 400, /malformed token/);
    const forged = `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: 'localhost', sub: 'x', iat: 1, aud: ['spacetimedb'] }),
    ).toString('base64url')}.${Buffer.alloc(64).toString('base64url')}`;
    await expectRefused(rawConnect({ query: `?token=${forged}` }), 401, /not signed by this instance/);
    await expectRefused(rawConnect({ query: '?connection_id=00000000000000000000000000000000' }), 400, /Invalid connection ID/);
    const ws = new WebSocket(`${host.url.replace('http', 'ws')}/v1/database/nope/subscribe`, ['v3.bsatn.spacetimedb']);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!)));
    expect(status).toBe(404);
  });
});

describe('bad frames close only the offending connection', () => {
  const cases: [string, (c: RawClient) => void][] = [
    ['a text frame', (c) => c.send('SELECT * FROM user')],
    ['garbage bytes', (c) => c.send(new Uint8Array([0xff, 1, 2, 3]))],
    ['an empty binary frame', (c) => c.send(new Uint8Array(0))],
    [
      'a truncated CallReducer',
      (c) =>
        c.send(
          encodeClientMessage({
            tag: 'CallReducer',
            value: { requestId: 1, flags: 0, reducer: 'send_message', args: new Uint8Array([1, 2, 3]) },
          }).subarray(0, 9),
        ),
    ],
  ];
  for (const [what, act] of cases) {
    it(`closes with 1011 on ${what}, others unaffected`, async () => {
      const bystander = await rawConnect();
      await bystander.next();
      const bad = await rawConnect();
      await bad.next();
      act(bad);
      const { code, reason } = await bad.closed;
      expect(code).toBe(1011);
      expect(reason.length).toBeGreaterThan(0);
      bystander.send({ tag: 'Subscribe', value: { requestId: 7, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM user'] } });
      expect((await bystander.next()).tag).toBe('SubscribeApplied');
      bystander.ws.close();
    });
  }

  it(`closes with 1009 on a frame over ${MAX_MESSAGE_BYTES} bytes`, async () => {
    const bad = await rawConnect();
    await bad.next();
    bad.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    expect((await bad.closed).code).toBe(1009);
  });
});

describe('bad requests get error replies', () => {
  it('answers unknown reducers, lifecycle reducers and wrong argument types with InternalError', async () => {
    const c = await rawConnect();
    await c.next();
    const call = (requestId: number, reducer: string, args: Uint8Array) =>
      c.send({ tag: 'CallReducer', value: { requestId, flags: 0, reducer, args } });
    call(1, 'no_such_thing', new Uint8Array(0));
    call(2, 'on_connect', new Uint8Array(0));
    call(3, 'send_message', new Uint8Array([5, 0, 0, 0, 0x61])); // string length 5, 1 byte
    call(4, 'send_message', new Uint8Array([1, 0, 0, 0, 0x61, 0x62])); // trailing byte
    const replies = [await c.next(), await c.next(), await c.next(), await c.next()];
    const texts = replies.map((r) => {
      expect(r.tag).toBe('ReducerResult');
      const res = (r as Extract<ServerMessage, { tag: 'ReducerResult' }>).value.result;
      expect(res.tag).toBe('InternalError');
      return res.value as string;
    });
    expect(texts[0]).toMatch(/no such reducer/);
    expect(texts[1]).toMatch(/lifecycle reducer/);
    expect(texts[2]).toMatch(/invalid arguments/);
    expect(texts[3]).toMatch(/trailing bytes/);
    c.ws.close();
  });

  it('answers unparsable SQL and duplicate query sets with SubscriptionError, then keeps working', async () => {
    const c = await rawConnect();
    await c.next();
    c.send({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELEKT * FROM user'] } });
    const err = await c.next();
    expect(err.tag).toBe('SubscriptionError');
    c.send({ tag: 'Subscribe', value: { requestId: 2, querySetId: { id: 2 }, queryStrings: ['SELECT * FROM nowhere'] } });
    expect(((await c.next()) as Extract<ServerMessage, { tag: 'SubscriptionError' }>).value.error).toMatch(/nowhere/);
    c.send({ tag: 'Subscribe', value: { requestId: 3, querySetId: { id: 3 }, queryStrings: ['SELECT * FROM user'] } });
    expect((await c.next()).tag).toBe('SubscribeApplied');
    c.send({ tag: 'Subscribe', value: { requestId: 4, querySetId: { id: 3 }, queryStrings: ['SELECT * FROM message'] } });
    expect(((await c.next()) as Extract<ServerMessage, { tag: 'SubscriptionError' }>).value.error).toMatch(/already subscribed/);
    c.send({ tag: 'Unsubscribe', value: { requestId: 5, querySetId: { id: 99 }, flags: { tag: 'SendDroppedRows' } } });
    expect((await c.next()).tag).toBe('SubscriptionError');
    c.ws.close();
  });

  it('v3 frames may carry several messages, answered in order', async () => {
    const c = await rawConnect();
    await c.next();
    const a = encodeClientMessage({
      tag: 'Subscribe',
      value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM user'] },
    });
    const b = encodeClientMessage({ tag: 'OneOffQuery', value: { requestId: 2, queryString: 'SELECT * FROM message' } });
    const frame = new Uint8Array(a.length + b.length);
    frame.set(a, 0);
    frame.set(b, a.length);
    c.send(frame);
    expect((await c.next()).tag).toBe('SubscribeApplied');
    expect((await c.next()).tag).toBe('OneOffQueryResult');
    c.ws.close();
  });

  it('compresses large payloads with the negotiated algorithm when compression is on', async () => {
    const plain = host;
    host = await withHost({ module: fixture('chat'), name: 'chat', compress: true });
    try {
      for (const compression of ['Gzip', 'Brotli'] as const) {
        const c = await rawConnect({ query: `?compression=${compression}` });
        await c.next();
        const frames: Buffer[] = [];
        c.ws.on('message', (d: Buffer) => frames.push(d));
        const long = 'x'.repeat(5000);
        c.send({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM message'] } });
        await c.next();
        c.send({
          tag: 'CallReducer',
          value: {
            requestId: 2,
            flags: 0,
            reducer: 'send_message',
            args: (() => {
              const b = Buffer.alloc(4 + long.length);
              b.writeUInt32LE(long.length, 0);
              b.write(long, 4);
              return new Uint8Array(b);
            })(),
          },
        });
        const result = await c.next();
        expect(result.tag).toBe('ReducerResult');
        expect(frames.at(-1)![0]).toBe(compression === 'Gzip' ? 2 : 1);
        c.ws.close();
      }
    } finally {
      await host.close();
      host = plain;
    }
  });

  it('sends uncompressed frames by default, whatever was negotiated', async () => {
    const c = await rawConnect({ query: '?compression=Gzip' });
    await c.next();
    const frames: Buffer[] = [];
    c.ws.on('message', (d: Buffer) => frames.push(d));
    c.send({ tag: 'OneOffQuery', value: { requestId: 1, queryString: 'SELECT * FROM message' } });
    await c.next();
    expect(frames[0]![0]).toBe(0);
    c.ws.close();
  });
});

describe('sending: one write per connection per turn, shared encodings', () => {
  const sendMessage = (text: string) => {
    const b = Buffer.alloc(4 + text.length);
    b.writeUInt32LE(text.length, 0);
    b.write(text, 4);
    return new Uint8Array(b);
  };
  const call = (requestId: number, text: string): ClientMessage => ({
    tag: 'CallReducer',
    value: { requestId, flags: 0, reducer: 'send_message', args: sendMessage(text) },
  });

  it('a v3 connection gets the replies of one turn in one frame; a v2 connection gets a frame per message', async () => {
    const queries = [1, 2, 3].map((requestId) => encodeClientMessage({ tag: 'OneOffQuery', value: { requestId, queryString: 'SELECT * FROM user' } }));
    for (const protocol of ['v3.bsatn.spacetimedb', 'v2.bsatn.spacetimedb']) {
      const c = await rawConnect({ protocols: [protocol] });
      await c.next();
      const frames: Buffer[] = [];
      c.ws.on('message', (d: Buffer) => frames.push(d));
      // v3: one client frame holding all three requests, handled in one event-loop turn.
      if (protocol.startsWith('v3')) c.ws.send(Buffer.concat(queries));
      else for (const q of queries) c.ws.send(q);
      const replies = [await c.next(), await c.next(), await c.next()];
      expect(replies.map((r) => (r as Extract<ServerMessage, { tag: 'OneOffQueryResult' }>).value.requestId)).toEqual([1, 2, 3]);
      expect(frames.length).toBe(protocol.startsWith('v3') ? 1 : 3);
      c.ws.close();
    }
  });

  it('subscribers of the same query get the same bytes; :sender queries get their own rows', async () => {
    const a = await rawConnect();
    const b = await rawConnect();
    for (const c of [a, b]) {
      await c.next(); // InitialConnection
      c.send({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 7 }, queryStrings: ['SELECT * FROM message', 'SELECT * FROM message WHERE sender = :sender'] } });
      expect((await c.next()).tag).toBe('SubscribeApplied');
    }
    const framesA: Buffer[] = [];
    const framesB: Buffer[] = [];
    a.ws.on('message', (d: Buffer) => framesA.push(d));
    b.ws.on('message', (d: Buffer) => framesB.push(d));
    const watcher = await rawConnect();
    await watcher.next();
    watcher.send({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 7 }, queryStrings: ['SELECT * FROM message'] } });
    expect((await watcher.next()).tag).toBe('SubscribeApplied');
    const watcherFrames: Buffer[] = [];
    watcher.ws.on('message', (d: Buffer) => watcherFrames.push(d));

    // a's message: a sees it twice (both queries match), b only through the unfiltered query.
    a.send(call(2, 'from a'));
    const resultA = (await a.next()) as Extract<ServerMessage, { tag: 'ReducerResult' }>;
    expect(resultA.value.result.tag).toBe('Ok');
    const updB = (await b.next()) as Extract<ServerMessage, { tag: 'TransactionUpdate' }>;
    expect(updB.tag).toBe('TransactionUpdate');
    const rowsOf = (u: { querySets: { tables: { rows: unknown[] }[] }[] }) => u.querySets.flatMap((s) => s.tables.flatMap((t) => t.rows)).length;
    expect(rowsOf(updB.value)).toBe(1);
    const okA = resultA.value.result as Extract<typeof resultA.value.result, { tag: 'Ok' }>;
    expect(rowsOf(okA.value.transactionUpdate)).toBe(2);
    // b's message reaches a and the watcher through the same query text; their frames are equal.
    b.send(call(2, 'from b'));
    expect((await b.next()).tag).toBe('ReducerResult');
    const updA = (await a.next()) as Extract<ServerMessage, { tag: 'TransactionUpdate' }>;
    expect(rowsOf(updA.value)).toBe(1);
    const updW = (await watcher.next()) as Extract<ServerMessage, { tag: 'TransactionUpdate' }>;
    expect(rowsOf(updW.value)).toBe(1);
    expect(Buffer.compare(framesA.at(-1)!, watcherFrames.at(-1)!)).toBe(0);
    for (const c of [a, b, watcher]) c.ws.close();
  });
});
