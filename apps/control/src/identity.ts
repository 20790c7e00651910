import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** The two leading bytes SpacetimeDB puts in front of every identity derived from (issuer, subject). */
const IDENTITY_PREFIX = Uint8Array.of(0xc2, 0x00);
const ID_HASH_LENGTH = 26;
const CHECKSUM_LENGTH = 4;

/**
 * The SpacetimeDB identity that a server derives from a token's `iss` and `sub`, as 64 lowercase
 * hex chars (big-endian). Computed here so the login answer can tell the client who it will be.
 */
export function spacetimeIdentityHex(issuer: string, subject: string): string {
  const idHash = blake3(utf8ToBytes(`${issuer}|${subject}`)).slice(0, ID_HASH_LENGTH);
  const checksum = blake3(concatBytes(IDENTITY_PREFIX, idHash)).slice(0, CHECKSUM_LENGTH);
  return bytesToHex(concatBytes(IDENTITY_PREFIX, checksum, idHash));
}

