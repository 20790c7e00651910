import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToUtf8, concatBytes, equalBytes, randomBytes, utf8ToBytes } from '@noble/ciphers/utils.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64, utf8 } from '@scure/base';
import { Nip06Error } from './errors';
import { npubToHex } from './identity';

/** What a keystore says about an account without revealing its secret. */
export interface AccountInfo {
  id: string;
  label: string;
  npub: string;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/** Stores one secret (normally the mnemonic) per account. */
export interface Keystore {
  list(): Promise<AccountInfo[]>;
  /** Adds the account, or replaces the label, npub, createdAt and secret of an existing id. */
  save(account: AccountInfo, secret: string): Promise<void>;
  /** The account's secret; throws KeystoreError 'not_found' for an unknown id. */
  load(id: string): Promise<string>;
  /** Throws KeystoreError 'not_found' for an unknown id. */
  remove(id: string): Promise<void>;
}

/** Where an EncryptedFileKeystore keeps its single blob (a file, a browser store, memory). */
export interface KeystoreStorage {
  /** The last bytes written, or undefined when nothing has been written yet. */
  read(): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array): Promise<void>;
}

export type KeystoreErrorCode = 'bad_passphrase' | 'corrupt' | 'not_found' | 'invalid_argument';

/** Keystore failures. Messages never contain passphrases, secrets or decrypted data. */
export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';
  constructor(
    readonly code: KeystoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Keeps the blob in memory; for tests and for hosts that persist nothing. */
export class InMemoryKeystoreStorage implements KeystoreStorage {
  #bytes: Uint8Array | undefined;

  constructor(initial?: Uint8Array) {
    this.#bytes = initial?.slice();
  }

  async read(): Promise<Uint8Array | undefined> {
    return this.#bytes?.slice();
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#bytes = bytes.slice();
  }
}

/** Alias of InMemoryKeystoreStorage under the name used in the original task description. */
export { InMemoryKeystoreStorage as InMemoryKeystorageStorage };

export interface EncryptedFileKeystoreOptions {
  storage: KeystoreStorage;
  passphrase: string;
  /**
   * log2 of scrypt's cost N used when writing (r = 8, p = 1). Default 15: 32 MiB and a fraction
   * of a second per derivation. Lower it only in tests; reading honours whatever the file says.
   */
  scryptLogN?: number;
}

export const DEFAULT_SCRYPT_LOG_N = 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
// Limits on parameters read from a file, so a tampered file cannot make us allocate gigabytes.
const MAX_LOG_N = 20;
const MAX_R = 16;
const MAX_P = 4;

const FORMAT = 'autopilot-nip06-keystore';
const VERSION = 1;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 24;
const CHECK_LENGTH = 32;
const TAG_LENGTH = 16;
const DIGEST_LENGTH = 32;

interface KdfParams {
  logN: number;
  r: number;
  p: number;
  salt: Uint8Array;
}

interface Envelope {
  kdf: KdfParams;
  check: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

interface StoredAccount extends AccountInfo {
  secret: string;
}

interface DerivedKeys {
  params: KdfParams;
  encryptionKey: Uint8Array;
  check: Uint8Array;
}

/**
 * A Keystore that keeps every account in one blob encrypted under a passphrase: scrypt
 * derives a 64-byte key from the passphrase and a fresh random salt on every write; the first
 * half encrypts with XChaCha20-Poly1305 under a fresh random nonce, and a hash of the second
 * half is stored so that a wrong passphrase ('bad_passphrase') can be told apart from a
 * damaged file ('corrupt'). A plain SHA-256 over the whole envelope catches accidental damage
 * to the salt or check, which would otherwise look like a wrong passphrase. Account labels and
 * npubs are encrypted too.
 */
export class EncryptedFileKeystore implements Keystore {
  readonly #storage: KeystoreStorage;
  readonly #passphrase: string;
  readonly #writeLogN: number;
  // The key for the blob last read or written, so reads do not rerun scrypt.
  #cachedKeys: DerivedKeys | undefined;
  // Operations run one at a time, so two saves cannot overwrite each other's changes.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: EncryptedFileKeystoreOptions) {
    const { storage, passphrase, scryptLogN = DEFAULT_SCRYPT_LOG_N } = options;
    if (typeof passphrase !== 'string' || passphrase === '') {
      throw new KeystoreError('invalid_argument', 'the keystore passphrase must be a non-empty string');
    }
    if (!Number.isInteger(scryptLogN) || scryptLogN < 1 || scryptLogN > MAX_LOG_N) {
      throw new KeystoreError('invalid_argument', `scryptLogN must be an integer from 1 to ${MAX_LOG_N}`);
    }
    this.#storage = storage;
    // NFKD so the same passphrase typed on different systems derives the same key.
    this.#passphrase = passphrase.normalize('NFKD');
    this.#writeLogN = scryptLogN;
  }

  list(): Promise<AccountInfo[]> {
    return this.#serially(async () => (await this.#readAccounts()).map(publicInfo));
  }

  async save(account: AccountInfo, secret: string): Promise<void> {
    const entry = validateAccount(account, secret);
    return this.#serially(async () => {
      const accounts = await this.#readAccounts();
      const index = accounts.findIndex((existing) => existing.id === entry.id);
      if (index === -1) accounts.push(entry);
      else accounts[index] = entry;
      await this.#writeAccounts(accounts);
    });
  }

  load(id: string): Promise<string> {
    return this.#serially(async () => {
      const found = (await this.#readAccounts()).find((account) => account.id === id);
      if (!found) throw notFound(id);
      return found.secret;
    });
  }

  remove(id: string): Promise<void> {
    return this.#serially(async () => {
      const accounts = await this.#readAccounts();
      const remaining = accounts.filter((account) => account.id !== id);
      if (remaining.length === accounts.length) throw notFound(id);
      await this.#writeAccounts(remaining);
    });
  }

  #serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #readAccounts(): Promise<StoredAccount[]> {
    const bytes = await this.#storage.read();
    if (bytes === undefined) return [];
    const envelope = parseEnvelope(bytes);
    const keys = await this.#keysFor(envelope.kdf);
    if (!equalBytes(sha256(keys.check), envelope.check)) {
      throw new KeystoreError('bad_passphrase', 'the passphrase does not unlock this keystore');
    }
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(keys.encryptionKey, envelope.nonce, associatedData(envelope.kdf)).decrypt(
        envelope.ciphertext,
      );
    } catch {
      throw new KeystoreError('corrupt', 'the keystore failed its integrity check: the file is damaged or was modified');
    }
    try {
      return parseAccounts(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  async #writeAccounts(accounts: StoredAccount[]): Promise<void> {
    const params: KdfParams = { logN: this.#writeLogN, r: SCRYPT_R, p: SCRYPT_P, salt: randomBytes(SALT_LENGTH) };
    const keys = await this.#keysFor(params);
    const nonce = randomBytes(NONCE_LENGTH);
    const plaintext = utf8ToBytes(JSON.stringify({ accounts }));
    const ciphertext = xchacha20poly1305(keys.encryptionKey, nonce, associatedData(params)).encrypt(plaintext);
    plaintext.fill(0);
    await this.#storage.write(serializeEnvelope({ kdf: params, check: sha256(keys.check), nonce, ciphertext }));
  }

  async #keysFor(params: KdfParams): Promise<DerivedKeys> {
    const cached = this.#cachedKeys;
    if (cached && sameParams(cached.params, params)) return cached;
    const derived = await scryptAsync(this.#passphrase, params.salt, {
      N: 2 ** params.logN,
      r: params.r,
      p: params.p,
      dkLen: 32 + CHECK_LENGTH,
    });
    const keys = { params, encryptionKey: derived.slice(0, 32), check: derived.slice(32) };
    derived.fill(0);
    if (cached) {
      cached.encryptionKey.fill(0);
      cached.check.fill(0);
    }
    this.#cachedKeys = keys;
    return keys;
  }
}

function publicInfo({ id, label, npub, createdAt }: StoredAccount): AccountInfo {
  return { id, label, npub, createdAt };
}

function notFound(id: string): KeystoreError {
  return new KeystoreError('not_found', `no account with id ${JSON.stringify(id)} in the keystore`);
}

function validateAccount(account: AccountInfo, secret: string): StoredAccount {
  if (typeof account !== 'object' || account === null) {
    throw new KeystoreError('invalid_argument', 'account must be an object with id, label, npub and createdAt');
  }
  const { id, label, npub, createdAt } = account;
  if (typeof id !== 'string' || id === '') throw new KeystoreError('invalid_argument', 'account.id must be a non-empty string');
  if (typeof label !== 'string') throw new KeystoreError('invalid_argument', 'account.label must be a string');
  if (!Number.isFinite(createdAt)) throw new KeystoreError('invalid_argument', 'account.createdAt must be a number (ms since epoch)');
  try {
    npubToHex(npub);
  } catch (error) {
    const reason = error instanceof Nip06Error ? error.message : 'not an npub';
    throw new KeystoreError('invalid_argument', `account.npub is not a valid npub: ${reason}`);
  }
  if (typeof secret !== 'string' || secret === '') {
    throw new KeystoreError('invalid_argument', 'the secret must be a non-empty string');
  }
  return { id, label, npub, createdAt, secret };
}

function sameParams(a: KdfParams, b: KdfParams): boolean {
  return a.logN === b.logN && a.r === b.r && a.p === b.p && equalBytes(a.salt, b.salt);
}

/** Binds the format and the KDF parameters to the ciphertext. */
function associatedData(params: KdfParams): Uint8Array {
  return utf8ToBytes(`${FORMAT}/v${VERSION}/scrypt/${params.logN}/${params.r}/${params.p}`);
}

function serializeEnvelope(envelope: Envelope): Uint8Array {
  const { kdf } = envelope;
  return utf8ToBytes(
    JSON.stringify({
      format: FORMAT,
      version: VERSION,
      kdf: { name: 'scrypt', logN: kdf.logN, r: kdf.r, p: kdf.p, salt: base64.encode(kdf.salt) },
      check: base64.encode(envelope.check),
      cipher: { name: 'xchacha20poly1305', nonce: base64.encode(envelope.nonce) },
      ciphertext: base64.encode(envelope.ciphertext),
      digest: base64.encode(envelopeDigest(envelope)),
    }),
  );
}

function parseEnvelope(bytes: Uint8Array): Envelope {
  const corrupt = (what: string) => new KeystoreError('corrupt', `the keystore file is damaged: ${what}`);
  let json: unknown;
  try {
    json = JSON.parse(utf8.encode(bytes));
  } catch {
    throw corrupt('it is not UTF-8 JSON');
  }
  if (!isRecord(json) || json.format !== FORMAT) throw corrupt('it is not an Autopilot NIP-06 keystore');
  if (json.version !== VERSION) {
    throw new KeystoreError('corrupt', `the keystore has version ${String(json.version)}; this build reads version ${VERSION}`);
  }
  const { kdf, cipher } = json;
  if (!isRecord(kdf) || kdf.name !== 'scrypt') throw corrupt('unknown key derivation');
  if (!isRecord(cipher) || cipher.name !== 'xchacha20poly1305') throw corrupt('unknown cipher');
  const logN = boundedInteger(kdf.logN, MAX_LOG_N);
  const r = boundedInteger(kdf.r, MAX_R);
  const p = boundedInteger(kdf.p, MAX_P);
  if (logN === undefined || r === undefined || p === undefined) throw corrupt('scrypt parameters out of range');
  const salt = decodeField(kdf.salt, SALT_LENGTH);
  const check = decodeField(json.check, CHECK_LENGTH);
  const nonce = decodeField(cipher.nonce, NONCE_LENGTH);
  const ciphertext = decodeField(json.ciphertext);
  const digest = decodeField(json.digest, DIGEST_LENGTH);
  if (!salt || !check || !nonce || !ciphertext || !digest || ciphertext.length < TAG_LENGTH) {
    throw corrupt('a salt, nonce, check, ciphertext or digest field is missing or malformed');
  }
  const envelope = { kdf: { logN, r, p, salt }, check, nonce, ciphertext };
  if (!equalBytes(envelopeDigest(envelope), digest)) throw corrupt('its checksum does not match its contents');
  return envelope;
}

/** Detects accidental damage only; tamper-proofing comes from the AEAD tag. */
function envelopeDigest({ kdf, check, nonce, ciphertext }: Envelope): Uint8Array {
  return sha256(concatBytes(associatedData(kdf), kdf.salt, check, nonce, ciphertext));
}

function parseAccounts(plaintext: Uint8Array): StoredAccount[] {
  let json: unknown;
  try {
    json = JSON.parse(bytesToUtf8(plaintext));
  } catch {
    json = undefined;
  }
  const accounts = isRecord(json) ? json.accounts : undefined;
  if (!Array.isArray(accounts) || !accounts.every(isStoredAccount)) {
    // Only reachable with the right key, i.e. a file written by a buggy or foreign writer.
    throw new KeystoreError('corrupt', 'the keystore decrypted but its account list is malformed');
  }
  return accounts;
}

function isStoredAccount(value: unknown): value is StoredAccount {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.label === 'string' &&
    typeof value.npub === 'string' &&
    typeof value.createdAt === 'number' &&
    typeof value.secret === 'string'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function boundedInteger(value: unknown, max: number): number | undefined {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max ? (value as number) : undefined;
}

function decodeField(value: unknown, length?: number): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const bytes = base64.decode(value);
    return length === undefined || bytes.length === length ? bytes : undefined;
  } catch {
    return undefined;
  }
}
