// Client mistakes at control — malformed JSON, bodies that are not UTF-8, bad percent-escapes,
// oversized and chunked-oversized bodies, wrong content types — each get a 4xx with a code and a
// message, and none is logged at error level or with a stack.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginResponse } from '../src/index';
import { JSON_TYPE, login, newUser, nip98Header, startTestService, type TestService } from './helpers';

const lines: string[] = [];
let service: TestService;
let bearer: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  service = await startTestService({ logger: pino({ level: 'trace' }, sink) });
  bearer = ((await (await login(service, newUser())).json()) as LoginResponse).token;
});
afterAll(async () => {
  await service.control.close();
});

/** A login whose NIP-98 event is correctly signed over exactly these bytes, so only the body is wrong. */
function signedLogin(body: Uint8Array | string, contentType: string | null = 'application/json'): Promise<Response> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const event = nip98Header(newUser(), { url: service.tokenUrl, payloadBytes: bytes, createdAt: service.clock.seconds() });
  return fetch(service.tokenUrl, {
    method: 'POST',
    headers: { Authorization: event, ...(contentType === null ? {} : { 'Content-Type': contentType }) },
    body: bytes,
  });
}

function revoke(body: string | undefined, headers: Record<string, string> = JSON_TYPE): Promise<Response> {
  return fetch(`${service.control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${bearer}`, ...headers }, body });
}

describe('client mistakes', () => {
  it.each<[string, () => Promise<Response>, number, string]>([
    ['malformed JSON login', () => signedLogin('{"device_id": '), 400, 'bad_request'],
    ['login body that is not UTF-8', () => signedLogin(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), 400, 'bad_request'],
    ['login body of the wrong type', () => signedLogin('["device_id"]'), 400, 'bad_request'],
    ['login sent as text/plain', () => signedLogin(JSON.stringify({ device_id: 'd' }), 'text/plain'), 415, 'unsupported_media_type'],
    ['login sent as a form', () => signedLogin('device_id=d', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
    ['login without a content type', () => signedLogin(JSON.stringify({ device_id: 'd' }), null), 415, 'unsupported_media_type'],
    ['oversized login body', () => signedLogin(JSON.stringify({ device_id: 'd', pad: 'x'.repeat(20_000) })), 413, 'payload_too_large'],
    [
      'oversized chunked login body (no Content-Length)',
      () =>
        fetch(service.tokenUrl, {
          method: 'POST',
          headers: JSON_TYPE,
          body: new ReadableStream({
            start(controller) {
              for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
              controller.close();
            },
          }),
          duplex: 'half',
        } as RequestInit),
      413,
      'payload_too_large',
    ],
    ['malformed JSON revoke', () => revoke('{"all": '), 400, 'bad_request'],
    ['revoke naming both all and a device', () => revoke(JSON.stringify({ all: true, device_id: 'd' })), 400, 'bad_request'],
    ['revoke with all: false', () => revoke(JSON.stringify({ all: false })), 400, 'bad_request'],
    ['revoke sent as text/plain', () => revoke(JSON.stringify({ all: true }), { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type'],
    ['oversized revoke body', () => revoke(JSON.stringify({ device_id: 'x'.repeat(10_000) })), 413, 'payload_too_large'],
    ['bad percent-escape in a path', () => fetch(`${service.control.url}/v1/%zz`), 404, 'not_found'],
    ['truncated UTF-8 escape in a POST path', () => fetch(`${service.control.url}/v1/auth/%E0%A4%A`, { method: 'POST' }), 404, 'not_found'],
    ['lone % in a path', () => fetch(`${service.control.url}/.well-known/%`), 404, 'not_found'],
    ['bad percent-escape in the login query', () => fetch(`${service.tokenUrl}?x=%zz`, { method: 'POST', headers: JSON_TYPE, body: '{}' }), 401, 'missing_authorization'],
    ['GET of the login route', () => fetch(service.tokenUrl), 404, 'not_found'],
  ])('%s', async (_name, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
  });

  it('logs none of them at error level or with a stack', () => {
    const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(records.filter((record) => record.msg === 'request').length).toBeGreaterThanOrEqual(18);
    expect(records.filter((record) => record.level >= 50)).toEqual([]);
    expect(lines.join('')).not.toMatch(/stack|\n\s+at /);
  });
});
