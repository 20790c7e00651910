// NIP-98 HTTP auth as control's login proof: the signed event must name this request's URL, method
// and body hash, be fresh, and verify. Replay protection is the caller's (ReplayGuard).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { kinds } from 'nostr-tools';
import { validateEvent, verifyEvent, type Event } from 'nostr-tools/pure';
import { failure, type Failure } from './errors';

/** NIP-98: the event must be created within this many seconds of the server's clock. */
export const NIP98_WINDOW_SECONDS = 60;

/** Header values beyond this are refused before decoding; a real auth event is well under 1 KiB. */
const MAX_HEADER_LENGTH = 8 * 1024;

export interface Nip98Expectation {
  /** The full URL the client addressed (public base URL + path + query). */
  url: string;
  method: string;
  /** The raw request body exactly as received (hashed as bytes); empty when there is none. */
  body: Uint8Array;
  nowSeconds: number;
}

export type Nip98Result = { ok: true; pubkey: string; eventId: string; createdAt: number } | Failure;

/**
 * Checks an `Authorization: Nostr <base64 event>` header against the request it came with.
 * Cheap structural checks come first; the signature is verified last, before the caller's
 * replay check (which must only ever record genuinely signed events).
 */
export function verifyNip98Authorization(header: string | undefined, expected: Nip98Expectation): Nip98Result {
  if (header === undefined || header.trim() === '') {
    return failure(401, 'missing_authorization', 'send Authorization: Nostr <base64 NIP-98 event>');
  }
  const match = /^Nostr\s+(\S+)$/i.exec(header.trim());
  if (!match || header.length > MAX_HEADER_LENGTH) {
    return failure(401, 'bad_nip98', 'Authorization must be "Nostr " followed by a base64 NIP-98 event');
  }
  const event = decodeEvent(match[1] as string);
  if (!event) return failure(401, 'bad_nip98', 'the Authorization value is not a base64-encoded Nostr event');
  if (event.kind !== kinds.HTTPAuth) {
    return failure(401, 'bad_nip98', `the event must be kind ${kinds.HTTPAuth}, got ${event.kind}`);
  }

  const age = expected.nowSeconds - event.created_at;
  if (age > NIP98_WINDOW_SECONDS) {
    return failure(401, 'stale_event', `the event was created ${age} s ago; it must be within ${NIP98_WINDOW_SECONDS} s of now`);
  }
  if (-age > NIP98_WINDOW_SECONDS) {
    return failure(401, 'stale_event', `the event is dated ${-age} s in the future; it must be within ${NIP98_WINDOW_SECONDS} s of now`);
  }

  const urlTag = singleTag(event, 'u');
  if (!urlTag.ok) return urlTag.failure;
  if (urlTag.value !== expected.url) {
    return failure(401, 'url_mismatch', `the u tag must be exactly ${expected.url}`);
  }
  const methodTag = singleTag(event, 'method');
  if (!methodTag.ok) return methodTag.failure;
  if (methodTag.value?.toUpperCase() !== expected.method.toUpperCase()) {
    return failure(401, 'method_mismatch', `the method tag must be ${expected.method.toUpperCase()}`);
  }

  const payloadTag = singleTag(event, 'payload');
  if (!payloadTag.ok) return payloadTag.failure;
  if (expected.body.length > 0) {
    if (payloadTag.value === undefined) {
      return failure(401, 'payload_mismatch', 'a request with a body needs a payload tag: sha256 hex of the raw body');
    }
    if (payloadTag.value.toLowerCase() !== bytesToHex(sha256(expected.body))) {
      return failure(401, 'payload_mismatch', 'the payload tag does not match the sha256 of the request body');
    }
  }

  if (!verifyEvent(event)) {
    return failure(401, 'bad_signature', 'the event id or signature does not verify');
  }
  return { ok: true, pubkey: event.pubkey, eventId: event.id, createdAt: event.created_at };
}

function decodeEvent(encoded: string): Event | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!validateEvent(parsed)) return undefined;
  const candidate = parsed as Partial<Event>;
  if (typeof candidate.id !== 'string' || typeof candidate.sig !== 'string' || !Number.isInteger(candidate.created_at)) {
    return undefined;
  }
  return parsed as Event;
}

type TagLookup = { ok: true; value: string | undefined } | { ok: false; failure: Failure };

/** A tag that must appear at most once; two differing copies would make the event ambiguous. */
function singleTag(event: Event, name: string): TagLookup {
  const values = event.tags.filter((tag) => tag[0] === name).map((tag) => tag[1]);
  if (values.length > 1) return { ok: false, failure: failure(401, 'bad_nip98', `the event has ${values.length} "${name}" tags; expected one`) };
  return { ok: true, value: values[0] };
}
