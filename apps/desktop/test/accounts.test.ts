import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountManager, CONFIRM_WORDS } from '../src/core/accounts';
import { LocalKeySecretBox } from '../src/core/secrets';
import { tempDir } from './helpers';

// NIP-06's published test vector.
const VECTOR_MNEMONIC = 'leader monkey parrot ring guide accident before fence cannon height naive bean';
const VECTOR_PUBKEY = '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const open = async () => AccountManager.open(dir, await LocalKeySecretBox.open(dir));

describe('AccountManager', () => {
  it('saves a new seed only after the backup words are typed back', async () => {
    const accounts = await open();
    const draft = accounts.createDraft();
    expect(draft.words).toHaveLength(12);
    expect(draft.confirmPositions).toHaveLength(CONFIRM_WORDS);

    const wrong = await accounts.confirmDraft(draft.draftId, 'Ada', draft.confirmPositions.map((position) => ({ position, word: 'zoo' })));
    expect(wrong).toMatchObject({ ok: false, code: 'backup_mismatch', message: expect.stringContaining(`#${draft.confirmPositions[0]}`) });
    expect(accounts.list()).toEqual([]);

    const right = await accounts.confirmDraft(
      draft.draftId,
      'Ada',
      draft.confirmPositions.map((position) => ({ position, word: ` ${draft.words[position - 1]!.toUpperCase()} ` })),
    );
    expect(right).toMatchObject({ ok: true, value: { label: 'Ada' } });
    expect(accounts.activeId()).toBe(right.ok ? right.value.id : null);
    // A used draft cannot be confirmed twice.
    expect(await accounts.confirmDraft(draft.draftId, 'Ada', [])).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('imports a NIP-06 seed, keeps it encrypted, and finds it again after reopening', async () => {
    const accounts = await open();
    const imported = await accounts.importMnemonic(`  ${VECTOR_MNEMONIC.toUpperCase()} `, 'Vector');
    expect(imported).toMatchObject({ ok: true, value: { id: VECTOR_PUBKEY, label: 'Vector' } });

    const keystore = await readFile(join(dir, 'keystore.bin'));
    expect(keystore.includes(Buffer.from('monkey'))).toBe(false);
    expect((await stat(join(dir, 'keystore.bin'))).mode & 0o077).toBe(0);

    const reopened = await open();
    expect(reopened.activeId()).toBe(VECTOR_PUBKEY);
    expect((await reopened.activeIdentity())?.publicKeyHex).toBe(VECTOR_PUBKEY);
    expect(await reopened.backupWords(VECTOR_PUBKEY)).toEqual({ ok: true, value: VECTOR_MNEMONIC.split(' ') });
  });

  it('keeps several accounts (including other NIP-06 account indexes) and switches between them', async () => {
    const accounts = await open();
    await accounts.importMnemonic(VECTOR_MNEMONIC, 'Main');
    const second = await accounts.importMnemonic(VECTOR_MNEMONIC, 'Second', 1);
    expect(second.ok && second.value.id).not.toBe(VECTOR_PUBKEY);
    expect(accounts.list().map((a) => a.label).sort()).toEqual(['Main', 'Second']);
    expect(await accounts.switchTo(VECTOR_PUBKEY)).toEqual({ ok: true, value: null });
    expect((await accounts.activeIdentity())?.publicKeyHex).toBe(VECTOR_PUBKEY);
    expect(await accounts.switchTo('nope')).toMatchObject({ ok: false, code: 'not_found' });
    expect(await accounts.remove(VECTOR_PUBKEY)).toEqual({ ok: true, value: null });
    expect(accounts.activeId()).toBeNull();
    expect(accounts.list().map((a) => a.label)).toEqual(['Second']);
  });

  it('refuses an invalid seed phrase with the reason', async () => {
    const accounts = await open();
    const result = await accounts.importMnemonic('leader monkey parrot ring guide accident before fence cannon height naive naive', 'Bad');
    expect(result).toMatchObject({ ok: false, code: 'invalid_mnemonic', message: expect.stringMatching(/checksum/i) });
    expect(accounts.list()).toEqual([]);
  });

  it('cannot be opened with another machine key', async () => {
    await (await open()).importMnemonic(VECTOR_MNEMONIC, 'Main');
    const { dir: otherDir, cleanup: cleanOther } = await tempDir();
    try {
      await expect(AccountManager.open(dir, await LocalKeySecretBox.open(otherDir))).rejects.toThrow();
    } finally {
      await cleanOther();
    }
  });
});
