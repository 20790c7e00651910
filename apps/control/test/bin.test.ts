import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const bin = resolve(import.meta.dirname, '../bin/autopilot-control.ts');

function runBin(args: string[]) {
  const child = spawn(tsx, [bin, ...args], { env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const firstLine = () =>
    new Promise<string>((resolveLine, reject) => {
      const check = () => {
        if (stdout.includes('\n')) resolveLine(stdout.slice(0, stdout.indexOf('\n')));
      };
      child.stdout.on('data', check);
      check();
      void exited.then(() => reject(new Error(`exited before printing a line; stderr: ${stderr}`)));
    });
  return { child, firstLine, exited, output: () => ({ stdout, stderr }) };
}

describe('autopilot-control bin', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'control-bin-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints exactly one listening line, serves discovery, and stops on SIGTERM', async () => {
    const configFile = join(dir, 'control.json');
    await writeFile(configFile, JSON.stringify({ org: 'bin-test' }));
    const dataDir = join(dir, 'data');
    const run = runBin(['--port', '0', '--config', configFile, '--data-dir', dataDir]);
    try {
      const line = await run.firstLine();
      expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
      const url = line.slice('listening on '.length);
      const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(discovery.issuer).toBe(url);
      expect(await readdir(dataDir)).toContain('keys.json');
    } finally {
      run.child.kill('SIGTERM');
    }
    const [code] = await run.exited;
    expect(code).toBe(0);
    expect(run.output().stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it('exits with a message naming the config file when the config is invalid', async () => {
    const configFile = join(dir, 'bad.json');
    await writeFile(configFile, JSON.stringify({ tokenTtlSeconds: 'soon' }));
    const run = runBin(['--port', '0', '--config', configFile]);
    const [code] = await run.exited;
    expect(code).toBe(2);
    expect(run.output().stdout).toBe('');
    expect(run.output().stderr).toContain(`config file ${configFile} is invalid: tokenTtlSeconds`);
  });

  it('exits with usage when --port is missing', async () => {
    const run = runBin([]);
    const [code] = await run.exited;
    expect(code).toBe(2);
    expect(run.output().stderr).toContain('--port must be an integer');
  });
});
