import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../src/electron-binary';
import { tempDir } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('findElectronBinary', () => {
  it('finds nothing when the electron package has no downloaded binary (web mode)', () => {
    expect(findElectronBinary({}, dir)).toBeUndefined();
  });

  it('finds the binary the electron package recorded, or the one ELECTRON_PATH names', async () => {
    await writeFile(join(dir, 'path.txt'), 'electron');
    expect(findElectronBinary({}, dir)).toBeUndefined(); // recorded but missing
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'electron'), '');
    expect(findElectronBinary({}, dir)).toBe(join(dir, 'dist', 'electron'));
    const custom = join(dir, 'my-electron');
    await writeFile(custom, '');
    expect(findElectronBinary({ ELECTRON_PATH: custom }, join(dir, 'nowhere'))).toBe(custom);
    expect(findElectronBinary({ ELECTRON_PATH: join(dir, 'missing') }, join(dir, 'nowhere'))).toBeUndefined();
  });
});
