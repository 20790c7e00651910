// A revoked session in the real world: when revoke_sessions (control's call; here the world admin's,
// over the same HTTP API) names this client's session, the world's my_session_status turns
// `revoked`, the client closes its connection and reports `session_revoked`, and does not retry;
// another user's client keeps going. (Sessions of one user are told apart by the world once control
// mints sub "<pubkey>:<session>"; the module's own tests cover that with such tokens.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../support/types';
import { startTestWorld, until, type TestWorld } from '../support/world';

let world: TestWorld;
let laptop: TestClient;
let phone: TestClient;

beforeAll(async () => {
  world = await startTestWorld();
  laptop = world.client({ name: 'laptop', deviceId: 'laptop' });
  phone = world.client({ name: 'phone', deviceId: 'phone' });
  await Promise.all([laptop, phone].map(({ client }) => client.start()));
  for (const { client } of [laptop, phone]) expect(await client.whenConnected(10_000)).toEqual({ ok: true });
});
afterAll(async () => {
  await world?.close();
});

describe('session revocation', () => {
  it('closes the revoked session for good and reports session_revoked; other sessions stay', async () => {
    // "Me" is the principal: the user's Nostr key.
    expect(laptop.client.identity).toBe(laptop.identity.publicKeyHex);
    expect(phone.client.identity).toBe(phone.identity.publicKeyHex);
    const sessionId = laptop.tokens.current()!.sessionId;
    const response = await fetch(`${world.host.url}/v1/database/${world.name}/call/revoke_sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${world.host.ownerToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ session_ids: [sessionId], pubkey: '', device_id: '', issued_before_micros: 0 }),
    });
    expect(response.status).toBe(200);

    await until(() => laptop.client.stores.connection.getState().code === 'session_revoked', 'the laptop learns its session was revoked');
    const state = laptop.client.stores.connection.getState();
    expect(state).toMatchObject({ status: 'offline', code: 'session_revoked' });
    expect(state.reason).toContain(`session ${sessionId} was revoked`);
    // No retry loop: it stays offline.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(laptop.client.stores.connection.getState()).toMatchObject({ status: 'offline', code: 'session_revoked', attempt: 0 });
    expect(phone.client.stores.connection.getState()).toMatchObject({ status: 'connected', code: null });
  });
});
