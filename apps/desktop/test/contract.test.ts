import { describe, expect, it } from 'vitest';
import { Settings, StatePush, parseCall, parseResult } from '../src/shared/contract';

describe('bridge contract', () => {
  it('accepts a well-formed call and fills defaults', () => {
    const parsed = parseCall('channels.open', { name: ' ops ', peers: ['a'.repeat(64)], isPrivate: true });
    expect(parsed).toEqual({ ok: true, name: 'channels.open', params: { name: 'ops', peers: ['a'.repeat(64)], isPrivate: true, workspaceId: '0' } });
  });

  it('refuses an unknown call by name', () => {
    expect(parseCall('fs.readFile', { path: '/etc/passwd' })).toMatchObject({ ok: false, code: 'unknown_call', message: expect.stringContaining('fs.readFile') });
    expect(parseCall('toString', {})).toMatchObject({ ok: false, code: 'unknown_call' });
  });

  it('refuses bad params with the call and field named', () => {
    const tooLong = parseCall('messages.send', { channelId: '1', text: 'x'.repeat(20_000) });
    expect(tooLong).toMatchObject({ ok: false, code: 'invalid_params', message: expect.stringMatching(/^messages\.send: text:/) });
    const badPeer = parseCall('compute.request', { provider: 'not-hex', policyClass: 'cpu.small', job: 'x', maxPriceMsats: 0 });
    expect(badPeer).toMatchObject({ ok: false, code: 'invalid_params', message: expect.stringContaining('provider') });
    const badId = parseCall('compute.accept', { requestId: '1; DROP TABLE' });
    expect(badId).toMatchObject({ ok: false, code: 'invalid_params' });
  });

  it('checks answers on the renderer side', () => {
    expect(parseResult('messages.send', { ok: true, value: { idempotencyKey: 'k' } })).toEqual({ ok: true, value: { idempotencyKey: 'k' } });
    expect(parseResult('messages.send', { ok: true, value: { idempotencyKey: 42 } })).toMatchObject({ ok: false, code: 'internal', message: expect.stringContaining('failed validation') });
    expect(parseResult('messages.send', 'garbage')).toMatchObject({ ok: false, code: 'internal', message: expect.stringContaining('malformed') });
    expect(parseResult('messages.send', { ok: false, code: 'not_connected', message: 'away' })).toEqual({ ok: false, code: 'not_connected', message: 'away' });
  });

  it('validates pushes per slice', () => {
    expect(StatePush.safeParse({ slice: 'presence', value: [] }).success).toBe(true);
    expect(StatePush.safeParse({ slice: 'presence', value: [{ nodeId: 'x' }] }).success).toBe(false);
    expect(StatePush.safeParse({ slice: 'secrets', value: 'all of them' }).success).toBe(false);
  });

  it('settings refuse relay URLs that are not ws(s)', () => {
    const base = { useEmbedded: true, worldUrl: 'ws://127.0.0.1:3000', databaseName: 'world', controlUrl: 'http://127.0.0.1:8787', displayName: '', nostrFallback: true, editorEnabled: false };
    expect(Settings.safeParse({ ...base, relays: ['wss://relay.example.org'] }).success).toBe(true);
    const bad = Settings.safeParse({ ...base, relays: ['http://relay.example.org'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain('relay URL');
  });
});
