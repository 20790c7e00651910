// Tokens that expire mid-session. The control service's clock runs 27 s behind, so its 30 s
// tokens die 3 s after they are minted — for the world (real clock) as much as for the client.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeliveredMessage } from '../support/types';
import { startTestWorld, until, type TestWorld } from '../support/world';

const SKEW_MS = 27_000;
let world: TestWorld;

beforeAll(async () => {
  world = await startTestWorld({ controlNow: () => Date.now() - SKEW_MS, control: { tokenTtlSeconds: 30, keyRotationOverlapSeconds: 60 } });
});
afterAll(async () => {
  await world?.close();
});

it('swaps tokens before they expire, without the user noticing and without losing a message', async () => {
  const alice = world.client({ name: 'alice', refreshLeadMs: 1_200 });
  const bob = world.client({ name: 'bob', refreshLeadMs: 1_200 });
  await alice.client.start();
  await bob.client.start();
  expect(await alice.client.whenConnected(10_000)).toEqual({ ok: true });
  expect(await bob.client.whenConnected(10_000)).toEqual({ ok: true });
  const firstToken = alice.tokens.current()!;
  expect(firstToken.expiresAtMs - Date.now()).toBeLessThan(3_500);

  const statuses: string[] = [];
  alice.client.stores.connection.subscribe((state) => statuses.push(state.status));
  const opened = await alice.client.openChannel({ name: 'pair', kind: 'direct', participants: [bob.client.identity!] });
  if (!opened.ok) throw new Error(opened.message);
  const channelId = opened.channelId!;
  const atBob: DeliveredMessage[] = [];
  bob.client.onMessage((message) => atBob.push(message));

  // Keep talking across several token lifetimes: until two swaps happened and the first token is
  // dead, however long that takes on this machine.
  const results = [];
  let i = 0;
  while (alice.client.stores.connection.getState().tokenSwaps < 2 || Date.now() <= firstToken.expiresAtMs + 500) {
    results.push(await alice.client.publishMessage({ channelId, payload: `m${i++}` }));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(results.filter((result) => !result.ok)).toEqual([]);
  await until(() => atBob.length === i, 'bob got everything');
  expect(atBob.map((m) => m.payload)).toEqual(Array.from({ length: i }, (_, n) => `m${n}`));

  const state = alice.client.stores.connection.getState();
  expect(state.reconnects).toBe(0);
  expect(statuses.filter((status) => status !== 'connected')).toEqual([]);
  expect(alice.tokens.current()!.sessionId).toBe(firstToken.sessionId);
  await until(() => bob.client.stores.presence.getState().nodes[alice.client.identity!]?.status === 'online', 'alice still online');
});

it('while the control service is unreachable the link stays up, and the swap happens once it is back', async () => {
  const carol = world.client({ name: 'carol', refreshLeadMs: 1_200 });
  const dave = world.client({ name: 'dave', refreshLeadMs: 1_200 });
  await carol.client.start();
  await dave.client.start();
  await carol.client.whenConnected(10_000);
  await dave.client.whenConnected(10_000);
  const opened = await carol.client.openChannel({ name: 'pair', kind: 'direct', participants: [dave.client.identity!] });
  if (!opened.ok) throw new Error(opened.message);
  const atDave: DeliveredMessage[] = [];
  dave.client.onMessage((message) => atDave.push(message));

  const port = Number(new URL(world.control.url).port);
  await world.control.close();
  const swapsBefore = carol.client.stores.connection.getState().tokenSwaps;
  const expiry = carol.tokens.current()!.expiresAtMs;
  await until(() => Date.now() > expiry + 200, 'the control token expired', 5_000);
  // The world enforces the control token's expiry (control_exp): the write is refused as expired
  // and waits in the outbox, while the link itself stays up.
  const pending = carol.client.publishMessage({ channelId: opened.channelId!, payload: 'control is down' });
  const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r('waiting'), 500))]);
  expect(early).toBe('waiting');
  expect(carol.client.stores.connection.getState()).toMatchObject({ status: 'connected', reconnects: 0 });

  const { startControl } = await import('@autopilot/control');
  const { pino } = await import('pino');
  const back = await startControl({
    port,
    dataDir: world.controlDataDir,
    logger: pino({ level: 'silent' }),
    now: () => Date.now() - SKEW_MS,
    config: { tokenTtlSeconds: 30, keyRotationOverlapSeconds: 60 },
  });
  try {
    const session = carol.tokens.current()!.sessionId;
    await until(() => carol.client.stores.connection.getState().tokenSwaps > swapsBefore, 'swapped to a new token', 10_000);
    // A token minted after control came back (its 3 s life may be over by now on a loaded machine).
    expect(carol.tokens.current()!.expiresAtMs).toBeGreaterThan(expiry);
    expect(carol.tokens.current()!.sessionId).toBe(session);
    expect(await pending).toMatchObject({ ok: true });
    expect(await carol.client.publishMessage({ channelId: opened.channelId!, payload: 'control is back' })).toMatchObject({ ok: true });
    await until(() => atDave.length === 2, 'dave got both');
    expect(atDave.map((m) => m.payload)).toEqual(['control is down', 'control is back']);
    expect(carol.client.stores.connection.getState()).toMatchObject({ status: 'connected', reconnects: 0 });
  } finally {
    await back.close();
  }
});
