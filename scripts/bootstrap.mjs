// Makes a fresh clone runnable: installs pnpm locally (no global install, no corepack,
// whose signature check fails on machines without the corepack key cache), then the
// workspace's dependencies. Skips work when the lockfile has not changed since last time.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const toolsDir = join(root, '.tools');
const pnpmBin = join(toolsDir, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, COREPACK_ENABLE_STRICT: '0' } });
}

function installedPnpmVersion() {
  try {
    return JSON.parse(readFileSync(join(toolsDir, 'node_modules', 'pnpm', 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (installedPnpmVersion() !== pnpmVersion) {
  console.log(`bootstrap: installing pnpm ${pnpmVersion} into .tools/`);
  run('npm', ['install', '--prefix', toolsDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `pnpm@${pnpmVersion}`]);
}

const lockPath = join(root, 'pnpm-lock.yaml');
const stampPath = join(root, 'node_modules', '.bootstrap-stamp');
const lockDigest = () =>
  createHash('sha256')
    .update(existsSync(lockPath) ? readFileSync(lockPath) : '')
    .update(pnpmVersion)
    .digest('hex');
const have = existsSync(stampPath) ? readFileSync(stampPath, 'utf8') : '';
if (have !== lockDigest()) {
  console.log('bootstrap: installing workspace dependencies');
  const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
  run(process.execPath, [pnpmBin, 'install', ...frozen, '--reporter=append-only']);
  writeFileSync(stampPath, lockDigest());
}

export { pnpmBin, root };
