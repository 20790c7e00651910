// Finds an Electron binary without `require('electron')`, which would try to download one.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const electronPackageDir = resolve(import.meta.dirname, '..', 'node_modules', 'electron');

/** ELECTRON_PATH, or the binary the electron package installed; undefined when there is none. */
export function findElectronBinary(env: NodeJS.ProcessEnv = process.env, packageDir = electronPackageDir): string | undefined {
  if (env.ELECTRON_PATH && existsSync(env.ELECTRON_PATH)) return env.ELECTRON_PATH;
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const relative = readFileSync(pathFile, 'utf8').trim();
  const dist = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(packageDir, 'dist');
  const binary = join(dist, relative);
  return relative !== '' && existsSync(binary) ? binary : undefined;
}
