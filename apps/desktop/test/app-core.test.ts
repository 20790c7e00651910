// Two cores (two profiles) and the resident peer on one embedded world, driven through the same
// bridge calls the renderer makes.
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppCore } from '../src/core/app-core';
import { PEER_NAME, textProcessJob } from '../src/core/embedded/peer';
import { startEmbeddedWorld, type EmbeddedWorld } from '../src/core/embedded/world';
import { LocalKeySecretBox } from '../src/core/secrets';
import { applyPreferences } from '../src/core/world/session';
import { tempDir, until } from './helpers';

const SEED_A = 'leader monkey parrot ring guide accident before fence cannon height naive bean';
const SEED_B = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const silent = pino({ level: 'silent' });

let world: EmbeddedWorld;
let a: AppCore;
let b: AppCore;
let cleanup: () => Promise<void>;

async function openCore(dir: string): Promise<AppCore> {
  return AppCore.open({
    profileDir: dir,
    secretBox: await LocalKeySecretBox.open(dir),
    mode: 'web',
    embedded: { worldUrl: world.worldUrl, databaseName: world.databaseName, controlUrl: world.controlUrl },
    logger: silent,
  });
}

async function ok<T>(pending: Promise<{ ok: boolean; value?: T; message?: string }>): Promise<T> {
  const result = await pending;
  if (!result.ok) throw new Error(`call failed: ${result.message}`);
  return result.value as T;
}

beforeAll(async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  world = await startEmbeddedWorld({ dataDir: join(temp.dir, 'world'), logger: silent });
  a = await openCore(join(temp.dir, 'a'));
  b = await openCore(join(temp.dir, 'b'));
  await ok(a.call('identity.import', { mnemonic: SEED_A, label: 'Ada' }));
  await ok(b.call('identity.import', { mnemonic: SEED_B, label: 'Bea' }));
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await world?.close();
  await cleanup?.();
});

describe('AppCore on the embedded world', () => {
  it('connects both profiles; each sees the other and the resident peer', async () => {
    await until(() => a.state().connection.status === 'connected' && b.state().connection.status === 'connected', 'both connected', 30_000);
    await until(() => ['Ada', 'Bea', PEER_NAME].every((name) => a.state().presence.some((p) => p.displayName === name && p.status === 'online')), 'presence at A', 15_000);
    expect(a.state().self).toMatchObject({ displayName: 'Ada', npub: expect.stringMatching(/^npub1/) });
    expect(a.state().presence.find((p) => p.isSelf)?.displayName).toBe('Ada');
  });

  it('delivers a private conversation in order with unread counts and read markers', async () => {
    const bea = a.state().presence.find((p) => p.displayName === 'Bea')!;
    await ok(a.call('channels.open', { name: 'ada-bea', peers: [bea.id], isPrivate: true }));
    await until(() => a.state().channels.length === 1, 'the channel at A');
    const channelId = a.state().channels[0]!.id;
    for (const text of ['one', 'two', 'three']) await ok(a.call('messages.send', { channelId, text }));
    await until(() => (b.state().messages[channelId] ?? []).length === 3, 'three messages at B');
    expect(b.state().messages[channelId]!.map((m) => [m.seq, m.payload, m.senderName])).toEqual([
      [1, 'one', 'Ada'],
      [2, 'two', 'Ada'],
      [3, 'three', 'Ada'],
    ]);
    expect(b.state().channels[0]).toMatchObject({ name: 'ada-bea', isPrivate: true, unread: 3, readSeq: 0 });
    expect(a.state().channels[0]!.unread).toBe(0); // own messages are never unread

    await ok(b.call('messages.markRead', { channelId, seq: 2 }));
    await until(() => b.state().channels[0]!.unread === 1, 'one unread left');
    expect(await b.call('messages.markRead', { channelId: '999', seq: 1 })).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('opens a workspace channel with an invited member', async () => {
    const bea = a.state().presence.find((p) => p.displayName === 'Bea')!;
    await ok(a.call('workspaces.create', { slug: 'crew', name: 'Crew' }));
    await until(() => a.state().workspaces.length === 1, 'the workspace at A');
    const workspace = a.state().workspaces[0]!;
    expect(workspace).toMatchObject({ slug: 'crew', name: 'Crew', role: 'owner' });
    // Only members can be seated in a workspace channel.
    const early = await a.call('channels.open', { name: 'crew-chat', peers: [bea.id], isPrivate: false, workspaceId: workspace.id });
    expect(early).toMatchObject({ ok: false, code: 'rejected', message: expect.stringContaining('not a member') });
    await ok(a.call('workspaces.invite', { workspaceId: workspace.id, member: bea.id }));
    await until(() => b.state().workspaces.some((w) => w.slug === 'crew' && w.role === 'editor'), 'the workspace at B');
    await ok(a.call('channels.open', { name: 'crew-chat', peers: [bea.id], isPrivate: false, workspaceId: workspace.id }));
    await until(() => b.state().channels.some((c) => c.name === 'crew-chat' && c.workspaceId === workspace.id), 'the workspace channel at B');
  });

  it('runs a compute request on the resident peer and shows its verified result', async () => {
    const peer = a.state().ads.find((ad) => ad.providerName === PEER_NAME)!;
    expect(peer.computeClasses).toContain('cpu.small');
    await ok(a.call('compute.request', { provider: peer.provider, policyClass: 'cpu.small', job: 'two words', maxPriceMsats: 0 }));
    await until(() => a.state().compute.some((r) => r.status === 'completed'), 'the completed request', 15_000);
    expect(a.state().compute[0]).toMatchObject({ role: 'requester', job: 'two words', providerName: PEER_NAME, result: '2 words, 9 chars, reversed "sdrow owt"' });
  });

  it('refuses calls that are not in the contract or have bad params', async () => {
    expect(await a.call('shell.exec', { cmd: 'rm -rf /' })).toMatchObject({ ok: false, code: 'unknown_call' });
    expect(await a.call('settings.update', { relays: ['http://x'] })).toMatchObject({ ok: false, code: 'invalid_params', message: expect.stringContaining('relay') });
  });
});

describe('pure pieces', () => {
  it('the text.process job describes its input and validates it', () => {
    expect(textProcessJob.validate({ text: 'ok' })).toBeNull();
    expect(textProcessJob.validate({ txt: 'no' })).toContain('input.text');
    expect(textProcessJob.run({ text: ' hello world ' })).toEqual({ ok: true, result: { text: '2 words, 11 chars, reversed "dlrow olleh"' } });
  });

  it('user preferences narrow the control policy', () => {
    const policy = { primary: 'spacetime' as const, nostr: { fallbackAllowed: true, mirrorAllowed: false, relays: ['wss://policy.example'] } };
    expect(applyPreferences(policy, { fallbackEnabled: false, relays: [] }).nostr).toEqual({ fallbackAllowed: false, mirrorAllowed: false, relays: ['wss://policy.example'] });
    expect(applyPreferences(policy, { fallbackEnabled: true, relays: ['ws://127.0.0.1:7777'] }).nostr.relays).toEqual(['ws://127.0.0.1:7777']);
    const denied = { ...policy, nostr: { ...policy.nostr, fallbackAllowed: false } };
    expect(applyPreferences(denied, { fallbackEnabled: true, relays: [] }).nostr.fallbackAllowed).toBe(false);
  });
});
