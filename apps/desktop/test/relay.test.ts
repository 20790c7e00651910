import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey, type Event } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryEventRepository, startRelay, type RunningRelay } from '../src/core/embedded/relay';

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
      // A generous bound that only names what is missing; it does not measure speed.
      if (Date.now() - started > 30_000) throw new Error(`relay never sent ${what}; got ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const eventsOf = (subscription: string) => received.filter((m) => m[0] === 'EVENT' && m[1] === subscription).map((m) => m[2] as Event);
  return { ws, received, waitFor, eventsOf, send: (m: unknown[]) => ws.send(JSON.stringify(m)) };
}

const key = generateSecretKey();
const note = (content: string, kind = 1, created_at = Math.floor(Date.now() / 1000), tags = [['t', 'autopilot']]) =>
  finalizeEvent({ kind, created_at, tags, content }, key);

describe('embedded relay (@nostr-relay/core)', () => {
  it('listens on loopback only', () => {
    expect(relay.url).toBe(`ws://127.0.0.1:${relay.port}`);
  });

  it('stores a signed event, serves it to REQ with EOSE, and pushes new ones to live subscriptions', async () => {
    const writer = await client();
    const first = note('first');
    writer.send(['EVENT', first]);
    expect(await writer.waitFor((m) => m[0] === 'OK' && m[1] === first.id, 'OK')).toEqual(['OK', first.id, true, '']);

    const reader = await client();
    reader.send(['REQ', 'sub1', { kinds: [1], '#t': ['autopilot'] }]);
    expect(await reader.waitFor((m) => m[0] === 'EOSE', 'EOSE')).toEqual(['EOSE', 'sub1']);
    expect(reader.eventsOf('sub1').map((e) => e.id)).toEqual([first.id]);

    const second = note('second');
    writer.send(['EVENT', second]);
    const pushed = await reader.waitFor((m) => m[0] === 'EVENT' && (m[2] as Event).id === second.id, 'the live event');
    expect(pushed).toEqual(['EVENT', 'sub1', JSON.parse(JSON.stringify(second))]); // as sent on the wire

    writer.send(['EVENT', first]);
    expect(await writer.waitFor((m) => m[0] === 'OK' && m[1] === first.id && m[3] !== '', 'duplicate OK')).toEqual(['OK', first.id, true, expect.stringContaining('duplicate')]);
    writer.ws.close();
    reader.ws.close();
  });

  it('answers OK false for a forged signature or a tampered event, and stores neither', async () => {
    const c = await client();
    const genuine = note('signed by key');
    // Claimed by another author: the id is recomputed for that author, the signature is not theirs.
    const otherAuthor = getPublicKey(generateSecretKey());
    const forgedSignature = { ...genuine, pubkey: otherAuthor, id: getEventHash({ ...genuine, pubkey: otherAuthor }) };
    c.send(['EVENT', forgedSignature]);
    expect(await c.waitFor((m) => m[0] === 'OK' && m[1] === forgedSignature.id, 'OK for the forged signature')).toEqual([
      'OK',
      forgedSignature.id,
      false,
      expect.stringContaining('invalid: signature'),
    ]);

    const tampered = { ...genuine, content: 'tampered' };
    c.send(['EVENT', tampered]);
    expect(await c.waitFor((m) => m[0] === 'OK' && m[1] === tampered.id, 'OK for the tampered event')).toEqual(['OK', tampered.id, false, expect.stringContaining('invalid')]);

    // A rejection is not remembered under the id: the genuine event with that id is still accepted.
    c.send(['EVENT', genuine]);
    expect(await c.waitFor((m) => m[0] === 'OK' && m[1] === genuine.id && m[2] === true, 'OK for the genuine event')).toEqual(['OK', genuine.id, true, '']);

    c.send(['REQ', 'check', { authors: [otherAuthor] }]);
    await c.waitFor((m) => m[0] === 'EOSE' && m[1] === 'check', 'EOSE');
    expect(c.eventsOf('check')).toEqual([]);
    c.ws.close();
  });

  it('answers malformed messages with an invalid NOTICE', async () => {
    const c = await client();
    const nthNotice = (n: number, what: string) => c.waitFor(() => c.received.length >= n, what).then(() => c.received[n - 1]);
    c.ws.send('not json');
    expect(await nthNotice(1, 'NOTICE for non-JSON')).toEqual(['NOTICE', 'invalid: message is not JSON']);
    c.send(['EVENT', { id: 'not-an-event' }]);
    expect(await nthNotice(2, 'NOTICE for an event without its fields')).toEqual(['NOTICE', expect.stringMatching(/^invalid/)]);
    c.send(['REQ', '', { kinds: [1] }]);
    expect(await nthNotice(3, 'NOTICE for an empty subscription id')).toEqual(['NOTICE', expect.stringMatching(/^invalid/)]);
    c.send(['PUBLISH', note('x')]);
    expect(await nthNotice(4, 'NOTICE for an unknown message type')).toEqual(['NOTICE', expect.stringMatching(/^invalid/)]);
    expect(c.received).toHaveLength(4);
    c.ws.close();
  });

  it('pushes live only the events that match a subscription’s tag filter, and none after CLOSE', async () => {
    const writer = await client();
    const reader = await client();
    reader.send(['REQ', 'tagged', { kinds: [1], '#t': ['only-this-tag'] }]);
    await reader.waitFor((m) => m[0] === 'EOSE', 'EOSE');

    const otherTag = note('other tag', 1, undefined, [['t', 'something-else']]);
    const matching = note('matching tag', 1, undefined, [['t', 'only-this-tag']]);
    writer.send(['EVENT', otherTag]);
    writer.send(['EVENT', matching]);
    await reader.waitFor((m) => m[0] === 'EVENT' && (m[2] as Event).id === matching.id, 'the matching live event');
    expect(reader.eventsOf('tagged').map((e) => e.content)).toEqual(['matching tag']);

    reader.send(['CLOSE', 'tagged']);
    // Messages on one connection are handled in order: once this REQ's EOSE arrives, CLOSE is done.
    const nothing = { ids: ['0'.repeat(64)] };
    reader.send(['REQ', 'sync1', nothing]);
    await reader.waitFor((m) => m[0] === 'EOSE' && m[1] === 'sync1', 'EOSE after CLOSE');
    const probe = await client();
    probe.send(['REQ', 'probe', { '#t': ['only-this-tag'] }]);
    await probe.waitFor((m) => m[0] === 'EOSE', 'EOSE');
    const afterClose = note('after close', 1, undefined, [['t', 'only-this-tag']]);
    writer.send(['EVENT', afterClose]);
    await probe.waitFor((m) => m[0] === 'EVENT' && (m[2] as Event).id === afterClose.id, 'the broadcast of the event sent after CLOSE');
    // Anything broadcast to the reader would arrive before the answer to a later REQ.
    reader.send(['REQ', 'sync2', nothing]);
    await reader.waitFor((m) => m[0] === 'EOSE' && m[1] === 'sync2', 'EOSE of the later REQ');
    expect(reader.eventsOf('tagged').map((e) => e.content)).toEqual(['matching tag']);
    for (const c of [writer, reader, probe]) c.ws.close();
  });

  it('keeps only the newest replaceable event per author and kind', async () => {
    const c = await client();
    const older = note('{"name":"old"}', 0, 1_700_000_000);
    const newer = note('{"name":"new"}', 0, 1_700_000_100);
    c.send(['EVENT', newer]);
    c.send(['EVENT', older]);
    await c.waitFor((m) => m[0] === 'OK' && m[1] === older.id, 'OK');
    c.send(['REQ', 'profiles', { kinds: [0] }]);
    await c.waitFor((m) => m[0] === 'EOSE', 'EOSE');
    expect(c.eventsOf('profiles').map((e) => e.content)).toEqual(['{"name":"new"}']);
    c.ws.close();
  });

  it('answers a repeated REQ with what was stored in between (no stale cached results)', async () => {
    const c = await client();
    const filter = { '#t': ['repeat-test'] };
    c.send(['REQ', 'before', filter]);
    await c.waitFor((m) => m[0] === 'EOSE' && m[1] === 'before', 'EOSE of the first REQ');
    const stored = note('stored in between', 1, undefined, [['t', 'repeat-test']]);
    c.send(['EVENT', stored]);
    await c.waitFor((m) => m[0] === 'OK' && m[1] === stored.id, 'OK');
    c.send(['REQ', 'again', filter]);
    await c.waitFor((m) => m[0] === 'EOSE' && m[1] === 'again', 'EOSE of the repeated REQ');
    expect(c.eventsOf('again').map((e) => e.id)).toEqual([stored.id]);
    c.ws.close();
  });

  it('deletes an author’s own event on a NIP-09 deletion request', async () => {
    const c = await client();
    const doomed = note('to be deleted', 1, undefined, [['t', 'deletion-test']]);
    c.send(['EVENT', doomed]);
    c.send(['EVENT', note('deletion request', 5, undefined, [['e', doomed.id]])]);
    c.send(['REQ', 'after', { '#t': ['deletion-test'] }]);
    await c.waitFor((m) => m[0] === 'EOSE', 'EOSE');
    expect(c.eventsOf('after')).toEqual([]);
    c.ws.close();
  });

  it('survives a message over the payload limit: that connection is closed, others go on', async () => {
    const big = await client();
    const closed = new Promise((r) => big.ws.on('close', r));
    big.ws.send('x'.repeat(300 * 1024));
    await closed;
    const c = await client();
    c.send(['REQ', 'alive', { limit: 1 }]);
    expect(await c.waitFor((m) => m[0] === 'EOSE', 'EOSE after the oversized message')).toEqual(['EOSE', 'alive']);
    c.ws.close();
  });

  it('serves its NIP-11 information document over HTTP', async () => {
    const res = await fetch(relay.url.replace('ws://', 'http://'), { headers: { accept: 'application/nostr+json' } });
    expect(res.headers.get('content-type')).toBe('application/nostr+json');
    expect(await res.json()).toMatchObject({ name: 'autopilot embedded relay', supported_nips: expect.arrayContaining([1, 11]) });
  });
});

describe('MemoryEventRepository', () => {
  const at = (created_at: number, kind = 1, tags: string[][] = []) => finalizeEvent({ kind, created_at, tags, content: `${kind}@${created_at}` }, key);

  it('drops the oldest stored events past its bound', () => {
    const repo = new MemoryEventRepository(2);
    const [a, b, c] = [at(1), at(2), at(3)];
    for (const e of [a, b, c]) expect(repo.upsert(e)).toEqual({ isDuplicate: false });
    expect(repo.find({}).map((e) => e.id)).toEqual([c.id, b.id]);
  });

  it('replaces addressable events per d tag, never stores ephemeral ones, and honours limit newest-first', () => {
    const repo = new MemoryEventRepository();
    const v1 = at(10, 30_023, [['d', 'post']]);
    const v2 = at(20, 30_023, [['d', 'post']]);
    const other = at(15, 30_023, [['d', 'other']]);
    for (const e of [v1, v2, other]) repo.upsert(e);
    expect(repo.upsert(v1)).toEqual({ isDuplicate: true });
    expect(repo.find({ kinds: [30_023] }).map((e) => e.id)).toEqual([v2.id, other.id]);

    expect(repo.upsert(at(30, 20_001))).toEqual({ isDuplicate: false });
    expect(repo.find({ kinds: [20_001] })).toEqual([]);
    expect(repo.find({ kinds: [30_023], limit: 1 }).map((e) => e.id)).toEqual([v2.id]);
  });
});
