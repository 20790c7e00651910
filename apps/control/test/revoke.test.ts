// Revocation that reaches the worlds: POST /v1/auth/revoke (own session, all sessions, one device)
// marks sessions revoked at control and is delivered to every configured world as a call of
// revoke_sessions with control's service token — retried with backoff against a world that fails,
// and still delivered after control restarts. The world here is a local HTTP server that records
// each call; the real host and module are exercised in the embedded-world tests.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spacetimeIdentityHex, type LoginResponse } from '../src/index';
import { MAX_SESSION_IDS_PER_CALL, RevocationDelivery } from '../src/revocations';
import { FakeClock, JSON_TYPE, ManualTimers, errorCodeOf, login, newUser, silentLogger, startTestService, type NostrUser, type TestService } from './helpers';

interface RecordedCall {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  args: unknown;
}

/** A stand-in world: records every call and answers 503 to the first `failFirst` of them. */
async function startRecordingWorld(failFirst = 0): Promise<{ url: string; calls: RecordedCall[]; setFailures(n: number): void; close(): Promise<void> }> {
  const calls: RecordedCall[] = [];
  let failures = failFirst;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      calls.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        args: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end('world is restarting');
      } else {
        res.writeHead(200).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    setFailures: (n) => {
      failures = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function loginAs(service: TestService, user: NostrUser, deviceId: string): Promise<LoginResponse> {
  const response = await login(service, user, { device_id: deviceId });
  expect(response.status).toBe(200);
  service.clock.advanceSeconds(1);
  return (await response.json()) as LoginResponse;
}

function revoke(service: TestService, token: string, body?: object): Promise<Response> {
  return fetch(`${service.control.url}/v1/auth/revoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, ...(body ? JSON_TYPE : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

function policy(service: TestService, token: string): Promise<Response> {
  return fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${token}` } });
}

describe('revoke at control', () => {
  let world: Awaited<ReturnType<typeof startRecordingWorld>>;
  let service: TestService;
  let timers: ManualTimers;
  beforeEach(async () => {
    world = await startRecordingWorld();
    const clock = new FakeClock();
    timers = new ManualTimers(clock);
    service = await startTestService({ clock, timers, config: { worlds: [{ httpUrl: world.url, database: 'w1' }] } });
  });
  afterEach(async () => {
    await service.control.close();
    await world.close();
  });

  it('revokes the bearer’s own session and tells the world, with a service token and the reducer’s JSON args', async () => {
    const user = newUser();
    const kept = await loginAs(service, user, 'laptop');
    const ended = await loginAs(service, user, 'phone');
    expect((await revoke(service, ended.token)).status).toBe(204);
    await service.control.revocations.idle();

    expect(world.calls).toHaveLength(1);
    const [call] = world.calls;
    expect(call?.path).toBe('/v1/database/w1/call/revoke_sessions');
    expect(call?.contentType).toBe('application/json');
    expect(call?.args).toEqual([[ended.session_id], user.pubkey, '', 0]);
    expect(service.control.revocations.stats()).toEqual({ pending: 0, delivered: 1, failedAttempts: 0 });

    // The service token: control itself, world:revoke only, no user, short-lived, signed by the published key.
    const serviceToken = call?.authorization?.replace(/^Bearer /, '') ?? '';
    const { payload } = await jwtVerify(serviceToken, createRemoteJWKSet(new URL(`${service.control.url}/.well-known/jwks.json`)), {
      issuer: service.control.issuer,
      currentDate: new Date(service.clock.now()),
    });
    expect(payload.sub).toMatch(/^control:[A-Za-z0-9_-]{43}$/);
    expect(payload.scopes).toEqual(['world:revoke']);
    expect(payload.nostr_pubkey).toBeUndefined();
    expect(payload.session_id).toBeUndefined();
    expect(payload.hex_identity).toBe(spacetimeIdentityHex(service.control.issuer, payload.sub as string));
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(60);

    expect(await errorCodeOf(await policy(service, ended.token))).toBe('session_revoked');
    expect((await policy(service, kept.token)).status).toBe(200);
    // Refreshing the revoked session is refused; the other session refreshes.
    const refresh = await login(service, user, { device_id: 'phone', session_id: ended.session_id });
    expect(await errorCodeOf(refresh)).toBe('session_revoked');
    service.clock.advanceSeconds(1);
    expect((await login(service, user, { device_id: 'laptop', session_id: kept.session_id })).status).toBe(200);

    // Revoking an already revoked session again is accepted and tells nobody twice.
    expect((await revoke(service, ended.token)).status).toBe(204);
    await service.control.revocations.idle();
    expect(world.calls).toHaveLength(1);
  });

  it('{ all: true } revokes every session of the pubkey, with a watermark, and nobody else’s', async () => {
    const user = newUser();
    const other = newUser();
    const a = await loginAs(service, user, 'laptop');
    const b = await loginAs(service, user, 'phone');
    const stranger = await loginAs(service, other, 'laptop');
    const at = service.clock.seconds();
    expect((await revoke(service, a.token, { all: true })).status).toBe(204);
    await service.control.revocations.idle();

    expect(world.calls.map((call) => call.args)).toEqual([[[a.session_id, b.session_id].sort(), user.pubkey, '', at * 1_000_000]]);
    for (const token of [a.token, b.token]) expect(await errorCodeOf(await policy(service, token))).toBe('session_revoked');
    expect((await policy(service, stranger.token)).status).toBe(200);
    // A token of a revoked session cannot widen the damage: all / device need a live session.
    expect(await errorCodeOf(await revoke(service, b.token, { all: true }))).toBe('session_revoked');
    // Logging in again right away works (the watermark is the start of the revoking second).
    expect((await login(service, user, { device_id: 'laptop' })).status).toBe(200);
  });

  it('{ device_id } revokes that device’s sessions of the bearer’s pubkey only', async () => {
    const user = newUser();
    const other = newUser();
    const laptop = await loginAs(service, user, 'laptop');
    const phone = await loginAs(service, user, 'phone');
    const othersPhone = await loginAs(service, other, 'phone');
    const at = service.clock.seconds();
    expect((await revoke(service, laptop.token, { device_id: 'phone' })).status).toBe(204);
    await service.control.revocations.idle();

    expect(world.calls.map((call) => call.args)).toEqual([[[phone.session_id], user.pubkey, 'phone', at * 1_000_000]]);
    expect(await errorCodeOf(await policy(service, phone.token))).toBe('session_revoked');
    expect((await policy(service, laptop.token)).status).toBe(200);
    expect((await policy(service, othersPhone.token)).status).toBe(200);
  });

  it('refuses a service token as a bearer (it names no user or session)', async () => {
    const user = newUser();
    const session = await loginAs(service, user, 'laptop');
    await revoke(service, session.token);
    await service.control.revocations.idle();
    const serviceToken = world.calls[0]?.authorization?.replace(/^Bearer /, '') ?? '';
    expect(decodeJwt(serviceToken).scopes).toEqual(['world:revoke']);
    for (const response of [await revoke(service, serviceToken, { all: true }), await policy(service, serviceToken)]) {
      expect(response.status).toBe(401);
      expect(await errorCodeOf(response)).toBe('invalid_token');
    }
  });

  it('retries with exponential backoff until the world accepts, counting failures', async () => {
    world.setFailures(3);
    const session = await loginAs(service, newUser(), 'laptop');
    await revoke(service, session.token);
    await service.control.revocations.idle();
    expect(world.calls).toHaveLength(1);
    expect(service.control.revocations.stats()).toEqual({ pending: 1, delivered: 0, failedAttempts: 1 });

    const delays: number[] = [];
    while (service.control.revocations.stats().pending > 0) {
      const delay = timers.nextDelayMs();
      expect(delay, 'a retry must be armed while a delivery is pending').toBeDefined();
      delays.push(delay as number);
      // Nothing is sent before the delay is over.
      service.clock.advanceSeconds((delay as number) / 1000 - 0.001);
      timers.runDue();
      await service.control.revocations.idle();
      expect(world.calls).toHaveLength(delays.length);
      service.clock.advanceSeconds(0.001);
      timers.runDue();
      await service.control.revocations.idle();
    }
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(world.calls).toHaveLength(4);
    expect(new Set(world.calls.map((call) => JSON.stringify(call.args))).size).toBe(1);
    expect(service.control.revocations.stats()).toEqual({ pending: 0, delivered: 1, failedAttempts: 3 });
    expect(timers.nextDelayMs()).toBeUndefined();
  });

  it('tells every configured world, and worlds added at run time', async () => {
    const second = await startRecordingWorld();
    try {
      service.control.addWorld({ httpUrl: `${second.url}/`, database: 'w 2' });
      const session = await loginAs(service, newUser(), 'laptop');
      await revoke(service, session.token);
      await service.control.revocations.idle();
      expect(world.calls).toHaveLength(1);
      expect(second.calls.map((call) => call.path)).toEqual(['/v1/database/w%202/call/revoke_sessions']);
    } finally {
      await second.close();
    }
  });
});

describe('revocation delivery across a restart of control', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'control-revoke-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers a revocation queued before the restart', async () => {
    const world = await startRecordingWorld(1_000);
    try {
      const clock = new FakeClock();
      const config = { worlds: [{ httpUrl: world.url, database: 'w1' }] };
      const first = await startTestService({ dataDir, clock, timers: new ManualTimers(clock), config });
      const session = await loginAs(first, newUser(), 'laptop');
      await revoke(first, session.token);
      await first.control.revocations.idle();
      expect(first.control.revocations.stats()).toMatchObject({ pending: 1, failedAttempts: 1 });
      await first.control.close();

      world.setFailures(0);
      clock.advanceSeconds(3600);
      const second = await startTestService({ dataDir, clock, timers: new ManualTimers(clock), config, logger: silentLogger });
      try {
        await second.control.revocations.idle();
        expect(second.control.revocations.stats()).toEqual({ pending: 0, delivered: 1, failedAttempts: 0 });
        expect(world.calls).toHaveLength(2);
        expect(world.calls[1]?.args).toEqual(world.calls[0]?.args);
      } finally {
        await second.control.close();
      }
      // Delivered means forgotten: a third start sends nothing.
      const third = await startTestService({ dataDir, clock, timers: new ManualTimers(clock), config });
      await third.control.revocations.idle();
      await third.control.close();
      expect(world.calls).toHaveLength(2);
    } finally {
      await world.close();
    }
  });
});

describe('long revocations', () => {
  it('splits more session ids than the world takes per call into several calls, each with the watermark', async () => {
    const world = await startRecordingWorld();
    const clock = new FakeClock();
    const delivery = await RevocationDelivery.open({
      serviceToken: async () => 'service-token',
      nowMs: clock.now,
      timers: new ManualTimers(clock),
      retry: { initialMs: 1000, maxMs: 1000 },
      logger: silentLogger,
    });
    try {
      const ids = Array.from({ length: MAX_SESSION_IDS_PER_CALL * 2 + 1 }, (_, i) => `s-${String(i).padStart(4, '0')}`);
      await delivery.enqueue({ sessionIds: ids, pubkey: 'a'.repeat(64), deviceId: '', issuedBeforeMicros: 5_000_000 }, [{ httpUrl: world.url, database: 'w' }]);
      await delivery.idle();
      const calls = world.calls.map((call) => call.args as [string[], string, string, number]);
      expect(calls.map(([sessionIds]) => sessionIds.length).sort((x, y) => x - y)).toEqual([1, MAX_SESSION_IDS_PER_CALL, MAX_SESSION_IDS_PER_CALL]);
      expect(calls.flatMap(([sessionIds]) => sessionIds).sort()).toEqual(ids);
      expect(calls.every(([, pubkey, , watermark]) => pubkey === 'a'.repeat(64) && watermark === 5_000_000)).toBe(true);
    } finally {
      await delivery.close();
      await world.close();
    }
  });
});
