// `npm test`: every check the project has, in order, on a fresh clone.
// lint → typecheck each package → unit + integration tests (vitest) → e2e (when present).
// Prints one closing line "tests: N passed, N failed" so CI can read the outcome.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './bootstrap.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
let failedSteps = [];

function step(title, cmd, args, opts = {}) {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) failedSteps.push(title);
  return r.status === 0;
}

step('lint', bin('eslint'), ['.', '--max-warnings=0']);

const projects = ['packages', 'apps']
  .flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(d, p)) : []))
  .concat(['spacetime-module', 'e2e', 'bench'])
  .filter((p) => existsSync(join(root, p, 'tsconfig.json')));
for (const p of projects) step(`typecheck ${p}`, bin('tsc'), ['--noEmit', '-p', join(p, 'tsconfig.json')]);

const reportDir = mkdtempSync(join(tmpdir(), 'autopilot-test-'));
const report = join(reportDir, 'vitest.json');
step('unit + integration tests', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);

let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A file that fails to load runs no test; count it as a failure so the closing line says so.
  const unloaded = (r.testResults ?? []).filter((f) => f.status === 'failed' && !f.assertionResults?.some((a) => a.status === 'failed'));
  failed += unloaded.length;
}

if (existsSync(join(root, 'e2e', 'package.json'))) {
  const e2e = spawnSync(process.execPath, [join(root, 'e2e', 'run.mjs')], { cwd: root, stdio: 'inherit' });
  if (e2e.status !== 0) failedSteps.push('e2e');
}

if (failedSteps.length) console.log(`\nfailed steps: ${failedSteps.join(', ')}`);
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failedSteps.length ? 1 : 0);
