import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startRelay, type RunningRelay } from '../src/core/embedded/relay';

let relay: RunningRelay;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(() => relay.close());

/** A client that records every message it receives. */
async function client() {
  const ws = new WebSocket(relay.url);
  const received: unknown[][] = [];
  ws.on('message', (data) => received.push(JSON.parse(String(data))));
  await new Promise((r) => ws.on('open', r));
  const waitFor = async (predicate: (m: unknown[]) => boolean, what: string) => {
    const started = Date.now();
    for (;;) {
      const found = received.find(predicate);
      if (found) return found;
      if (Date.now() - started > 3000) throw new Error(`relay never sent ${what}; got ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { ws, received, waitFor, send: (m: unknown[]) => ws.send(JSON.stringify(m)) };
}

const key = generateSecretKey();
const note = (content: string, kind = 1, created_at = Math.floor(Date.now() / 1000)) => finalizeEvent({ kind, created_at, tags: [['t', 'autopilot']], content }, key);

describe('embedded relay', () => {
  it('stores a signed event, serves it to REQ, and pushes new ones to live subscriptions', async () => {
    const writer = await client();
    const first = note('first');
    writer.send(['EVENT', first]);
    expect(await writer.waitFor((m) => m[0] === 'OK' && m[1] === first.id, 'OK')).toEqual(['OK', first.id, true, '']);

    const reader = await client();
    reader.send(['REQ', 'sub1', { kinds: [1], '#t': ['autopilot'] }]);
    await reader.waitFor((m) => m[0] === 'EOSE', 'EOSE');
    expect(reader.received.filter((m) => m[0] === 'EVENT').map((m) => (m[2] as { id: string }).id)).toEqual([first.id]);

    const second = note('second');
    writer.send(['EVENT', second]);
    await reader.waitFor((m) => m[0] === 'EVENT' && (m[2] as { id: string }).id === second.id, 'the live event');

    writer.send(['EVENT', first]);
    expect(await writer.waitFor((m) => m[0] === 'OK' && m[1] === first.id && m[3] !== '', 'duplicate OK')).toEqual(['OK', first.id, true, expect.stringContaining('duplicate')]);
    writer.ws.close();
    reader.ws.close();
  });

  it('refuses a forged event and malformed messages', async () => {
    const c = await client();
    const forged = { ...note('real'), content: 'tampered' };
    c.send(['EVENT', forged]);
    expect(await c.waitFor((m) => m[0] === 'OK', 'OK')).toEqual(['OK', forged.id, false, expect.stringContaining('invalid')]);
    c.ws.send('not json');
    expect(await c.waitFor((m) => m[0] === 'NOTICE', 'NOTICE')).toEqual(['NOTICE', expect.stringContaining('invalid')]);
    c.ws.close();
  });

  it('keeps only the newest replaceable event per author and kind', async () => {
    const c = await client();
    const older = note('{"name":"old"}', 0, 1_700_000_000);
    const newer = note('{"name":"new"}', 0, 1_700_000_100);
    c.send(['EVENT', older]);
    c.send(['EVENT', newer]);
    await c.waitFor((m) => m[0] === 'OK' && m[1] === newer.id, 'OK');
    c.send(['REQ', 'profiles', { kinds: [0] }]);
    await c.waitFor((m) => m[0] === 'EOSE', 'EOSE');
    expect(c.received.filter((m) => m[0] === 'EVENT').map((m) => (m[2] as { content: string }).content)).toEqual(['{"name":"new"}']);
    c.ws.close();
  });
});
