// Identity and ConnectionId values (spec §3.1, §3.2). Both are unsigned integers held as bigint;
// their hex text is the big-endian rendering, lowercase and zero padded.
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { getRandomValues } from 'node:crypto';

const IDENTITY_PREFIX = Uint8Array.of(0xc2, 0x00);
const IDENTITY_BODY_BYTES = 26;
const IDENTITY_CHECKSUM_BYTES = 4;
const IDENTITY_HEX_CHARS = 64;
const CONNECTION_ID_HEX_CHARS = 32;
const U256_LIMIT = 1n << 256n;
const U128_LIMIT = 1n << 128n;

/** Message upstream returns (HTTP 400) for an unusable `connection_id` query parameter. */
export const INVALID_CONNECTION_ID = 'Invalid connection ID';

export type IdentityParseResult = { ok: true; identity: bigint } | { ok: false; message: string };
export type ConnectionIdParseResult = { ok: true; connectionId: bigint } | { ok: false; message: string };

/** The u256 identity of the holder of a token with these `iss` and `sub` claims. */
export function identityFromIssuerSubject(issuer: string, subject: string): bigint {
  const claimsHash = blake3(utf8ToBytes(`${issuer}|${subject}`));
  const body = claimsHash.subarray(0, IDENTITY_BODY_BYTES);
  const checksum = blake3(concatBytes(IDENTITY_PREFIX, body)).subarray(0, IDENTITY_CHECKSUM_BYTES);
  return BigInt(`0x${bytesToHex(concatBytes(IDENTITY_PREFIX, checksum, body))}`);
}

export function identityHex(identity: bigint): string {
  return unsignedHex(identity, U256_LIMIT, IDENTITY_HEX_CHARS, 'Identity');
}

/** Parses 64 hex digits (no `0x`), as used in URLs and the `hex_identity` claim. */
export function parseIdentityHex(hex: string): IdentityParseResult {
  if (!isHexOfLength(hex, IDENTITY_HEX_CHARS)) {
    return { ok: false, message: `Invalid identity: expected ${IDENTITY_HEX_CHARS} hex digits, got ${describeText(hex)}` };
  }
  return { ok: true, identity: BigInt(`0x${hex}`) };
}

export function connectionIdHex(connectionId: bigint): string {
  return unsignedHex(connectionId, U128_LIMIT, CONNECTION_ID_HEX_CHARS, 'ConnectionId');
}

/** Parses a `connection_id` query parameter: 32 hex digits, not all zero (0 means "no connection"). */
export function parseConnectionIdHex(hex: string): ConnectionIdParseResult {
  if (!isHexOfLength(hex, CONNECTION_ID_HEX_CHARS)) {
    return { ok: false, message: `${INVALID_CONNECTION_ID}: expected ${CONNECTION_ID_HEX_CHARS} hex digits, got ${describeText(hex)}` };
  }
  const connectionId = BigInt(`0x${hex}`);
  if (connectionId === 0n) return { ok: false, message: `${INVALID_CONNECTION_ID}: the all-zero id is reserved` };
  return { ok: true, connectionId };
}

/** A fresh random u128 connection id; never 0, which the host reserves for "no connection". */
export function randomConnectionId(): bigint {
  for (;;) {
    const connectionId = BigInt(`0x${bytesToHex(getRandomValues(new Uint8Array(16)))}`);
    if (connectionId !== 0n) return connectionId;
  }
}

function unsignedHex(value: bigint, limit: bigint, hexChars: number, typeName: string): string {
  if (value < 0n || value >= limit) {
    throw new RangeError(`${typeName} must be an unsigned ${hexChars * 4}-bit integer, got ${value}`);
  }
  return value.toString(16).padStart(hexChars, '0');
}

function isHexOfLength(text: string, length: number): boolean {
  return text.length === length && /^[0-9a-fA-F]+$/.test(text);
}

function describeText(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}… (${text.length} chars)` : JSON.stringify(text);
}
