// The `spacetime-host` CLI as a user runs it: start prints one listening line, sql/call talk to it,
// describe and generate read the module; committed fixture bindings must match a fresh generate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(pkg, 'node_modules', '.bin', 'tsx');
const cli = join(pkg, 'bin', 'spacetime-host.ts');
const chat = join(pkg, 'test', 'fixtures', 'chat');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [cli, ...args], { cwd: pkg, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe('spacetime-host CLI', () => {
  let child: ChildProcess;
  let url: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'host-cli-'));
    child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--module', chat, '--name', 'chat', '--port', '0', '--data-dir', dataDir], { cwd: pkg });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`host exited early (${code}): ${out}`)));
    });
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('start prints exactly one listening line and serves the database', async () => {
    const res = await fetch(`${url}/v1/database/chat`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('chat');
  });

  it('call and sql work against the running host; bad input gets a clear error', () => {
    const owner = readFileSync(join(dataDir, 'owner-token'), 'utf8');
    expect(run(['call', '--server', url, '--name', 'chat', '--token', owner, 'keep_secret', '[7, "the owner note"]']).status).toBe(0);
    const out = run(['sql', '--server', url, '--name', 'chat', '--token', owner, 'SELECT * FROM secret']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('the owner note');
    const anon = run(['sql', '--server', url, '--name', 'chat', 'SELECT * FROM secret']);
    expect(anon.status).toBe(2);
    expect(anon.stderr).toMatch(/secret/);
    const bad = run(['call', '--server', url, '--name', 'chat', 'keep_secret', '["not a number", "x"]']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid arguments/);
    expect(run(['sql', '--server', url, '--name', 'chat', 'SELEC nonsense']).stderr).toMatch(/400/);
  });

  it('SIGTERM stops the host cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'host-cli-'));
    const p = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--module', chat, '--name', 'chat', '--port', '0', '--data-dir', dir], { cwd: pkg });
    await new Promise<void>((resolve) => p.stdout!.on('data', (d) => String(d).includes('listening on') && resolve()));
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => p.once('exit', resolve));
    expect(code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('describe --json prints the module definition', () => {
    const out = run(['describe', '--module', chat, '--json']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('sendMessage');
    expect(() => JSON.parse(out.stdout)).not.toThrow();
  });

  it('committed fixture bindings equal a fresh generate', () => {
    const out = mkdtempSync(join(tmpdir(), 'host-gen-'));
    try {
      expect(run(['generate', '--module', chat, '--out-dir', out]).status).toBe(0);
      const committed = join(chat, 'module_bindings');
      const fresh = listFiles(out).map((f) => relative(out, f)).sort();
      expect(listFiles(committed).map((f) => relative(committed, f)).sort()).toEqual(fresh);
      for (const f of fresh) expect(readFileSync(join(committed, f), 'utf8'), `${f} is stale: regenerate the chat bindings`).toBe(readFileSync(join(out, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with exit code 2', () => {
    expect(run(['start']).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
    const missing = run(['describe', '--module', '/nonexistent/module']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/module not found/);
  });
});
