import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { decode as decodeNip19, npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { getPublicKey } from 'nostr-tools/pure';
import { Nip06Error } from './errors';
import { normalizeMnemonic, validateMnemonic } from './mnemonic';

/** Highest BIP-32 hardened account index (2^31 - 1). */
export const MAX_ACCOUNT = 0x7fffffff;

/** The NIP-06 derivation path for an account: m/44'/1237'/<account>'/0/0. */
export function nip06DerivationPath(account: number): string {
  assertAccount(account);
  return `m/44'/1237'/${account}'/0/0`;
}

const REDACTED = '[redacted]';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A Nostr key pair. The fields are plain own properties (so destructuring and structured
 * cloning work), but toString, JSON.stringify and Node's inspect hide the secret halves, so an
 * identity that slips into a log line does not leak its key.
 */
export class NostrIdentity {
  constructor(
    readonly privateKeyHex: string,
    readonly publicKeyHex: string,
    readonly nsec: string,
    readonly npub: string,
    /** The NIP-06 account it was derived from; null when imported from a bare key. */
    readonly account: number | null,
  ) {}

  toJSON() {
    return {
      privateKeyHex: REDACTED,
      publicKeyHex: this.publicKeyHex,
      nsec: REDACTED,
      npub: this.npub,
      account: this.account,
    };
  }

  toString(): string {
    return `NostrIdentity(${this.npub})`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

export interface DeriveIdentityOptions {
  /** NIP-06 account index, 0 ..= 2^31 - 1. Default 0. */
  account?: number;
  /** Optional BIP-39 passphrase ("25th word"). Default ''. */
  passphrase?: string;
}

/** Derives the Nostr key pair of a NIP-06 mnemonic along m/44'/1237'/<account>'/0/0. */
export function deriveIdentity(mnemonic: string, options: DeriveIdentityOptions = {}): NostrIdentity {
  const { account = 0, passphrase = '' } = options;
  assertAccount(account);
  if (typeof passphrase !== 'string') {
    throw new Nip06Error('invalid_passphrase', `the BIP-39 passphrase must be a string, got ${typeof passphrase}`);
  }
  const validation = validateMnemonic(mnemonic);
  if (!validation.ok) {
    throw new Nip06Error('invalid_mnemonic', `invalid mnemonic: ${validation.message}`, validation.code);
  }
  const seed = mnemonicToSeedSync(normalizeMnemonic(mnemonic), passphrase);
  const root = HDKey.fromMasterSeed(seed);
  const node = root.derive(nip06DerivationPath(account));
  const privateKey = node.privateKey;
  if (!privateKey) throw new Error('BIP-32 derivation returned no private key'); // cannot happen for a seed-derived key
  const identity = identityFromKeyBytes(privateKey, account);
  seed.fill(0);
  root.wipePrivateData();
  node.wipePrivateData();
  return identity;
}

/** Builds an identity from a raw private key given as 64 hex characters or as an nsec. */
export function identityFromPrivateKey(privateKey: string): NostrIdentity {
  return identityFromKeyBytes(parsePrivateKey(privateKey), null);
}

/** Parses a private key given as 64 hex characters (any case) or as an nsec; returns its 32 bytes. */
export function parsePrivateKey(privateKey: string): Uint8Array {
  if (typeof privateKey !== 'string') {
    throw new Nip06Error('invalid_private_key', `a private key must be a string, got ${typeof privateKey}`);
  }
  const trimmed = privateKey.trim();
  let bytes: Uint8Array;
  if (/^nsec1/i.test(trimmed)) {
    let decoded: ReturnType<typeof decodeNip19>;
    try {
      decoded = decodeNip19(trimmed.toLowerCase());
    } catch {
      throw new Nip06Error('invalid_private_key', 'the nsec is not valid bech32 (bad checksum or characters)');
    }
    if (decoded.type !== 'nsec') throw new Nip06Error('invalid_private_key', 'the value is not an nsec');
    bytes = decoded.data;
  } else if (/^[0-9a-f]{64}$/i.test(trimmed)) {
    bytes = hexToBytes(trimmed.toLowerCase());
  } else {
    throw new Nip06Error('invalid_private_key', 'a private key must be 64 hex characters or an nsec1… string');
  }
  if (!secp256k1.utils.isValidSecretKey(bytes)) {
    throw new Nip06Error('invalid_private_key', 'the private key is outside the secp256k1 range (zero or ≥ the curve order)');
  }
  return bytes;
}

/** Decodes an npub to its 64-character lower-case hex public key. */
export function npubToHex(npub: string): string {
  if (typeof npub !== 'string' || !/^npub1/i.test(npub.trim())) {
    throw new Nip06Error('invalid_npub', 'expected an npub1… string');
  }
  let decoded: ReturnType<typeof decodeNip19>;
  try {
    decoded = decodeNip19(npub.trim().toLowerCase());
  } catch {
    throw new Nip06Error('invalid_npub', 'the npub is not valid bech32 (bad checksum or characters)');
  }
  if (decoded.type !== 'npub') throw new Nip06Error('invalid_npub', 'the value is not an npub');
  assertPublicKeyHex(decoded.data);
  return decoded.data;
}

/** Encodes a 64-character hex x-only public key as an npub; rejects keys not on the curve. */
export function hexToNpub(publicKeyHex: string): string {
  if (typeof publicKeyHex !== 'string' || !/^[0-9a-f]{64}$/i.test(publicKeyHex)) {
    throw new Nip06Error('invalid_public_key', 'a public key must be 64 hex characters');
  }
  const normalized = publicKeyHex.toLowerCase();
  assertPublicKeyHex(normalized);
  return npubEncode(normalized);
}

function assertPublicKeyHex(hex: string): void {
  try {
    schnorr.utils.lift_x(BigInt(`0x${hex}`));
  } catch {
    throw new Nip06Error('invalid_public_key', 'the public key is not the x coordinate of a secp256k1 point');
  }
}

function assertAccount(account: number): void {
  if (!Number.isSafeInteger(account) || account < 0 || account > MAX_ACCOUNT) {
    throw new Nip06Error(
      'invalid_account',
      `account must be an integer from 0 to ${MAX_ACCOUNT}, got ${typeof account === 'number' ? account : typeof account}`,
    );
  }
}

function identityFromKeyBytes(privateKey: Uint8Array, account: number | null): NostrIdentity {
  const publicKeyHex = getPublicKey(privateKey);
  return new NostrIdentity(bytesToHex(privateKey), publicKeyHex, nsecEncode(privateKey), npubEncode(publicKeyHex), account);
}
