import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKeySecretBox } from '../src/core/secrets';
import { tempDir } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('LocalKeySecretBox', () => {
  it('round-trips, with a fresh nonce each time, under a key only the user can read', async () => {
    const box = await LocalKeySecretBox.open(dir);
    const a = await box.encrypt('secret words');
    const b = await box.encrypt('secret words');
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(await (await LocalKeySecretBox.open(dir)).decrypt(a)).toBe('secret words');
    expect((await stat(join(dir, 'local.key'))).mode & 0o077).toBe(0);
  });

  it('refuses tampered or truncated ciphertext', async () => {
    const box = await LocalKeySecretBox.open(dir);
    const sealed = await box.encrypt('secret');
    sealed[sealed.length - 1]! ^= 1;
    await expect(box.decrypt(sealed)).rejects.toThrow();
    await expect(box.decrypt(new Uint8Array(10))).rejects.toThrow('too short');
  });
});
