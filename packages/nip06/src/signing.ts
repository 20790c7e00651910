import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { base64, utf8 } from '@scure/base';
import {
  finalizeEvent,
  getEventHash,
  validateEvent,
  verifyEvent as verifyNostrEvent,
  type EventTemplate,
  type NostrEvent,
  type VerifiedEvent,
} from 'nostr-tools/pure';
import { Nip06Error } from './errors';
import { parsePrivateKey } from './identity';

export type { EventTemplate, NostrEvent, VerifiedEvent };

/** NIP-98 "HTTP Auth" event kind. */
export const NIP98_KIND = 27235;

/**
 * Signs an event template with a private key (hex or nsec). The template is copied, not
 * modified (nostr-tools' finalizeEvent writes pubkey/id/sig into its argument).
 */
export function signEvent(template: EventTemplate, privateKeyHex: string): VerifiedEvent {
  assertTemplate(template);
  const secretKey = parsePrivateKey(privateKeyHex);
  const copy: EventTemplate = {
    kind: template.kind,
    created_at: template.created_at,
    content: template.content,
    tags: template.tags.map((tag) => [...tag]),
  };
  return finalizeEvent(copy, secretKey);
}

/**
 * True when the event is well formed, its id is the hash of its contents and its signature is
 * valid. Never throws. Unlike nostr-tools' verifyEvent it ignores any cached "verified" flag on
 * the object, so an event that was signed and then edited is not trusted.
 */
export function verifyEvent(event: unknown): boolean {
  if (!isEventShaped(event)) return false;
  return verifyNostrEvent(freshCopy(event));
}

export interface Nip98HeaderOptions {
  /** The absolute request URL, exactly as the server will see it (including the query). */
  url: string;
  method: string;
  /** The request body; when given, its SHA-256 is bound to the event as a `payload` tag. */
  body?: string | Uint8Array;
  /** Private key as hex or nsec. */
  privateKeyHex: string;
  /** Unix seconds; defaults to now. */
  createdAt?: number;
}

/** Builds the value of an `Authorization` header for NIP-98: `Nostr <base64 of the signed event>`. */
export function createNip98AuthHeader(options: Nip98HeaderOptions): string {
  const { url, method, body, privateKeyHex, createdAt = nowInSeconds() } = options;
  if (typeof url !== 'string' || !ABSOLUTE_URL.test(url)) {
    throw new Nip06Error('invalid_argument', 'url must be an absolute URL such as https://host/path');
  }
  if (typeof method !== 'string' || !HTTP_METHOD.test(method)) {
    throw new Nip06Error('invalid_argument', 'method must be an HTTP method name such as GET or POST');
  }
  const tags = [
    ['u', url],
    ['method', method.toUpperCase()],
  ];
  if (body !== undefined) tags.push(['payload', sha256Hex(body)]);
  const event = signEvent({ kind: NIP98_KIND, created_at: createdAt, content: '', tags }, privateKeyHex);
  return `Nostr ${base64.encode(utf8ToBytes(JSON.stringify(event)))}`;
}

/** Upper bound on the base64 token, so a huge header is refused before it is decoded. */
export const NIP98_MAX_TOKEN_LENGTH = 16_384;

export type Nip98ParseCode = 'missing' | 'bad_scheme' | 'too_large' | 'bad_encoding' | 'bad_event' | 'bad_signature';
export type Nip98ParseResult = { ok: true; event: NostrEvent } | { ok: false; code: Nip98ParseCode; message: string };

/**
 * Decodes an `Authorization: Nostr <base64>` header and checks that it holds a well-formed,
 * correctly signed event. It does not check kind, URL, method, time or payload: pass the
 * event to `checkNip98Event` for that (and keep your own replay protection).
 */
export function parseNip98AuthHeader(header: string | null | undefined): Nip98ParseResult {
  if (typeof header !== 'string' || header.trim() === '') {
    return { ok: false, code: 'missing', message: 'no Authorization header was given' };
  }
  // Auth schemes are case-insensitive (RFC 9110 §11.1).
  const match = /^\s*nostr\s+(\S+)\s*$/i.exec(header);
  if (!match) return { ok: false, code: 'bad_scheme', message: 'the header must have the form "Nostr <base64 event>"' };
  const token = match[1]!;
  if (token.length > NIP98_MAX_TOKEN_LENGTH) {
    return { ok: false, code: 'too_large', message: `the token is longer than ${NIP98_MAX_TOKEN_LENGTH} characters` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.encode(decodeBase64(token)));
  } catch {
    return { ok: false, code: 'bad_encoding', message: 'the token is not base64-encoded UTF-8 JSON' };
  }
  if (!isEventShaped(parsed)) {
    return { ok: false, code: 'bad_event', message: 'the token is not a Nostr event (missing or mistyped fields)' };
  }
  const event = freshCopy(parsed);
  if (getEventHash(event) !== event.id) {
    return { ok: false, code: 'bad_event', message: "the event id is not the hash of the event's contents" };
  }
  if (!verifyNostrEvent(event)) {
    return { ok: false, code: 'bad_signature', message: 'the event signature is not valid for its pubkey' };
  }
  return { ok: true, event };
}

export interface Nip98CheckOptions {
  /** The absolute URL of the request being served; must equal the `u` tag exactly. */
  url: string;
  method: string;
  /** The request body as received; required to match a `payload` tag. */
  body?: string | Uint8Array;
  /** Current time in unix seconds; defaults to now. */
  now?: number;
  /** Allowed distance between created_at and now, in seconds. Default 60. */
  maxSkewSeconds?: number;
}

export type Nip98CheckCode =
  | 'bad_event'
  | 'bad_signature'
  | 'bad_kind'
  | 'url_mismatch'
  | 'method_mismatch'
  | 'stale'
  | 'future'
  | 'payload_mismatch';
export type Nip98CheckResult = { ok: true; pubkey: string } | { ok: false; code: Nip98CheckCode; message: string };

/**
 * Checks a NIP-98 event against the request it authorises: signature, kind 27235, exactly one
 * `u` tag equal to the URL, exactly one `method` tag equal to the method (case-insensitive),
 * created_at within ±maxSkewSeconds of now, and the body hash. A request with a non-empty body
 * must carry a `payload` tag, so a captured header cannot authorise a different body.
 * Replay protection (remembering event ids) is the caller's job.
 */
export function checkNip98Event(event: NostrEvent, options: Nip98CheckOptions): Nip98CheckResult {
  const { url, method, body, now = nowInSeconds(), maxSkewSeconds = 60 } = options;
  if (!Number.isFinite(maxSkewSeconds) || maxSkewSeconds < 0) {
    throw new Nip06Error('invalid_argument', 'maxSkewSeconds must be a non-negative number');
  }
  if (!Number.isFinite(now)) throw new Nip06Error('invalid_argument', 'now must be a number of unix seconds');

  if (!isEventShaped(event)) {
    return { ok: false, code: 'bad_event', message: 'not a Nostr event (missing or mistyped fields)' };
  }
  if (!verifyEvent(event)) {
    return { ok: false, code: 'bad_signature', message: 'the event id or signature is not valid' };
  }
  if (event.kind !== NIP98_KIND) {
    return { ok: false, code: 'bad_kind', message: `expected kind ${NIP98_KIND}, got ${event.kind}` };
  }
  const urlTags = tagValues(event, 'u');
  if (urlTags.length !== 1) {
    return { ok: false, code: 'url_mismatch', message: `expected exactly one u tag, found ${urlTags.length}` };
  }
  if (urlTags[0] !== url) {
    return { ok: false, code: 'url_mismatch', message: 'the u tag does not match the request URL' };
  }
  const methodTags = tagValues(event, 'method');
  if (methodTags.length !== 1) {
    return { ok: false, code: 'method_mismatch', message: `expected exactly one method tag, found ${methodTags.length}` };
  }
  if (methodTags[0]?.toUpperCase() !== method.toUpperCase()) {
    return { ok: false, code: 'method_mismatch', message: 'the method tag does not match the request method' };
  }
  if (event.created_at < now - maxSkewSeconds) {
    return { ok: false, code: 'stale', message: `created_at is more than ${maxSkewSeconds}s in the past` };
  }
  if (event.created_at > now + maxSkewSeconds) {
    return { ok: false, code: 'future', message: `created_at is more than ${maxSkewSeconds}s in the future` };
  }
  const payloadTags = tagValues(event, 'payload');
  if (payloadTags.length > 1) {
    return { ok: false, code: 'payload_mismatch', message: `expected at most one payload tag, found ${payloadTags.length}` };
  }
  const bodyBytes = body === undefined ? new Uint8Array() : toBytes(body);
  const [payload] = payloadTags;
  if (payload === undefined) {
    if (bodyBytes.length > 0) {
      return { ok: false, code: 'payload_mismatch', message: 'the request has a body but the event has no payload tag' };
    }
  } else if (payload.toLowerCase() !== bytesToHex(sha256(bodyBytes))) {
    return { ok: false, code: 'payload_mismatch', message: 'the payload tag is not the SHA-256 of the request body' };
  }
  return { ok: true, pubkey: event.pubkey };
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
const HTTP_METHOD = /^[A-Za-z]+$/;
const HEX_64 = /^[0-9a-f]{64}$/;
const HEX_128 = /^[0-9a-f]{128}$/;

function nowInSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? utf8ToBytes(body) : body;
}

function sha256Hex(body: string | Uint8Array): string {
  return bytesToHex(sha256(toBytes(body)));
}

function tagValues(event: NostrEvent, name: string): Array<string | undefined> {
  return event.tags.filter((tag) => tag[0] === name).map((tag) => tag[1]);
}

/** Tolerates a token whose base64 padding was stripped. */
function decodeBase64(token: string): Uint8Array {
  const padding = (4 - (token.length % 4)) % 4;
  return base64.decode(token + '='.repeat(padding));
}

function isEventShaped(value: unknown): value is NostrEvent {
  if (!validateEvent(value)) return false;
  const candidate = value as Partial<NostrEvent>;
  return (
    Number.isInteger(candidate.kind) &&
    Number.isInteger(candidate.created_at) &&
    typeof candidate.id === 'string' &&
    HEX_64.test(candidate.id) &&
    typeof candidate.sig === 'string' &&
    HEX_128.test(candidate.sig)
  );
}

/** A plain copy with only the signed fields, free of any cached verification flag. */
function freshCopy(event: NostrEvent): NostrEvent {
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags.map((tag) => [...tag]),
    content: event.content,
    sig: event.sig,
  };
}

function assertTemplate(template: EventTemplate): void {
  const valid =
    typeof template === 'object' &&
    template !== null &&
    Number.isInteger(template.kind) &&
    template.kind >= 0 &&
    template.kind <= 65535 &&
    Number.isInteger(template.created_at) &&
    template.created_at >= 0 &&
    typeof template.content === 'string' &&
    Array.isArray(template.tags) &&
    template.tags.every((tag) => Array.isArray(tag) && tag.every((part) => typeof part === 'string'));
  if (!valid) {
    throw new Nip06Error(
      'invalid_event',
      'an event template needs an integer kind 0..65535, an integer created_at ≥ 0, string content and string[][] tags',
    );
  }
}
