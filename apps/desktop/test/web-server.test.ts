// The web-mode server with a real core (signed out, no world): what it serves and whom it lets in.
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AppCore } from '../src/core/app-core';
import { LocalKeySecretBox } from '../src/core/secrets';
import { startWebServer, type RunningWebServer } from '../src/web/server';
import { tempDir } from './helpers';

let server: RunningWebServer;
let core: AppCore;
let cleanup: () => Promise<void>;
/** Every log record the core and the server wrote, parsed. */
const logs: Array<Record<string, unknown>> = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

beforeAll(async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  const staticDir = join(temp.dir, 'static');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<html><head><script type="module" src="./assets/app.js"></script></head><body></body></html>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(temp.dir, 'secret.txt'), 'outside the static folder');
  const profileDir = join(temp.dir, 'profile');
  core = await AppCore.open({ profileDir, secretBox: await LocalKeySecretBox.open(profileDir), mode: 'web', logger: pino({ level: 'debug' }, logSink) });
  server = await startWebServer({ core, staticDir });
});

afterAll(async () => {
  await server.close();
  await core.close();
  await cleanup();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.origin}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One raw HTTP exchange, for request lines no client library would send; resolves with the status line. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(server.port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (d) => (answer += String(d)));
    socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

/** Opens a bridge socket; `headers` replace the default Origin header (pass {} to send none). */
function connect(protocols: string[], origin = server.origin, headers: Record<string, string> = { origin }): Promise<{ ws?: WebSocket; status?: number; messages: any[] }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/bridge`, protocols, { headers });
    // Listen from the start: the server sends the whole state as soon as the socket opens.
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.on('open', () => resolve({ ws, messages }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode, messages }));
  });
}

describe('web-mode server', () => {
  it('binds loopback and puts the token only in the URL fragment', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(`${server.origin}/#token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves the renderer with a strict CSP and the bridge shim before the app script', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${server.origin.replace('http', 'ws')}`);
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(page.body.indexOf('/web-bridge.js')).toBeLessThan(page.body.indexOf('./assets/app.js'));
    expect((await get('/assets/app.js')).headers['content-type']).toContain('text/javascript');
  });

  it('serves nothing outside its folder and only to its own Host', async () => {
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e%2fsecret.txt')).status).toBe(404);
    expect((await get('/assets/%2e%2e/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/', { host: 'evil.example' })).status).toBe(421);
  });

  it('refuses bridge sockets without the token, with a wrong token, or from another origin', async () => {
    expect((await connect(['autopilot-bridge'])).status).toBe(401);
    expect((await connect(['autopilot-bridge', `token.${'0'.repeat(64)}`])).status).toBe(401);
    expect((await connect(['autopilot-bridge', `token.${server.token}`], 'http://evil.example')).status).toBe(403);
    expect((await connect(['autopilot-bridge', `token.${server.token}`], 'null')).status).toBe(403);
  });

  it('refuses a bridge socket with a valid token but no Origin header', async () => {
    // Browsers always send Origin on WebSocket upgrades; a client that leaves it out is not our page.
    const attempt = await connect(['autopilot-bridge', `token.${server.token}`], server.origin, {});
    attempt.ws?.close();
    expect(attempt.status).toBe(403);
  });

  it('refuses a bridge socket addressed to another Host (DNS rebinding)', async () => {
    const attempt = await connect(['autopilot-bridge', `token.${server.token}`], server.origin, { origin: server.origin, host: 'evil.example' });
    attempt.ws?.close();
    expect(attempt.status).toBe(421);
  });

  it('answers malformed request URLs with 400 and logs them below error level, without a stack', async () => {
    const host = `127.0.0.1:${server.port}`;
    const malformed = await get('/%E0%A4%A');
    expect(malformed).toMatchObject({ status: 400, body: expect.stringContaining('malformed') });
    expect((await get('/assets/%zz.js')).status).toBe(400);
    expect(await raw(`GET // HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).toBe('HTTP/1.1 400 Bad Request');
    const upgrade = `Host: ${host}\r\nOrigin: ${server.origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: autopilot-bridge, token.${server.token}\r\n\r\n`;
    expect(await raw(`GET // HTTP/1.1\r\n${upgrade}`)).toBe('HTTP/1.1 400 Bad Request');
    // The server is still up and serving.
    expect((await get('/')).status).toBe(200);
    const serious = logs.filter((record) => Number(record.level) >= 50 || 'stack' in record || JSON.stringify(record).includes('    at '));
    expect(serious).toEqual([]);
    expect(logs.some((record) => String(record.msg).includes('malformed'))).toBe(true);
  });

  it('carries calls and the initial state for a page holding the token', async () => {
    const { ws, messages } = await connect(['autopilot-bridge', `token.${server.token}`]);
    expect(ws).toBeDefined();
    ws!.send(JSON.stringify({ id: 1, call: 'app.getState', params: {} }));
    ws!.send(JSON.stringify({ id: 2, call: 'messages.send', params: { channelId: 'x', text: '' } }));
    ws!.send(JSON.stringify({ id: 3, call: 'messages.send', params: { channelId: '1', text: 'hi' } }));
    await new Promise((r) => setTimeout(r, 300));
    expect(messages.filter((m) => m.type === 'state').map((m) => m.push.slice)).toContain('connection');
    const results = new Map(messages.filter((m) => m.type === 'result').map((m) => [m.id, m.result]));
    expect(results.get(1)).toMatchObject({ ok: true, value: { mode: 'web', connection: { status: 'signed_out' } } });
    expect(results.get(2)).toMatchObject({ ok: false, code: 'invalid_params' });
    expect(results.get(3)).toMatchObject({ ok: false, code: 'not_signed_in' });
    ws!.close();
  });

  it('closes a socket that sends a malformed frame', async () => {
    const { ws } = await connect(['autopilot-bridge', `token.${server.token}`]);
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
    ws!.send('{"id":"not a number"}');
    expect(await closed).toBe(1008);
  });
});
