// Expiry storm: many clients whose control tokens all expire at about the same moment must all
// re-authenticate and keep working, with no message lost. The control clock runs 27 s behind,
// so its 30 s tokens expire 3 s after they are minted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestWorld, until, type TestWorld } from '../support/world';

const SKEW_MS = 27_000;
const CLIENTS = 16;
let world: TestWorld;

beforeAll(async () => {
  world = await startTestWorld({
    controlNow: () => Date.now() - SKEW_MS,
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
  const clients = Array.from({ length: CLIENTS }, (_, n) => world.client({ name: `storm-${n}`, refreshLeadMs: 1_000 }));
  await Promise.all(clients.map((c) => c.client.start()));
  for (const c of clients) expect(await c.client.whenConnected(20_000)).toEqual({ ok: true });
  const first = clients.map((c) => c.tokens.current()!);
  const latestExpiry = Math.max(...first.map((t) => t.expiresAtMs));
  const earliestExpiry = Math.min(...first.map((t) => t.expiresAtMs));
  expect(latestExpiry - earliestExpiry).toBeLessThan(3_000); // they really do expire together

  const hub = clients[0]!;
  const opened = await hub.client.openChannel({ name: 'storm', kind: 'group', participants: clients.slice(1).map((c) => c.client.identity!) });
  if (!opened.ok) throw new Error(opened.message);

  // Past every first token's expiry: the world checks control_exp on each call.
  await until(() => Date.now() > latestExpiry + 500, 'every first token expired', 10_000);
  const results = await Promise.all(clients.map((c, n) => c.client.publishMessage({ channelId: opened.channelId!, payload: `after the storm ${n}` })));
  expect(results.filter((r) => !r.ok)).toEqual([]);
  for (const [n, c] of clients.entries()) {
    const token = c.tokens.current()!;
    expect(token.expiresAtMs, `client ${n} holds a fresh token`).toBeGreaterThan(first[n]!.expiresAtMs);
    expect(token.sessionId, `client ${n} refreshed its session`).toBe(first[n]!.sessionId);
    expect(c.client.stores.connection.getState().status).toBe('connected');
  }
  await until(() => hub.client.stores.messages.getState().byChannel[opened.channelId!]?.length === CLIENTS, 'the hub sees every message', 15_000);
}, 120_000);
