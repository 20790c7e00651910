import { sha256 } from '@noble/hashes/sha2.js';
import { base64, utf8 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  EncryptedFileKeystore,
  InMemoryKeystoreStorage,
  KeystoreError,
  type AccountInfo,
  type KeystoreStorage,
} from '../src/index';
import { VECTOR_1, VECTOR_2 } from './vectors';

// Tiny scrypt cost keeps these tests fast; production uses the default (2^15).
const FAST = { scryptLogN: 4 };
const PASSPHRASE = 'tr0ub4dor&3 horse';

const alice: AccountInfo = { id: 'acct-alice', label: 'Alice main', npub: VECTOR_1.npub, createdAt: 1_700_000_000_000 };
const bob: AccountInfo = { id: 'acct-bob', label: 'Bob', npub: VECTOR_2.npub, createdAt: 1_700_000_100_000 };

function keystore(storage: KeystoreStorage, passphrase = PASSPHRASE, scryptLogN = FAST.scryptLogN) {
  return new EncryptedFileKeystore({ storage, passphrase, scryptLogN });
}

async function rejection(promise: Promise<unknown>): Promise<KeystoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KeystoreError);
    return error as KeystoreError;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

async function storedJson(storage: KeystoreStorage): Promise<Record<string, any>> {
  const bytes = await storage.read();
  if (!bytes) throw new Error('nothing stored');
  return JSON.parse(utf8.encode(bytes)) as Record<string, any>;
}

/** Mirrors the file format's accidental-damage digest, to forge a "consistent" tampered file. */
function digestOf(envelope: Record<string, any>): string {
  const { kdf } = envelope;
  const header = utf8.decode(`autopilot-nip06-keystore/v1/scrypt/${kdf.logN}/${kdf.r}/${kdf.p}`);
  const parts = [header, base64.decode(kdf.salt), base64.decode(envelope.check), base64.decode(envelope.cipher.nonce), base64.decode(envelope.ciphertext)];
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return base64.encode(sha256(all));
}

async function withSavedAccounts() {
  const storage = new InMemoryKeystoreStorage();
  const store = keystore(storage);
  await store.save(alice, VECTOR_1.mnemonic);
  await store.save(bob, VECTOR_2.mnemonic);
  return { storage, store };
}

describe('EncryptedFileKeystore round trip', () => {
  it('starts empty when nothing is stored', async () => {
    expect(await keystore(new InMemoryKeystoreStorage()).list()).toEqual([]);
  });

  it('saves, lists (without secrets) and loads accounts', async () => {
    const { store } = await withSavedAccounts();
    const listed = await store.list();
    expect(listed).toEqual([alice, bob]);
    for (const info of listed) expect(Object.keys(info).sort()).toEqual(['createdAt', 'id', 'label', 'npub']);
    expect(await store.load(alice.id)).toBe(VECTOR_1.mnemonic);
    expect(await store.load(bob.id)).toBe(VECTOR_2.mnemonic);
  });

  it('reads back through a fresh instance with the same passphrase, even one configured with another cost', async () => {
    const { storage } = await withSavedAccounts();
    const reopened = keystore(storage, PASSPHRASE, 5);
    expect(await reopened.list()).toEqual([alice, bob]);
    expect(await reopened.load(bob.id)).toBe(VECTOR_2.mnemonic);
    expect((await storedJson(storage)).kdf).toMatchObject({ name: 'scrypt', logN: 4, r: 8, p: 1 });
  });

  it('replaces an account saved again under the same id', async () => {
    const { store } = await withSavedAccounts();
    const renamed = { ...alice, label: 'Alice (renamed)' };
    await store.save(renamed, 'replacement secret');
    expect(await store.list()).toEqual([renamed, bob]);
    expect(await store.load(alice.id)).toBe('replacement secret');
  });

  it('removes accounts, and reports not_found for unknown ids', async () => {
    const { store } = await withSavedAccounts();
    await store.remove(alice.id);
    expect(await store.list()).toEqual([bob]);
    expect((await rejection(store.load(alice.id))).code).toBe('not_found');
    expect((await rejection(store.remove(alice.id))).code).toBe('not_found');
    await store.remove(bob.id);
    expect(await store.list()).toEqual([]);
  });

  it('keeps every one of several concurrent saves', async () => {
    const store = keystore(new InMemoryKeystoreStorage());
    await Promise.all(
      [0, 1, 2, 3, 4].map((n) => store.save({ ...alice, id: `acct-${n}`, label: `n${n}` }, `secret ${n}`)),
    );
    expect((await store.list()).map((account) => account.id).sort()).toEqual(['acct-0', 'acct-1', 'acct-2', 'acct-3', 'acct-4']);
    expect(await store.load('acct-3')).toBe('secret 3');
  });

  it('accepts the passphrase in another Unicode normal form (NFC vs NFD)', async () => {
    const storage = new InMemoryKeystoreStorage();
    await keystore(storage, 'pass\u00e9').save(alice, VECTOR_1.mnemonic);
    expect(await keystore(storage, 'passe\u0301').load(alice.id)).toBe(VECTOR_1.mnemonic);
  });
});

describe('EncryptedFileKeystore on disk', () => {
  it('stores no secret, label or npub in the clear', async () => {
    const { storage } = await withSavedAccounts();
    const text = utf8.encode((await storage.read())!);
    for (const clear of [VECTOR_1.mnemonic, 'leader monkey', VECTOR_2.mnemonic.slice(0, 20), alice.label, alice.npub, alice.id, PASSPHRASE]) {
      expect(text).not.toContain(clear);
    }
  });

  it('uses a fresh salt and nonce on every write', async () => {
    const storage = new InMemoryKeystoreStorage();
    const store = keystore(storage);
    const seen = { salts: new Set<string>(), nonces: new Set<string>() };
    for (let i = 0; i < 3; i += 1) {
      await store.save(alice, VECTOR_1.mnemonic);
      const envelope = await storedJson(storage);
      seen.salts.add(envelope.kdf.salt);
      seen.nonces.add(envelope.cipher.nonce);
    }
    expect(seen.salts.size).toBe(3);
    expect(seen.nonces.size).toBe(3);
  });
});

describe('EncryptedFileKeystore failures', () => {
  it('reports bad_passphrase for a wrong passphrase on list, load and save, and leaves the file alone', async () => {
    const { storage } = await withSavedAccounts();
    const before = await storage.read();
    const wrong = keystore(storage, 'not the passphrase');
    expect((await rejection(wrong.list())).code).toBe('bad_passphrase');
    expect((await rejection(wrong.load(alice.id))).code).toBe('bad_passphrase');
    expect((await rejection(wrong.save(bob, 'other secret'))).code).toBe('bad_passphrase');
    expect(await storage.read()).toEqual(before);
    expect(await keystore(storage).load(alice.id)).toBe(VECTOR_1.mnemonic);
  });

  it('reports corrupt for a flipped ciphertext byte (caught by the file digest)', async () => {
    const { storage, store } = await withSavedAccounts();
    const envelope = await storedJson(storage);
    const ciphertext = base64.decode(envelope.ciphertext);
    ciphertext[5]! ^= 0x01;
    await storage.write(utf8.decode(JSON.stringify({ ...envelope, ciphertext: base64.encode(ciphertext) })));
    const error = await rejection(store.list());
    expect(error.code).toBe('corrupt');
  });

  it('reports corrupt for ciphertext tampered with a recomputed digest (caught by the AEAD tag)', async () => {
    const { storage, store } = await withSavedAccounts();
    const envelope = await storedJson(storage);
    const ciphertext = base64.decode(envelope.ciphertext);
    ciphertext[ciphertext.length - 1]! ^= 0x80;
    const tampered: Record<string, any> = { ...envelope, ciphertext: base64.encode(ciphertext) };
    tampered.digest = digestOf(tampered);
    await storage.write(utf8.decode(JSON.stringify(tampered)));
    const error = await rejection(store.load(alice.id));
    expect(error.code).toBe('corrupt');
    expect(error.message).toMatch(/integrity/);
  });

  it('reports corrupt, not bad_passphrase, when the salt is damaged by accident', async () => {
    const { storage, store } = await withSavedAccounts();
    const envelope = await storedJson(storage);
    const salt = base64.decode(envelope.kdf.salt);
    salt[0]! ^= 0xff;
    await storage.write(utf8.decode(JSON.stringify({ ...envelope, kdf: { ...envelope.kdf, salt: base64.encode(salt) } })));
    expect((await rejection(store.list())).code).toBe('corrupt');
  });

  it.each([
    ['a truncated file', async (bytes: Uint8Array) => bytes.slice(0, bytes.length >> 1)],
    ['random bytes', async () => Uint8Array.of(0xff, 0x00, 0x13, 0x37)],
    ['an empty file', async () => new Uint8Array()],
    ['JSON of another format', async () => utf8.decode('{"format":"something-else","version":1}')],
    ['a newer version', async (bytes: Uint8Array) => utf8.decode(utf8.encode(bytes).replace('"version":1', '"version":2'))],
    ['a missing nonce', async (bytes: Uint8Array) => {
      const envelope = JSON.parse(utf8.encode(bytes));
      delete envelope.cipher.nonce;
      return utf8.decode(JSON.stringify(envelope));
    }],
    ['an absurd scrypt cost (2^40) that must not be attempted', async (bytes: Uint8Array) => {
      const envelope = JSON.parse(utf8.encode(bytes));
      envelope.kdf.logN = 40;
      return utf8.decode(JSON.stringify(envelope));
    }],
  ])('reports corrupt for %s', async (_, damage) => {
    const { storage, store } = await withSavedAccounts();
    await storage.write(await damage((await storage.read())!));
    expect((await rejection(store.list())).code).toBe('corrupt');
  });

  it.each([
    ['an empty id', { ...alice, id: '' }, 'secret'],
    ['a bad npub', { ...alice, npub: 'npub1notreally' }, 'secret'],
    ['an hex key in place of the npub', { ...alice, npub: VECTOR_1.publicKeyHex }, 'secret'],
    ['a non-numeric createdAt', { ...alice, createdAt: Number.NaN }, 'secret'],
    ['an empty secret', alice, ''],
  ])('refuses to save %s', async (_, account, secret) => {
    const store = keystore(new InMemoryKeystoreStorage());
    expect((await rejection(store.save(account, secret))).code).toBe('invalid_argument');
    expect(await store.list()).toEqual([]);
  });

  it('refuses an empty passphrase and out-of-range costs', () => {
    const storage = new InMemoryKeystoreStorage();
    for (const make of [() => keystore(storage, ''), () => keystore(storage, PASSPHRASE, 0), () => keystore(storage, PASSPHRASE, 21)]) {
      expect(make).toThrow(KeystoreError);
    }
  });
});

describe('EncryptedFileKeystore secret hygiene', () => {
  it('never shows the secret or passphrase in errors, toString or JSON', async () => {
    const { storage, store } = await withSavedAccounts();
    const errors: KeystoreError[] = [];
    errors.push(await rejection(keystore(storage, 'wrong').load(alice.id)));
    errors.push(await rejection(store.load('acct-nobody')));
    errors.push(await rejection(store.save({ ...alice, npub: 'bad' }, VECTOR_1.mnemonic)));
    const envelope = await storedJson(storage);
    const ciphertext = base64.decode(envelope.ciphertext);
    ciphertext[0]! ^= 0x01;
    await storage.write(utf8.decode(JSON.stringify({ ...envelope, ciphertext: base64.encode(ciphertext) })));
    errors.push(await rejection(store.load(alice.id)));

    const renderings = [
      ...errors.flatMap((error) => [String(error), error.message, JSON.stringify(error), error.stack ?? '']),
      String(store),
      JSON.stringify(store),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(VECTOR_1.mnemonic.slice(0, 15));
      expect(text).not.toContain('leader');
      expect(text).not.toContain(PASSPHRASE);
    }
    expect(errors.map((error) => error.code)).toEqual(['bad_passphrase', 'not_found', 'invalid_argument', 'corrupt']);
  });
});
