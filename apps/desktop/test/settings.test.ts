import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, SettingsStore } from '../src/core/settings';
import { tempDir } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('SettingsStore', () => {
  it('starts from the defaults and the embedded endpoints', async () => {
    const store = await SettingsStore.open(dir, { worldUrl: 'ws://127.0.0.1:4000' });
    expect(store.get()).toEqual({ ...DEFAULT_SETTINGS, worldUrl: 'ws://127.0.0.1:4000' });
  });

  it('keeps an update across reopening', async () => {
    const store = await SettingsStore.open(dir);
    const updated = await store.update({ nostrFallback: true, relays: ['ws://127.0.0.1:7777'], displayName: 'Ada' });
    expect(updated.ok).toBe(true);
    const reopened = await SettingsStore.open(dir);
    expect(reopened.get()).toMatchObject({ nostrFallback: true, relays: ['ws://127.0.0.1:7777'], displayName: 'Ada' });
  });

  it('refuses an invalid update with its reason and keeps what was saved', async () => {
    const store = await SettingsStore.open(dir);
    await store.update({ displayName: 'Ada' });
    const before = await readFile(join(dir, 'settings.json'), 'utf8');
    const refused = await store.update({ controlUrl: 'ftp://control', displayName: 'Bob' });
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('controlUrl') });
    expect(store.get().displayName).toBe('Ada');
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe(before);
  });

  it('reports a damaged settings file instead of silently resetting it', async () => {
    await writeFile(join(dir, 'settings.json'), '{ not json');
    await expect(SettingsStore.open(dir)).rejects.toThrow('not valid JSON');
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ databaseName: 'UPPER CASE' }));
    await expect(SettingsStore.open(dir)).rejects.toThrow('databaseName');
  });
});
