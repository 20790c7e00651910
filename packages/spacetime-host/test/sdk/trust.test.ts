// The host's trust boundaries under attack (issue 14), each through real HTTP, real sockets or the
// real SDK against the real host: token renewal cannot extend a token, tokens from the future are
// refused, an anonymous flood cannot lock out authenticated users, malformed paths and oversized
// bodies are the client's 4xx, and an issuer that merely starts like a trusted one is never fetched.
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { DbConnection } from '../fixtures/chat/module_bindings/index';
import { startHost, type RunningHost } from '../../src/index';
import { AuthReason, CLOCK_SKEW_SECONDS } from '../../src/auth/index';
import { encodeClientMessage } from '../../src/server/wire';
import { LocalOidcIssuer, makeIssuerKey, type IssuerSigningKey } from '../auth/local-oidc-issuer';
import { connectSdk, fixture, until, withHost } from './helpers';

let issuer: LocalOidcIssuer;
let key: IssuerSigningKey;
beforeAll(async () => {
  issuer = await LocalOidcIssuer.start();
  key = await makeIssuerKey('ES256', 'k1');
  issuer.published = [key];
});
afterAll(async () => issuer?.close());

const hosts: RunningHost[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const h of hosts.splice(0)) await h.close();
});

/** A host of the chat fixture trusting the local issuer; `clock` (ms) drives its token checks. */
async function chatHost(extra: Partial<Parameters<typeof withHost>[0]> = {}): Promise<RunningHost> {
  const h = await withHost({ module: fixture('chat'), name: 'chat', trustedIssuers: [issuer.url], ...extra });
  hosts.push(h);
  return h;
}

const nowS = () => Math.floor(Date.now() / 1000);
/** A token from the trusted issuer; `claims` override the defaults (iat now, one subject). */
const issuerToken = (claims: Record<string, unknown> = {}) => issuer.sign(key, { sub: 'user-1', iat: nowS(), ...claims });

async function renew(h: RunningHost, token: string): Promise<{ status: number; text: string; token?: string }> {
  const res = await fetch(`${h.url}/v1/identity/websocket-token`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, text, token: res.ok ? (JSON.parse(text) as { token: string }).token : undefined };
}

type Upgrade = { ok: true; ws: WebSocket } | { ok: false; status: number; body: string };

/** A raw WebSocket upgrade: the open socket, or the refusal's status and body. */
function upgrade(h: RunningHost, opts: { token?: string; path?: string; localAddress?: string } = {}): Promise<Upgrade> {
  const query = opts.token ? `?compression=None&token=${opts.token}` : '?compression=None';
  const url = `${h.url.replace('http', 'ws')}${opts.path ?? '/v1/database/chat/subscribe'}${query}`;
  const ws = new WebSocket(url, ['v3.bsatn.spacetimedb'], { localAddress: opts.localAddress });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      sockets.push(ws);
      resolve({ ok: true, ws });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ ok: false, status: res.statusCode!, body }));
    });
    ws.once('error', reject);
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function callSendMessage(h: RunningHost, token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${h.url}/v1/database/chat/call/send_message`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(['hello']),
  });
  return { status: res.status, text: await res.text() };
}

describe('websocket-token renewal never extends a token', () => {
  it('chained renewals keep the original exp, and stop once it has passed', async () => {
    const clock = { ms: Date.now() };
    const h = await chatHost({ tokenClock: () => clock.ms });
    const t0 = Math.floor(clock.ms / 1000);
    const original = await issuerToken({ iat: t0, exp: t0 + 20 });

    let token = original;
    for (let i = 0; i < 3; i++) {
      clock.ms += 5_000;
      const r = await renew(h, token);
      expect(r.status, r.text).toBe(200);
      expect(decodeJwt(r.token!).exp, `renewal ${i + 1}`).toBeLessThanOrEqual(t0 + 20);
      token = r.token!;
    }
    // The renewed token still opens a connection for the same user (renewal works, it just cannot extend).
    const { conn, identity } = await connectSdk(DbConnection, h.url, 'chat', { token: original });
    expect(identity.toHexString()).toBe(decodeJwt(token).hex_identity);
    conn.disconnect();

    clock.ms = (t0 + 21) * 1000; // the original has expired: neither it nor any renewal renews again
    for (const t of [original, token]) {
      const r = await renew(h, t);
      expect(r.status).toBe(401);
      expect(r.text).toBe(AuthReason.expired);
    }
  });

  it('refuses to renew a token that expired a moment ago (no leeway past exp for renewal)', async () => {
    const h = await chatHost();
    const justExpired = await issuerToken({ iat: nowS() - 600, exp: nowS() - 2 });
    const r = await renew(h, justExpired);
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/expired/);
  });

  it('a host-minted anonymous token renews to at most 60 s, and its renewals cannot go further', async () => {
    const clock = { ms: Date.now() };
    const h = await chatHost({ tokenClock: () => clock.ms });
    const { token: anon } = (await (await fetch(`${h.url}/v1/identity`, { method: 'POST' })).json()) as { token: string };
    const first = await renew(h, anon);
    const firstExp = decodeJwt(first.token!).exp!;
    clock.ms += 50_000;
    const second = await renew(h, first.token!);
    expect(decodeJwt(second.token!).exp).toBeLessThanOrEqual(firstExp);
  });
});

describe('tokens from the future are refused', () => {
  const skew = CLOCK_SKEW_SECONDS;
  it.each([
    ['iat', () => ({ iat: nowS() + skew + 5 })],
    ['nbf', () => ({ iat: nowS(), nbf: nowS() + skew + 5 })],
  ])('%s beyond the clock skew: websocket-token, connect and HTTP calls answer 401', async (_claim, claims) => {
    const h = await chatHost();
    const future = await issuerToken(claims());

    const renewed = await renew(h, future);
    expect(renewed.status).toBe(401);
    expect(renewed.text).toBe(AuthReason.notYetValid);

    const socket = await upgrade(h, { token: future });
    expect(socket).toMatchObject({ ok: false, status: 401, body: AuthReason.notYetValid });

    const call = await callSendMessage(h, future);
    expect(call).toEqual({ status: 401, text: AuthReason.notYetValid });
    expect(h.module.datastore.tableByName('message')!.rows.size).toBe(0);
  });

  it('accepts iat and nbf within the clock skew', async () => {
    const h = await chatHost();
    const nearFuture = await issuerToken({ iat: nowS() + skew - 10, nbf: nowS() + skew - 10 });
    expect((await renew(h, nearFuture)).status).toBe(200);
    expect((await callSendMessage(h, nearFuture)).status).toBe(200);
  });
});

describe('an anonymous flood cannot lock out authenticated users', () => {
  const limits = { maxConnections: 10, maxConnectionsPerAddress: 7, maxAnonymousConnections: 3, anonymousDeadlineMs: 60_000 };

  it('caps anonymous sockets (with or without a host-minted token); a trusted user and the owner still get in', async () => {
    const h = await chatHost({ limits });
    // Concurrent upgrades: the cap holds even though each waits on its token check.
    const flood = await Promise.all(Array.from({ length: 6 }, () => upgrade(h)));
    expect(flood.filter((u) => u.ok)).toHaveLength(3);
    for (const u of flood.filter((x) => !x.ok)) expect(u).toMatchObject({ ok: false, status: 503, body: expect.stringMatching(/anonymous connection limit reached \(3\)/) });

    // A token anyone can mint at POST /v1/identity is still anonymous.
    const { token: minted } = (await (await fetch(`${h.url}/v1/identity`, { method: 'POST' })).json()) as { token: string };
    expect(await upgrade(h, { token: minted })).toMatchObject({ ok: false, status: 503 });

    const user = await connectSdk(DbConnection, h.url, 'chat', { token: await issuerToken() });
    const owner = await connectSdk(DbConnection, h.url, 'chat', { token: h.ownerToken });
    await user.conn.reducers.sendMessage({ text: 'still served' });
    user.conn.disconnect();
    owner.conn.disconnect();

    // A slot comes back when an anonymous socket leaves, and refused upgrades took none.
    const leaving = flood.find((u) => u.ok)!;
    if (leaving.ok) leaving.ws.close();
    await until(() => h.module.connectedClients().length === 2, 'the anonymous socket is dropped');
    for (let i = 0; i < 5; i++) expect(await upgrade(h, { token: 'not-a-jwt' })).toMatchObject({ ok: false, status: 400 });
    expect(await upgrade(h)).toMatchObject({ ok: true });
    expect(await upgrade(h)).toMatchObject({ ok: false, status: 503 });
  });

  it('limits connections per remote address, leaving room for other addresses', async () => {
    const h = await chatHost({ limits: { ...limits, maxConnectionsPerAddress: 2, maxAnonymousConnections: 8 } });
    expect(await upgrade(h, { localAddress: '127.0.0.2' })).toMatchObject({ ok: true });
    expect(await upgrade(h, { localAddress: '127.0.0.2' })).toMatchObject({ ok: true });
    const third = await upgrade(h, { localAddress: '127.0.0.2' });
    expect(third).toMatchObject({ ok: false, status: 429, body: expect.stringMatching(/too many connections from this address/) });
    // Authenticated or not, a third socket from that address waits for one to close; others are served.
    expect(await upgrade(h, { localAddress: '127.0.0.2', token: await issuerToken() })).toMatchObject({ ok: false, status: 429 });
    expect(await upgrade(h, { localAddress: '127.0.0.3' })).toMatchObject({ ok: true });
  });

  it('closes an anonymous socket that only answers pings after the deadline; active and authenticated ones stay', async () => {
    const h = await chatHost({ limits: { ...limits, anonymousDeadlineMs: 300 } });
    const idle = await upgrade(h);
    const active = await upgrade(h);
    const authenticated = await upgrade(h, { token: await issuerToken() });
    if (!idle.ok || !active.ok || !authenticated.ok) throw new Error('upgrades should succeed');
    active.ws.send(encodeClientMessage({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM message'] } }));
    const pinging = setInterval(() => idle.ws.ping(), 50); // keepalive traffic is not activity
    try {
      const closed = await closeOf(idle.ws);
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/anonymous connection sent nothing within 300 ms/);
    } finally {
      clearInterval(pinging);
    }
    await until(() => h.module.connectedClients().length === 2, 'the idle socket is dropped');
    await new Promise((r) => setTimeout(r, 600)); // two more deadlines
    expect(active.ws.readyState).toBe(WebSocket.OPEN);
    expect(authenticated.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('client mistakes in paths and bodies are 4xx, logged below error level without a stack', () => {
  let h: RunningHost;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    h = await startHost({ module: fixture('chat'), name: 'chat', port: 0, logger: pino({ level: 'debug' }, sink) });
  });
  afterAll(async () => h?.close());

  /** A raw HTTP request: fetch would normalise the path, and we want the bytes as an attacker sends them. */
  function raw(method: string, path: string, opts: { body?: Buffer; headers?: Record<string, string | number> } = {}): Promise<{ status: number; text: string }> {
    const { port } = new URL(h.url);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  it('answers malformed percent-escapes in database, reducer and upgrade paths with 400', async () => {
    const cases: [string, string][] = [
      ['POST', '/v1/database/%E0%A4%A/sql'],
      ['POST', '/v1/database/chat/call/%ZZ'],
      ['POST', '/v1/database/chat/call/send_message%E0'],
      ['GET', '/v1/database/%ZZ'],
      ['GET', '/v1/database/%ZZ/schema'],
    ];
    for (const [method, path] of cases) {
      const r = await raw(method, path, method === 'POST' ? { body: Buffer.from('[]') } : {});
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.text, `${method} ${path}`).toMatch(/malformed percent-escape in the request path/);
    }
    expect(await upgrade(h, { path: '/v1/database/%ZZ/subscribe' })).toMatchObject({ ok: false, status: 400, body: expect.stringMatching(/malformed percent-escape/) });
    expect((await raw('GET', '/v1/database/chat')).status).toBe(200);
  });

  it('answers an oversized /sql body with 413, streamed or declared, and an oversized call with 413', async () => {
    const big = Buffer.alloc((1 << 20) + 1, 0x20);
    const streamed = await raw('POST', '/v1/database/chat/sql', { body: big, headers: { 'transfer-encoding': 'chunked' } });
    expect(streamed.status).toBe(413);
    expect(streamed.text).toMatch(/request body exceeds 1048576 bytes/);
    const declared = await raw('POST', '/v1/database/chat/sql', { body: big });
    expect(declared.status).toBe(413);
    // A call body over 32 MiB is refused from its declared length, before any of it is read.
    const call = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: new URL(h.url).port, method: 'POST', path: '/v1/database/chat/call/send_message', headers: { 'content-length': 32 * 1024 * 1024 + 1 } },
        (res) => resolve(res.statusCode!),
      );
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(call).toBe(413);
    expect((await raw('POST', '/v1/database/chat/sql', { body: Buffer.from('SELECT * FROM message') })).status).toBe(200);
  });

  it('logged none of it at error level, and no stack', () => {
    const refusals = logs.filter((l) => l.msg === 'request refused' || l.msg === 'upgrade refused');
    expect(refusals.length).toBeGreaterThanOrEqual(8);
    expect(refusals.every((l) => (l.level as number) < 50)).toBe(true);
    expect(logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(JSON.stringify(logs)).not.toMatch(/"stack"/);
  });
});

describe('an issuer that merely starts like a trusted one', () => {
  it('is refused on every path before any request to it is made', async () => {
    const trusted = `${issuer.url}/tenant`;
    const h = await chatHost({ trustedIssuers: [trusted, 'https://trusted.example'] });
    const lookalikes = [`${trusted}-evil`, `${trusted}.evil`, `${trusted}/sub`, `${trusted}x`, `${issuer.url}/tenan`, 'https://trusted.example.evil.net'];
    const before = issuer.requests;
    for (const iss of lookalikes) {
      const token = await issuerToken({ iss });
      expect(await renew(h, token), iss).toMatchObject({ status: 401, text: AuthReason.untrustedIssuer });
      expect(await callSendMessage(h, token), iss).toEqual({ status: 401, text: AuthReason.untrustedIssuer });
      expect(await upgrade(h, { token }), iss).toMatchObject({ ok: false, status: 401, body: AuthReason.untrustedIssuer });
    }
    expect(issuer.requests - before).toBe(0);

    // The counter does see a request when the issuer is the trusted one (its discovery is fetched).
    await renew(h, await issuerToken({ iss: trusted }));
    expect(issuer.requests - before).toBeGreaterThan(0);
  });
});
