// The autopilot-node CLI: argument checks, and the real binary joining a real world.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npubToHex } from '@autopilot/nip06';
import { loadNodeConfig, parseCli, parseWorldUrl } from '../../src/node/index';
import type { DeliveredMessage } from '../../src/index';
import { startTestWorld, until, type TestWorld } from '../support/world';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const bin = resolve(import.meta.dirname, '../../bin/autopilot-node.ts');

describe('parseCli', () => {
  const required = ['--world', 'ws://127.0.0.1:3000/world', '--control', 'http://127.0.0.1:8787', '--keystore', '/tmp/k'];

  it('reads the flags with their defaults', () => {
    expect(parseCli(required)).toEqual({
      ok: true,
      options: {
        world: 'ws://127.0.0.1:3000/world',
        control: 'http://127.0.0.1:8787',
        keystore: '/tmp/k',
        name: 'autopilot-node',
        count: 1,
        database: undefined,
        config: undefined,
        logLevel: 'warn',
        scryptLogN: undefined,
      },
    });
    expect(parseCli([...required, '--count', '5', '--name', 'peer'])).toMatchObject({ ok: true, options: { count: 5, name: 'peer' } });
  });

  it('says what is wrong with bad arguments', () => {
    expect(parseCli(['--world', 'ws://x'])).toMatchObject({ ok: false, message: expect.stringMatching(/^missing --control, --keystore\n/) });
    expect(parseCli([...required, '--count', '0'])).toEqual({ ok: false, message: '--count must be an integer from 1 to 10000, got 0' });
    expect(parseCli([...required, '--log-level', 'loud'])).toMatchObject({ ok: false, message: expect.stringContaining('--log-level must be one of') });
    expect(parseCli([...required, '--bogus'])).toMatchObject({ ok: false, message: expect.stringContaining("Unknown option '--bogus'") });
    expect(parseCli(['--help'])).toMatchObject({ ok: false, help: true, message: expect.stringContaining('usage: autopilot-node') });
  });

  it('splits the world URL into server and database', () => {
    expect(parseWorldUrl('ws://127.0.0.1:3000/my-world')).toEqual({ uri: 'ws://127.0.0.1:3000', database: 'my-world' });
    expect(parseWorldUrl('http://h:1')).toEqual({ uri: 'http://h:1', database: 'world' });
    expect(() => parseWorldUrl('ftp://h/x')).toThrow('--world must be a ws://, wss://, http:// or https:// URL');
    expect(() => parseWorldUrl('ws://h/a/b')).toThrow('--world path must be just the database name, got /a/b');
  });

  it('validates a node config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-config-'));
    const write = (name: string, json: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(json));
      return path;
    };
    expect(await loadNodeConfig(write('ok.json', { computeClasses: ['cpu.small'], maxConcurrency: 3 }))).toEqual({ computeClasses: ['cpu.small'], maxConcurrency: 3 });
    const typo = write('typo.json', { computeClass: ['x'] });
    await expect(loadNodeConfig(typo)).rejects.toThrow(`config ${typo} has unknown fields: computeClass`);
    await expect(loadNodeConfig(write('bad.json', { computeClasses: ['CPU Small'] }))).rejects.toThrow('computeClasses must be a list of lowercase names');
    await expect(loadNodeConfig(join(dir, 'missing.json'))).rejects.toThrow('cannot read config');
  });
});

describe('autopilot-node binary', () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startTestWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  function run(args: string[]) {
    const child = spawn(tsx, [bin, ...args], { env: { ...process.env, AUTOPILOT_NODE_PASSPHRASE: 'test passphrase' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    return { child, exited, lines: () => stdout.split('\n').filter(Boolean), stderr: () => stderr };
  }

  it('joins N nodes, prints one line each, answers messages, keeps its identities, and leaves on SIGTERM', async () => {
    const keystore = join(mkdtempSync(join(tmpdir(), 'node-keys-')), 'keys.json');
    const worldUrl = `${world.wsUrl}/${world.name}`;
    const args = ['--world', worldUrl, '--control', world.control.url, '--keystore', keystore, '--name', 'peer', '--count', '2', '--scrypt-log-n', '4'];
    const first = run(args);
    await until(() => first.lines().length === 2, `two joined lines (stderr: ${first.stderr()})`, 20_000);
    const joined = first.lines().map((line) => /^autopilot-node joined as (npub1[0-9a-z]+) on (\S+)$/.exec(line));
    expect(joined.every((match) => match?.[2] === worldUrl)).toBe(true);
    const npubs = joined.map((match) => match![1]!).sort();
    expect(new Set(npubs).size).toBe(2);

    const user = world.client({ name: 'user' });
    await user.client.start();
    await user.client.whenConnected(10_000);
    const pubkey = npubToHex(npubs[0]!);
    await until(() => Object.values(user.client.stores.presence.getState().nodes).some((n) => n.pubkey === pubkey && n.status === 'online'), 'the node is online');
    const peer = Object.values(user.client.stores.presence.getState().nodes).find((n) => n.pubkey === pubkey)!;
    expect(peer.displayName).toMatch(/^peer-[01]$/);
    const opened = await user.client.openChannel({ name: 'hi', kind: 'direct', participants: [peer.id] });
    if (!opened.ok) throw new Error(opened.message);
    const replies: DeliveredMessage[] = [];
    user.client.onMessage((message) => !message.own && replies.push(message));
    await user.client.publishMessage({ channelId: opened.channelId!, payload: 'ping' });
    await until(() => replies.length === 1, 'the node answered', 10_000);
    expect(replies[0]!.payload).toBe('pong');

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual([0, null]);
    await until(() => user.client.stores.presence.getState().nodes[peer.id]?.status === 'offline', 'the node left');

    const second = run(args);
    await until(() => second.lines().length === 2, 'joined again', 20_000);
    const again = second.lines().map((line) => line.split(' ')[3]!).sort();
    expect(again).toEqual(npubs);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual([0, null]);
  });

  it('exits 2 with the usage on bad arguments, and 1 when the keystore does not open', async () => {
    const bad = run(['--world', 'ws://127.0.0.1:1']);
    expect(await bad.exited).toEqual([2, null]);
    expect(bad.stderr()).toContain('missing --control, --keystore');

    const keystore = join(mkdtempSync(join(tmpdir(), 'node-keys-')), 'keys.json');
    const wrong = run(['--world', `${world.wsUrl}/${world.name}`, '--control', world.control.url, '--keystore', keystore, '--scrypt-log-n', '4']);
    await until(() => wrong.lines().length === 1, 'joined', 20_000);
    wrong.child.kill('SIGTERM');
    await wrong.exited;
    const locked = spawn(tsx, [bin, '--world', `${world.wsUrl}/${world.name}`, '--control', world.control.url, '--keystore', keystore], {
      env: { ...process.env, AUTOPILOT_NODE_PASSPHRASE: 'another passphrase' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    locked.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    expect(await once(locked, 'exit')).toEqual([1, null]);
    expect(stderr).toContain('autopilot-node: the passphrase does not unlock this keystore');
  });
});
