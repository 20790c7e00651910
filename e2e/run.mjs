// The e2e suite on a clean machine: makes sure Chromium is there (Debian's package, installed with
// apt when running as root), builds the app, runs the Playwright specs, and ends with one line
// "e2e: N passed, N failed". Exits non-zero when anything failed or could not run.
// Real Electron windows are used instead of Chromium whenever an Electron binary is present.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const e2eDir = dirname(fileURLToPath(import.meta.url));
const root = join(e2eDir, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);

function finish(passed, failed, note) {
  if (note) console.log(note);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

function run(cmd, args, options = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
}

function ensureChromium() {
  const found = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return undefined;
  console.log('e2e: installing Chromium with apt (Debian package)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update'], { env }).status !== 0) return undefined;
  if (run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env }).status !== 0) return undefined;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}

const chromium = ensureChromium();
if (!chromium) finish(0, 1, 'e2e: no Chromium found and it could not be installed (run as root, or set CHROMIUM_PATH)');

console.log('e2e: building the app (renderer, web bridge, Electron bundles)');
if (run(tsx, [join(root, 'apps', 'desktop', 'scripts', 'build.ts'), '--if-stale']).status !== 0) finish(0, 1, 'e2e: the app build failed');

const resultsFile = join(e2eDir, 'results.json');
rmSync(resultsFile, { force: true });
rmSync(join(e2eDir, 'artifacts'), { recursive: true, force: true });
const playwright = join(e2eDir, 'node_modules', '.bin', 'playwright');
const suite = run(playwright, ['test', '--config', join(e2eDir, 'playwright.config.ts')], {
  cwd: e2eDir,
  env: { ...process.env, CHROMIUM_PATH: chromium },
  timeout: 10 * 60_000,
});

if (!existsSync(resultsFile)) finish(0, 1, `e2e: Playwright produced no results (exit ${suite.status ?? suite.signal})`);
const stats = JSON.parse(readFileSync(resultsFile, 'utf8')).stats ?? {};
const passed = (stats.expected ?? 0) + (stats.flaky ?? 0);
const failed = (stats.unexpected ?? 0) + (suite.status !== 0 && (stats.unexpected ?? 0) === 0 ? 1 : 0);
finish(passed, failed, `e2e: screenshots in ${join(e2eDir, 'artifacts')}`);
