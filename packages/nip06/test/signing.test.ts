import { base64, utf8 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  NIP98_KIND,
  NIP98_MAX_TOKEN_LENGTH,
  Nip06Error,
  checkNip98Event,
  createNip98AuthHeader,
  parseNip98AuthHeader,
  signEvent,
  verifyEvent,
  type EventTemplate,
  type NostrEvent,
} from '../src/index';
import { VECTOR_1, VECTOR_2, thrown } from './vectors';

const SHA256_OF_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA256_OF_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const NOW = 1_750_000_000;
const URL = 'https://api.example.test/v1/jobs?limit=5';

const template = (): EventTemplate => ({ kind: 1, created_at: NOW, content: 'hello', tags: [['t', 'greeting']] });
const encodeToken = (value: unknown) => `Nostr ${base64.encode(utf8.decode(JSON.stringify(value)))}`;
const decodeHeader = (header: string) =>
  JSON.parse(utf8.encode(base64.decode(header.slice('Nostr '.length)))) as NostrEvent;
/** A plain copy without nostr-tools' cached "verified" flag, as if it came over the wire. */
const wireCopy = (event: NostrEvent): NostrEvent => JSON.parse(JSON.stringify(event)) as NostrEvent;

describe('signEvent / verifyEvent', () => {
  it('signs with the given key and the result verifies', () => {
    const event = signEvent(template(), VECTOR_1.privateKeyHex);
    expect(event.pubkey).toBe(VECTOR_1.publicKeyHex);
    expect(event.id).toMatch(/^[0-9a-f]{64}$/);
    expect(event.sig).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyEvent(wireCopy(event))).toBe(true);
  });

  it('accepts an nsec as the key', () => {
    expect(signEvent(template(), VECTOR_2.nsec).pubkey).toBe(VECTOR_2.publicKeyHex);
  });

  it('leaves the caller\'s template untouched', () => {
    const original = template();
    signEvent(original, VECTOR_1.privateKeyHex);
    expect(original).toEqual(template());
    expect(Object.keys(original)).not.toContain('sig');
  });

  it.each([
    ['content', (event: NostrEvent) => ({ ...event, content: 'HELLO' })],
    ['a tag', (event: NostrEvent) => ({ ...event, tags: [['t', 'other']] })],
    ['created_at', (event: NostrEvent) => ({ ...event, created_at: event.created_at + 1 })],
    ['the signature', (event: NostrEvent) => ({ ...event, sig: event.sig.replace(/^./, event.sig[0] === '0' ? '1' : '0') })],
    ['the pubkey', (event: NostrEvent) => ({ ...event, pubkey: VECTOR_2.publicKeyHex })],
  ])('rejects an event whose %s was changed after signing', (_, tamper) => {
    const event = wireCopy(signEvent(template(), VECTOR_1.privateKeyHex));
    expect(verifyEvent(tamper(event))).toBe(false);
  });

  it('does not trust a signed event object that was edited in place', () => {
    const event = signEvent(template(), VECTOR_1.privateKeyHex);
    event.content = 'edited after signing';
    expect(verifyEvent(event)).toBe(false);
  });

  it.each([
    ['null', null],
    ['a string', 'event'],
    ['an empty object', {}],
    ['an event with a short sig', { ...template(), pubkey: VECTOR_1.publicKeyHex, id: 'a'.repeat(64), sig: 'ab' }],
  ])('returns false for %s', (_, value) => {
    expect(verifyEvent(value)).toBe(false);
  });

  it('refuses a malformed template and a bad key', () => {
    const badTemplate = { ...template(), kind: 1.5 };
    expect((thrown(() => signEvent(badTemplate, VECTOR_1.privateKeyHex)) as Nip06Error).code).toBe('invalid_event');
    const noTags = { ...template(), tags: [[1]] } as unknown as EventTemplate;
    expect((thrown(() => signEvent(noTags, VECTOR_1.privateKeyHex)) as Nip06Error).code).toBe('invalid_event');
    expect((thrown(() => signEvent(template(), 'abc')) as Nip06Error).code).toBe('invalid_private_key');
  });
});

describe('createNip98AuthHeader + parseNip98AuthHeader', () => {
  const header = (overrides: Partial<Parameters<typeof createNip98AuthHeader>[0]> = {}) =>
    createNip98AuthHeader({ url: URL, method: 'post', body: 'abc', privateKeyHex: VECTOR_1.privateKeyHex, createdAt: NOW, ...overrides });

  it('builds "Nostr <base64>" around a signed kind-27235 event with u, method and payload tags', () => {
    const value = header();
    expect(value).toMatch(/^Nostr [A-Za-z0-9+/]+=*$/);
    const event = decodeHeader(value);
    expect(event.kind).toBe(NIP98_KIND);
    expect(event.created_at).toBe(NOW);
    expect(event.content).toBe('');
    expect(event.pubkey).toBe(VECTOR_1.publicKeyHex);
    expect(event.tags).toEqual([
      ['u', URL],
      ['method', 'POST'],
      ['payload', SHA256_OF_ABC],
    ]);
    expect(verifyEvent(event)).toBe(true);
  });

  it('hashes a byte body the same as the equal string, and an empty body as sha256("")', () => {
    expect(decodeHeader(header({ body: utf8.decode('abc') })).tags).toContainEqual(['payload', SHA256_OF_ABC]);
    expect(decodeHeader(header({ body: '' })).tags).toContainEqual(['payload', SHA256_OF_EMPTY]);
  });

  it('omits the payload tag when there is no body', () => {
    const event = decodeHeader(header({ method: 'GET', body: undefined }));
    expect(event.tags.map((tag) => tag[0])).toEqual(['u', 'method']);
  });

  it('defaults created_at to now', () => {
    const before = Math.floor(Date.now() / 1000);
    const event = decodeHeader(header({ createdAt: undefined }));
    expect(event.created_at).toBeGreaterThanOrEqual(before);
    expect(event.created_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('round-trips: parse returns the signed event', () => {
    const value = header();
    const parsed = parseNip98AuthHeader(value);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(wireCopy(parsed.event)).toEqual(decodeHeader(value));
  });

  it('accepts a lower-case scheme and a token without base64 padding', () => {
    const value = header({ body: 'abcd' });
    const unpadded = value.replace(/=+$/, '').replace(/^Nostr/, 'nostr');
    expect(unpadded).not.toBe(value);
    expect(parseNip98AuthHeader(unpadded).ok).toBe(true);
  });

  it.each([
    ['a relative URL', { url: '/v1/jobs' }],
    ['an empty URL', { url: '' }],
    ['a method with a space', { method: 'GET /' }],
  ])('refuses to build a header with %s', (_, overrides) => {
    const error = thrown(() => header(overrides));
    expect(error).toBeInstanceOf(Nip06Error);
    expect((error as Nip06Error).code).toBe('invalid_argument');
  });

  it.each([
    ['undefined', undefined, 'missing'],
    ['an empty string', '', 'missing'],
    ['a Bearer header', 'Bearer abc.def', 'bad_scheme'],
    ['the scheme with no token', 'Nostr', 'bad_scheme'],
    ['two tokens', 'Nostr abc def', 'bad_scheme'],
    ['a huge token', `Nostr ${'A'.repeat(NIP98_MAX_TOKEN_LENGTH + 4)}`, 'too_large'],
    ['characters outside base64', 'Nostr !!!!', 'bad_encoding'],
    ['base64 of text that is not JSON', `Nostr ${base64.encode(utf8.decode('not json'))}`, 'bad_encoding'],
    ['base64 of invalid UTF-8', `Nostr ${base64.encode(Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d))}`, 'bad_encoding'],
    ['a JSON object that is not an event', encodeToken({ hello: 'world' }), 'bad_event'],
    ['a JSON array', encodeToken([1, 2, 3]), 'bad_event'],
  ] as const)('rejects %s with %s', (_, value, code) => {
    expect(parseNip98AuthHeader(value)).toMatchObject({ ok: false, code });
  });

  it('rejects an event whose content changed (id no longer matches) with bad_event', () => {
    const event = decodeHeader(header());
    expect(parseNip98AuthHeader(encodeToken({ ...event, tags: [['u', 'https://evil.test/']] }))).toMatchObject({
      ok: false,
      code: 'bad_event',
    });
  });

  it('rejects an event whose signature was altered with bad_signature', () => {
    const event = decodeHeader(header());
    const sig = event.sig.replace(/.$/, event.sig.endsWith('0') ? '1' : '0');
    expect(parseNip98AuthHeader(encodeToken({ ...event, sig }))).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('rejects a valid event re-signed under a different id with bad_signature', () => {
    const mine = decodeHeader(header());
    const theirs = decodeHeader(header({ privateKeyHex: VECTOR_2.privateKeyHex }));
    // Same contents signed by another key: keep my pubkey and id, borrow their signature.
    expect(parseNip98AuthHeader(encodeToken({ ...mine, sig: theirs.sig }))).toMatchObject({ ok: false, code: 'bad_signature' });
  });
});

describe('checkNip98Event', () => {
  const signed = (overrides: Partial<EventTemplate> = {}, key: string = VECTOR_1.privateKeyHex) =>
    wireCopy(
      signEvent(
        {
          kind: NIP98_KIND,
          created_at: NOW,
          content: '',
          tags: [
            ['u', URL],
            ['method', 'POST'],
            ['payload', SHA256_OF_ABC],
          ],
          ...overrides,
        },
        key,
      ),
    );
  const request = { url: URL, method: 'POST', body: 'abc', now: NOW };

  it('accepts a matching event and returns the signer', () => {
    expect(checkNip98Event(signed(), request)).toEqual({ ok: true, pubkey: VECTOR_1.publicKeyHex });
  });

  it('accepts what createNip98AuthHeader produced after parsing, with the method in any case and a byte body', () => {
    const parsed = parseNip98AuthHeader(
      createNip98AuthHeader({ url: URL, method: 'post', body: 'abc', privateKeyHex: VECTOR_2.nsec, createdAt: NOW }),
    );
    if (!parsed.ok) throw new Error(`parse failed: ${parsed.message}`);
    const result = checkNip98Event(parsed.event, { ...request, method: 'post', body: utf8.decode('abc') });
    expect(result).toEqual({ ok: true, pubkey: VECTOR_2.publicKeyHex });
  });

  it('accepts created_at exactly maxSkewSeconds away on either side', () => {
    expect(checkNip98Event(signed(), { ...request, now: NOW + 60 }).ok).toBe(true);
    expect(checkNip98Event(signed(), { ...request, now: NOW - 60 }).ok).toBe(true);
    expect(checkNip98Event(signed(), { ...request, now: NOW + 300, maxSkewSeconds: 300 }).ok).toBe(true);
  });

  it('accepts a GET without body and without payload tag', () => {
    const event = signed({ tags: [['u', URL], ['method', 'GET']] });
    expect(checkNip98Event(event, { url: URL, method: 'GET', now: NOW }).ok).toBe(true);
    expect(checkNip98Event(event, { url: URL, method: 'GET', body: '', now: NOW }).ok).toBe(true);
  });

  it.each([
    ['bad_kind', 'a kind-1 event', () => signed({ kind: 1 }), request],
    ['url_mismatch', 'another URL', () => signed(), { ...request, url: 'https://api.example.test/v1/jobs' }],
    ['url_mismatch', 'a trailing-slash variant', () => signed(), { ...request, url: `${URL}/` }],
    ['url_mismatch', 'two u tags', () => signed({ tags: [['u', URL], ['u', URL], ['method', 'POST'], ['payload', SHA256_OF_ABC]] }), request],
    ['url_mismatch', 'no u tag', () => signed({ tags: [['method', 'POST'], ['payload', SHA256_OF_ABC]] }), request],
    ['method_mismatch', 'another method', () => signed(), { ...request, method: 'PUT' }],
    ['method_mismatch', 'no method tag', () => signed({ tags: [['u', URL], ['payload', SHA256_OF_ABC]] }), request],
    ['stale', 'created_at 61s ago', () => signed(), { ...request, now: NOW + 61 }],
    ['stale', 'created_at 11s ago with a 10s window', () => signed(), { ...request, now: NOW + 11, maxSkewSeconds: 10 }],
    ['future', 'created_at 61s ahead', () => signed(), { ...request, now: NOW - 61 }],
    ['payload_mismatch', 'another body', () => signed(), { ...request, body: 'abd' }],
    ['payload_mismatch', 'a missing body when a payload is signed', () => signed(), { ...request, body: undefined }],
    ['payload_mismatch', 'a body with no payload tag', () => signed({ tags: [['u', URL], ['method', 'POST']] }), request],
    ['payload_mismatch', 'two payload tags', () => signed({ tags: [['u', URL], ['method', 'POST'], ['payload', SHA256_OF_ABC], ['payload', SHA256_OF_ABC]] }), request],
  ] as const)('returns %s for %s', (code, _, makeEvent, options) => {
    const result = checkNip98Event(makeEvent(), options);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
  });

  it('returns bad_signature for a tampered event even when every tag matches', () => {
    const event = signed();
    const forged = { ...event, sig: signed({}, VECTOR_2.privateKeyHex).sig };
    expect(checkNip98Event(forged, request)).toMatchObject({ ok: false, code: 'bad_signature' });
    const retimed = { ...event, created_at: NOW + 30 };
    expect(checkNip98Event(retimed, request)).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('returns bad_event for something that is not an event', () => {
    expect(checkNip98Event({ kind: NIP98_KIND } as NostrEvent, request)).toMatchObject({ ok: false, code: 'bad_event' });
  });

  it('throws on a negative maxSkewSeconds', () => {
    expect((thrown(() => checkNip98Event(signed(), { ...request, maxSkewSeconds: -1 })) as Nip06Error).code).toBe(
      'invalid_argument',
    );
  });
});
