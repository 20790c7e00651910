// Identity onboarding and the profile's accounts. Seeds never leave the core unencrypted except
// when the user asks to see their backup words. A new seed becomes an account only after the user
// has typed back the words at a few random positions (the backup confirmation).
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import {
  EncryptedFileKeystore,
  KeystoreError,
  deriveIdentity,
  generateMnemonic,
  normalizeMnemonic,
  validateMnemonic,
  type AccountInfo,
  type KeystoreStorage,
  type NostrIdentity,
} from '@autopilot/nip06';
import { readFileIfExists, writeFileAtomic } from './files';
import type { SecretBox } from './secrets';

/** How many words the user types back before a new seed is saved. */
export const CONFIRM_WORDS = 3;
const DRAFT_TTL_MS = 30 * 60_000;
/**
 * scrypt cost for the keystore: its passphrase is a random 256-bit key (never typed by a person),
 * so brute force is out of reach already and a high work factor would only slow every start.
 */
const KEYSTORE_SCRYPT_LOG_N = 10;

export type AccountResult<T> = { ok: true; value: T } | { ok: false; code: 'backup_mismatch' | 'invalid_mnemonic' | 'not_found'; message: string };

interface StoredSecret {
  mnemonic: string;
  account: number;
}

interface Draft {
  words: string[];
  positions: number[];
  createdAt: number;
}

class FileStorage implements KeystoreStorage {
  constructor(private readonly path: string) {}
  async read(): Promise<Uint8Array | undefined> {
    const bytes = await readFileIfExists(this.path);
    return bytes === undefined ? undefined : new Uint8Array(bytes);
  }
  async write(bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.path, bytes, 0o600);
  }
}

export class AccountManager {
  readonly secretStore: string;
  readonly #keystore: EncryptedFileKeystore;
  readonly #statePath: string;
  readonly #drafts = new Map<string, Draft>();
  #accounts: AccountInfo[] = [];
  #activeId: string | null = null;

  private constructor(keystore: EncryptedFileKeystore, statePath: string, secretStore: string) {
    this.#keystore = keystore;
    this.#statePath = statePath;
    this.secretStore = secretStore;
  }

  static async open(profileDir: string, box: SecretBox): Promise<AccountManager> {
    const passPath = join(profileDir, 'keystore.pass');
    let sealed = await readFileIfExists(passPath);
    let passphrase: string;
    if (sealed === undefined) {
      passphrase = randomBytes(32).toString('hex');
      await writeFileAtomic(passPath, await box.encrypt(passphrase), 0o600);
    } else {
      passphrase = await box.decrypt(new Uint8Array(sealed));
      sealed = undefined;
    }
    const keystore = new EncryptedFileKeystore({
      storage: new FileStorage(join(profileDir, 'keystore.bin')),
      passphrase,
      scryptLogN: KEYSTORE_SCRYPT_LOG_N,
    });
    const manager = new AccountManager(keystore, join(profileDir, 'accounts.json'), box.description);
    manager.#accounts = await keystore.list();
    const state = await readFileIfExists(manager.#statePath);
    if (state) {
      const activeId = (JSON.parse(state.toString('utf8')) as { activeId?: unknown }).activeId;
      if (typeof activeId === 'string' && manager.#accounts.some((a) => a.id === activeId)) manager.#activeId = activeId;
    }
    return manager;
  }

  list(): AccountInfo[] {
    return this.#accounts.map((a) => ({ ...a }));
  }

  activeId(): string | null {
    return this.#activeId;
  }

  /** A fresh 12-word seed to write down, and the positions (1-based) the user must type back. */
  createDraft(): { draftId: string; words: string[]; confirmPositions: number[] } {
    const now = Date.now();
    for (const [id, draft] of this.#drafts) if (now - draft.createdAt > DRAFT_TTL_MS) this.#drafts.delete(id);
    const words = generateMnemonic(128).split(' ');
    const positions = new Set<number>();
    while (positions.size < CONFIRM_WORDS) positions.add(randomInt(1, words.length + 1));
    const draftId = randomBytes(12).toString('hex');
    const confirmPositions = [...positions].sort((a, b) => a - b);
    this.#drafts.set(draftId, { words, positions: confirmPositions, createdAt: now });
    return { draftId, words, confirmPositions };
  }

  /** Saves the draft's seed as a new account once the typed words match, and makes it active. */
  async confirmDraft(draftId: string, label: string, confirmations: { position: number; word: string }[]): Promise<AccountResult<AccountInfo>> {
    const draft = this.#drafts.get(draftId);
    if (!draft) return { ok: false, code: 'not_found', message: 'this seed phrase draft expired; start again' };
    for (const position of draft.positions) {
      const typed = confirmations.find((c) => c.position === position)?.word.trim().toLowerCase();
      if (typed !== draft.words[position - 1]) {
        return { ok: false, code: 'backup_mismatch', message: `word #${position} does not match your seed phrase; check your backup` };
      }
    }
    this.#drafts.delete(draftId);
    return { ok: true, value: await this.#save(draft.words.join(' '), 0, label) };
  }

  /** Imports an existing NIP-06 seed (and account index) and makes it active. */
  async importMnemonic(mnemonic: string, label: string, account = 0): Promise<AccountResult<AccountInfo>> {
    const validation = validateMnemonic(mnemonic);
    if (!validation.ok) return { ok: false, code: 'invalid_mnemonic', message: validation.message };
    return { ok: true, value: await this.#save(normalizeMnemonic(mnemonic), account, label) };
  }

  async switchTo(id: string): Promise<AccountResult<null>> {
    if (!this.#accounts.some((a) => a.id === id)) return { ok: false, code: 'not_found', message: `no account ${id} in this profile` };
    await this.#setActive(id);
    return { ok: true, value: null };
  }

  async signOut(): Promise<void> {
    await this.#setActive(null);
  }

  async remove(id: string): Promise<AccountResult<null>> {
    try {
      await this.#keystore.remove(id);
    } catch (error) {
      if (error instanceof KeystoreError && error.code === 'not_found') return { ok: false, code: 'not_found', message: `no account ${id} in this profile` };
      throw error;
    }
    this.#accounts = await this.#keystore.list();
    if (this.#activeId === id) await this.#setActive(null);
    return { ok: true, value: null };
  }

  async backupWords(id: string): Promise<AccountResult<string[]>> {
    const secret = await this.#loadSecret(id);
    if (!secret) return { ok: false, code: 'not_found', message: `no account ${id} in this profile` };
    return { ok: true, value: secret.mnemonic.split(' ') };
  }

  /** The active account's key pair, derived on demand (kept only by the caller that needs it). */
  async activeIdentity(): Promise<NostrIdentity | null> {
    if (this.#activeId === null) return null;
    const secret = await this.#loadSecret(this.#activeId);
    return secret ? deriveIdentity(secret.mnemonic, { account: secret.account }) : null;
  }

  async #save(mnemonic: string, account: number, label: string): Promise<AccountInfo> {
    const identity = deriveIdentity(mnemonic, { account });
    const info: AccountInfo = { id: identity.publicKeyHex, label: label.trim(), npub: identity.npub, createdAt: Date.now() };
    const existing = this.#accounts.find((a) => a.id === info.id);
    if (existing) info.createdAt = existing.createdAt;
    const secret: StoredSecret = { mnemonic, account };
    await this.#keystore.save(info, JSON.stringify(secret));
    this.#accounts = await this.#keystore.list();
    await this.#setActive(info.id);
    return info;
  }

  async #loadSecret(id: string): Promise<StoredSecret | null> {
    try {
      return JSON.parse(await this.#keystore.load(id)) as StoredSecret;
    } catch (error) {
      if (error instanceof KeystoreError && error.code === 'not_found') return null;
      throw error;
    }
  }

  async #setActive(id: string | null): Promise<void> {
    this.#activeId = id;
    await writeFileAtomic(this.#statePath, JSON.stringify({ activeId: id }));
  }
}
