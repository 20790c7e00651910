// Where the keystore's unlock key is kept. In Electron it is wrapped by safeStorage (the OS
// keychain: Keychain, DPAPI, libsecret/kwallet); under plain Node (web mode) by a random local key
// file readable only by the user, which protects against casual reading of the profile, not
// against someone who can read the user's files. The Electron adapter supplies its own SecretBox.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './files';

/** Encrypts short secrets for storage at rest. */
export interface SecretBox {
  /** Shown in the identity details, e.g. "safeStorage (gnome_libsecret)". */
  readonly description: string;
  encrypt(plaintext: string): Promise<Uint8Array>;
  decrypt(ciphertext: Uint8Array): Promise<string>;
}

const NONCE_BYTES = 24;

/** Web-mode SecretBox: XChaCha20-Poly1305 under a random key kept in `<profile>/local.key` (0600). */
export class LocalKeySecretBox implements SecretBox {
  readonly description = 'local key file (web mode)';
  readonly #key: Uint8Array;

  private constructor(key: Uint8Array) {
    this.#key = key;
  }

  static async open(profileDir: string): Promise<LocalKeySecretBox> {
    const path = join(profileDir, 'local.key');
    let key = await readFileIfExists(path);
    if (key === undefined) {
      key = randomBytes(32);
      await writeFileAtomic(path, key, 0o600);
    }
    if (key.length !== 32) throw new Error(`${path} is damaged (expected 32 bytes); remove it only if the profile holds no accounts`);
    return new LocalKeySecretBox(new Uint8Array(key));
  }

  async encrypt(plaintext: string): Promise<Uint8Array> {
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const sealed = xchacha20poly1305(this.#key, nonce).encrypt(new TextEncoder().encode(plaintext));
    const out = new Uint8Array(NONCE_BYTES + sealed.length);
    out.set(nonce);
    out.set(sealed, NONCE_BYTES);
    return out;
  }

  async decrypt(ciphertext: Uint8Array): Promise<string> {
    if (ciphertext.length <= NONCE_BYTES) throw new Error('the sealed secret is too short');
    const opened = xchacha20poly1305(this.#key, ciphertext.subarray(0, NONCE_BYTES)).decrypt(ciphertext.subarray(NONCE_BYTES));
    return new TextDecoder().decode(opened);
  }
}
