import { describe, expect, it } from 'vitest';
import {
  MAX_ACCOUNT,
  Nip06Error,
  NostrIdentity,
  deriveIdentity,
  generateMnemonic,
  hexToNpub,
  identityFromPrivateKey,
  nip06DerivationPath,
  npubToHex,
} from '../src/index';
import { NIP06_VECTORS, VECTOR_1, VECTOR_2, thrown } from './vectors';

function expectNip06Error(fn: () => unknown, code: Nip06Error['code']): Nip06Error {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(Nip06Error);
  expect((error as Nip06Error).code).toBe(code);
  return error as Nip06Error;
}

describe('deriveIdentity', () => {
  it.each(NIP06_VECTORS.map((vector, index) => [index + 1, vector] as const))(
    'matches NIP-06 test vector %i',
    (_, vector) => {
      const identity = deriveIdentity(vector.mnemonic);
      expect(identity.privateKeyHex).toBe(vector.privateKeyHex);
      expect(identity.publicKeyHex).toBe(vector.publicKeyHex);
      expect(identity.nsec).toBe(vector.nsec);
      expect(identity.npub).toBe(vector.npub);
      expect(identity.account).toBe(0);
    },
  );

  it('derives the same keys from a sloppily typed copy of the mnemonic', () => {
    const sloppy = `  ${VECTOR_1.mnemonic.toUpperCase().replace(/ /g, '\n  ')}  `;
    expect(deriveIdentity(sloppy).privateKeyHex).toBe(VECTOR_1.privateKeyHex);
  });

  it('gives different keys for accounts 0 and 1, and the same keys on repeat', () => {
    const account0 = deriveIdentity(VECTOR_1.mnemonic, { account: 0 });
    const account1 = deriveIdentity(VECTOR_1.mnemonic, { account: 1 });
    expect(account1.account).toBe(1);
    expect(account1.privateKeyHex).not.toBe(account0.privateKeyHex);
    expect(account1.publicKeyHex).not.toBe(account0.publicKeyHex);
    expect(deriveIdentity(VECTOR_1.mnemonic, { account: 1 }).privateKeyHex).toBe(account1.privateKeyHex);
  });

  it('uses the path m/44\'/1237\'/<account>\'/0/0', () => {
    expect(nip06DerivationPath(0)).toBe("m/44'/1237'/0'/0/0");
    expect(nip06DerivationPath(MAX_ACCOUNT)).toBe("m/44'/1237'/2147483647'/0/0");
  });

  it('derives the highest hardened account, 2^31 - 1', () => {
    const identity = deriveIdentity(VECTOR_1.mnemonic, { account: MAX_ACCOUNT });
    expect(identity.account).toBe(MAX_ACCOUNT);
    expect(identity.privateKeyHex).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives different keys with a BIP-39 passphrase, and the same keys for the same passphrase', () => {
    const plain = deriveIdentity(VECTOR_1.mnemonic);
    const withPassphrase = deriveIdentity(VECTOR_1.mnemonic, { passphrase: 'correct horse' });
    expect(withPassphrase.privateKeyHex).not.toBe(plain.privateKeyHex);
    expect(deriveIdentity(VECTOR_1.mnemonic, { passphrase: 'correct horse' }).privateKeyHex).toBe(
      withPassphrase.privateKeyHex,
    );
    expect(deriveIdentity(VECTOR_1.mnemonic, { passphrase: 'correct horsf' }).privateKeyHex).not.toBe(
      withPassphrase.privateKeyHex,
    );
  });

  it.each([
    ['-1', -1],
    ['2^31', 2 ** 31],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['a string', '1' as unknown as number],
  ])('rejects account %s with invalid_account', (_, account) => {
    const error = expectNip06Error(() => deriveIdentity(VECTOR_1.mnemonic, { account }), 'invalid_account');
    expect(error.message).toMatch(/0 to 2147483647/);
  });

  it.each([
    ['a bad checksum', Array(12).fill('abandon').join(' '), 'checksum'],
    ['11 words', VECTOR_1.mnemonic.replace(/ bean$/, ''), 'word_count'],
    ['an unknown word', VECTOR_1.mnemonic.replace('parrot', 'parrots'), 'unknown_word'],
  ])('rejects a mnemonic with %s, carrying the reason in detail', (_, mnemonic, detail) => {
    const error = expectNip06Error(() => deriveIdentity(mnemonic), 'invalid_mnemonic');
    expect(error.detail).toBe(detail);
  });

  it('rejects a non-string passphrase', () => {
    expectNip06Error(() => deriveIdentity(VECTOR_1.mnemonic, { passphrase: 7 as unknown as string }), 'invalid_passphrase');
  });
});

describe('identityFromPrivateKey', () => {
  it.each([
    ['lower-case hex', VECTOR_2.privateKeyHex],
    ['upper-case hex', VECTOR_2.privateKeyHex.toUpperCase()],
    ['an nsec', VECTOR_2.nsec],
    ['an nsec with surrounding whitespace', ` ${VECTOR_2.nsec}\n`],
  ])('accepts %s', (_, key) => {
    const identity = identityFromPrivateKey(key);
    expect(identity.privateKeyHex).toBe(VECTOR_2.privateKeyHex);
    expect(identity.publicKeyHex).toBe(VECTOR_2.publicKeyHex);
    expect(identity.nsec).toBe(VECTOR_2.nsec);
    expect(identity.npub).toBe(VECTOR_2.npub);
    expect(identity.account).toBeNull();
  });

  it.each([
    ['63 hex characters', VECTOR_1.privateKeyHex.slice(1)],
    ['non-hex characters', 'g'.repeat(64)],
    ['zero', '0'.repeat(64)],
    ['the curve order n', 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'],
    ['an nsec with a broken checksum', VECTOR_1.nsec.slice(0, -1) + (VECTOR_1.nsec.endsWith('p') ? 'q' : 'p')],
    ['an npub', VECTOR_1.npub],
    ['an empty string', ''],
  ])('rejects %s with invalid_private_key', (_, key) => {
    const error = expectNip06Error(() => identityFromPrivateKey(key), 'invalid_private_key');
    if (key.length > 8) expect(error.message).not.toContain(key.slice(5, 20));
  });
});

describe('npub helpers', () => {
  it.each(NIP06_VECTORS.map((vector) => [vector.npub, vector.publicKeyHex]))('%s ↔ %s', (npub, hex) => {
    expect(npubToHex(npub)).toBe(hex);
    expect(hexToNpub(hex)).toBe(npub);
    expect(hexToNpub(hex.toUpperCase())).toBe(npub);
  });

  it('round-trips freshly generated identities through npub and nsec', () => {
    for (let i = 0; i < 3; i += 1) {
      const identity = deriveIdentity(generateMnemonic(), { account: i });
      expect(npubToHex(hexToNpub(identity.publicKeyHex))).toBe(identity.publicKeyHex);
      expect(identityFromPrivateKey(identity.nsec).privateKeyHex).toBe(identity.privateKeyHex);
      expect(identityFromPrivateKey(identity.privateKeyHex).npub).toBe(identity.npub);
    }
  });

  it.each([
    ['an nsec', VECTOR_1.nsec],
    ['a broken checksum', VECTOR_1.npub.slice(0, -1) + (VECTOR_1.npub.endsWith('u') ? 'v' : 'u')],
    ['hex', VECTOR_1.publicKeyHex],
  ])('npubToHex rejects %s with invalid_npub', (_, value) => {
    expectNip06Error(() => npubToHex(value), 'invalid_npub');
  });

  it.each([
    ['too short', 'ab'.repeat(31)],
    ['not hex', 'zz'.repeat(32)],
  ])('hexToNpub rejects a key that is %s', (_, hex) => {
    expectNip06Error(() => hexToNpub(hex), 'invalid_public_key');
  });

  it('hexToNpub rejects an x coordinate with no point on the curve (x = 5) and one ≥ p', () => {
    expectNip06Error(() => hexToNpub('5'.padStart(64, '0')), 'invalid_public_key');
    expectNip06Error(() => hexToNpub('f'.repeat(64)), 'invalid_public_key');
  });
});

describe('secret hygiene of identities and errors', () => {
  const identity = deriveIdentity(VECTOR_1.mnemonic);

  it('keeps the keys as plain readable fields', () => {
    expect(identity).toBeInstanceOf(NostrIdentity);
    const { privateKeyHex, nsec } = identity;
    expect({ privateKeyHex, nsec }).toEqual({ privateKeyHex: VECTOR_1.privateKeyHex, nsec: VECTOR_1.nsec });
    expect({ ...identity }.privateKeyHex).toBe(VECTOR_1.privateKeyHex);
  });

  it('hides the private key from toString, template strings, JSON and Node inspect', () => {
    const inspect = (identity as unknown as Record<symbol, () => string>)[Symbol.for('nodejs.util.inspect.custom')]!;
    const renderings = [String(identity), `${identity}`, JSON.stringify(identity), inspect.call(identity)];
    for (const text of renderings) {
      expect(text).not.toContain(VECTOR_1.privateKeyHex);
      expect(text).not.toContain(VECTOR_1.nsec);
    }
    expect(String(identity)).toContain(VECTOR_1.npub);
    expect(JSON.parse(JSON.stringify(identity))).toMatchObject({ npub: VECTOR_1.npub, publicKeyHex: VECTOR_1.publicKeyHex });
  });

  it('never puts the mnemonic, its words or a private key into error messages', () => {
    const words = VECTOR_1.mnemonic.split(' ');
    const badMnemonics = [
      VECTOR_1.mnemonic.replace('bean', 'zoo'),
      VECTOR_1.mnemonic.replace('parrot', 'parrotx'),
      `${VECTOR_1.mnemonic} extra`,
      VECTOR_1.mnemonic.replace('guide', 'guidé'),
    ];
    for (const mnemonic of badMnemonics) {
      const error = thrown(() => deriveIdentity(mnemonic)) as Error;
      const text = `${String(error)} ${error.message} ${JSON.stringify(error)}`;
      for (const word of [...words, 'parrotx', 'guidé', 'extra']) expect(text).not.toContain(word);
    }
    const badKeys = [VECTOR_1.privateKeyHex.slice(0, 63), `${VECTOR_1.nsec}x`];
    for (const key of badKeys) {
      const error = thrown(() => identityFromPrivateKey(key)) as Error;
      expect(`${String(error)} ${JSON.stringify(error)}`).not.toContain(key.slice(0, 40));
    }
  });
});
