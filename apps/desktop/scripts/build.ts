// Builds what the app serves and runs from dist/: the renderer (vite), the web-mode bridge shim,
// and the Electron main + preload bundles (esbuild; the sandboxed preload must be one file).
// `--if-stale` skips the work when dist/ is newer than every source file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';

const appDir = resolve(import.meta.dirname, '..');
const dist = join(appDir, 'dist');
const stamp = join(dist, 'renderer', 'web-bridge.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The Electron main process as one ESM file (workspace packages ship TypeScript, so all is bundled). */
export async function bundleElectronMain(outfile: string): Promise<void> {
  await esbuild({
    entryPoints: [join(appDir, 'src/electron/main.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['electron'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

export async function buildApp(options: { ifStale?: boolean } = {}): Promise<{ built: boolean }> {
  if (options.ifStale && existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(appDir, 'src'))) return { built: false };
  // The shim is the staleness stamp, so it is written last: a failed build is redone next time.
  await bundleElectronMain(join(dist, 'electron', 'main.mjs'));
  await esbuild({
    entryPoints: [join(appDir, 'src/electron/preload.ts')],
    outfile: join(dist, 'electron', 'preload.cjs'),
    bundle: true,
    minify: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['electron'],
    logLevel: 'warning',
  });
  await viteBuild({ configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn' });
  await esbuild({
    entryPoints: [join(appDir, 'src/web/bridge-shim.ts')],
    outfile: stamp,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
  });
  return { built: true };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { built } = await buildApp({ ifStale: process.argv.includes('--if-stale') });
  console.log(built ? `built ${dist}` : `dist is up to date (${dist})`);
}
