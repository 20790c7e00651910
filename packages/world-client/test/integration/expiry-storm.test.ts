// Expiry storm: many clients whose control tokens all expire at the same moment must all
// re-authenticate and keep working, with no message lost. The control clock is held still at
// 27 s before the test's start while the clients log in, so every first 30 s token expires at
// the same instant (3 s after the start) however long the logins take on a loaded machine; then
// the clock follows real time, so the refreshed tokens are good for 30 s.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestWorld, until, type TestWorld } from '../support/world';

const SKEW_MS = 27_000;
const CLIENTS = 16;
let world: TestWorld;
let controlNow: () => number = () => Date.now();

beforeAll(async () => {
  world = await startTestWorld({
    controlNow: () => controlNow(),
    control: {
      tokenTtlSeconds: 30,
      keyRotationOverlapSeconds: 60,
      // Every client refreshes at once: the storm must not trip the login rate limits.
      rateLimits: { loginPerPubkey: { burst: 20, perMinute: 600 }, loginPerAddress: { burst: 200, perMinute: 6000 } },
    },
  });
});
afterAll(async () => {
  await world?.close();
});

it(`${CLIENTS} clients whose tokens expire together all refresh and keep publishing`, async () => {
  const heldAt = Date.now() - SKEW_MS;
  controlNow = () => heldAt;
  const clients = Array.from({ length: CLIENTS }, (_, n) => world.client({ name: `storm-${n}`, refreshLeadMs: 1_000 }));
  await Promise.all(clients.map((c) => c.client.start()));
  await until(() => clients.every((c) => c.tokens.current() !== undefined), 'every client logged in', 60_000);
  const first = clients.map((c) => c.tokens.current()!);
  // They really do expire together: one instant, whatever the order and pace of the logins.
  expect(new Set(first.map((t) => t.expiresAtMs)).size).toBe(1);
  const expiry = first[0]!.expiresAtMs;
  controlNow = () => Date.now();
  for (const c of clients) expect(await c.client.whenConnected(60_000)).toEqual({ ok: true });

  const hub = clients[0]!;
  const opened = await hub.client.openChannel({ name: 'storm', kind: 'group', participants: clients.slice(1).map((c) => c.client.identity!) });
  if (!opened.ok) throw new Error(opened.message);

  // Past the first tokens' expiry: the world checks control_exp on each call.
  await until(() => Date.now() > expiry + 500, 'every first token expired', 60_000);
  const results = await Promise.all(clients.map((c, n) => c.client.publishMessage({ channelId: opened.channelId!, payload: `after the storm ${n}` })));
  expect(results.filter((r) => !r.ok)).toEqual([]);
  for (const [n, c] of clients.entries()) {
    const token = c.tokens.current()!;
    expect(token.expiresAtMs, `client ${n} holds a fresh token`).toBeGreaterThan(expiry);
    expect(token.sessionId, `client ${n} refreshed its session`).toBe(first[n]!.sessionId);
    expect(c.client.stores.connection.getState().status).toBe('connected');
  }
  await until(() => hub.client.stores.messages.getState().byChannel[opened.channelId!]?.length === CLIENTS, 'the hub sees every message', 60_000);
}, 120_000);
