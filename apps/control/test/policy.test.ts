// Which scopes a login gets: roles per pubkey (default user), the older explicit scope lists, and the
// config mistakes refused at startup.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nip19 } from 'nostr-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ROLE_SCOPES, USER_SCOPES, loadControlConfigFile, parseControlConfig, startControl, type LoginResponse } from '../src/index';
import { errorCodeOf, login, newUser, startTestService, type TestService } from './helpers';

describe('scope policy of a restricted world', () => {
  const admin = newUser();
  const member = newUser();
  const outsider = newUser();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({
      config: {
        // The member is listed by npub to check both spellings are accepted.
        allowedPubkeys: [admin.pubkey, nip19.npubEncode(member.pubkey)],
        defaultScopes: ['world:join', 'comms:write'],
        pubkeyScopes: { [admin.pubkey]: ['world:join', 'comms:write', 'files:write', 'bridge:publish'] },
      },
    });
  });
  afterAll(async () => {
    await service.control.close();
  });

  async function grantedScopes(user: typeof admin, scopes?: string[]): Promise<string[]> {
    const response = await login(service, user, scopes === undefined ? { device_id: 'd' } : { device_id: 'd', scopes });
    expect(response.status, `login asking for ${JSON.stringify(scopes)}`).toBe(200);
    service.clock.advanceSeconds(1);
    return ((await response.json()) as LoginResponse).claims.scopes;
  }

  it('grants the policy set when nothing is requested', async () => {
    expect(await grantedScopes(member)).toEqual(['world:join', 'comms:write']);
    expect(await grantedScopes(admin)).toEqual(['world:join', 'comms:write', 'files:write', 'bridge:publish']);
  });

  it('grants only the requested scopes that the policy allows', async () => {
    expect(await grantedScopes(member, ['comms:write', 'files:write', 'compute:provide'])).toEqual(['comms:write']);
    expect(await grantedScopes(admin, ['files:write', 'made:up'])).toEqual(['files:write']);
  });

  it('refuses with scope_denied when no requested scope is allowed', async () => {
    const response = await login(service, member, { device_id: 'd', scopes: ['files:write', 'bridge:publish'] });
    expect(response.status).toBe(403);
    expect(await errorCodeOf(response)).toBe('scope_denied');
  });

  it('refuses pubkeys outside the allow list', async () => {
    const response = await login(service, outsider);
    expect(response.status).toBe(403);
    expect(await errorCodeOf(response)).toBe('pubkey_not_allowed');
  });
});

describe('roles (least privilege)', () => {
  const plain = newUser();
  const bridge = newUser();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ config: { roles: { [nip19.npubEncode(bridge.pubkey)]: 'bridge' } } });
  });
  afterAll(async () => {
    await service.control.close();
  });

  async function attempt(user: typeof plain, scopes?: string[]): Promise<Response> {
    const response = await login(service, user, scopes === undefined ? { device_id: 'd' } : { device_id: 'd', scopes });
    service.clock.advanceSeconds(1);
    return response;
  }

  it('gives a pubkey without a role the user scopes, without bridge:publish', async () => {
    const response = await attempt(plain);
    expect(response.status).toBe(200);
    expect(((await response.json()) as LoginResponse).claims.scopes).toEqual([...ROLE_SCOPES.user]);
    expect(ROLE_SCOPES.user).not.toContain('bridge:publish');
    const askingForBridge = await attempt(plain, ['bridge:publish']);
    expect(askingForBridge.status).toBe(403);
    expect(await errorCodeOf(askingForBridge)).toBe('scope_denied');
  });

  it('gives the bridge role bridge:publish on top of the user scopes', async () => {
    const response = await attempt(bridge);
    expect(((await response.json()) as LoginResponse).claims.scopes).toEqual([...USER_SCOPES, 'bridge:publish']);
  });

  it('never grants world:revoke to a login, whatever the role', async () => {
    for (const user of [plain, bridge]) {
      const onlyRevoke = await attempt(user, ['world:revoke']);
      expect(onlyRevoke.status).toBe(403);
      expect(await errorCodeOf(onlyRevoke)).toBe('scope_denied');
      const mixed = await attempt(user, ['world:join', 'world:revoke']);
      expect(((await mixed.json()) as LoginResponse).claims.scopes).toEqual(['world:join']);
    }
  });

  it('can make bridge the default role', async () => {
    const open = await startTestService({ config: { defaultRole: 'bridge' } });
    try {
      const response = await login(open, newUser());
      expect(((await response.json()) as LoginResponse).claims.scopes).toEqual([...ROLE_SCOPES.bridge]);
    } finally {
      await open.control.close();
    }
  });
});

describe('config validation', () => {
  it('fills defaults for an empty config', () => {
    const result = parseControlConfig({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.tokenTtlSeconds).toBe(900);
    expect(result.config.allowedPubkeys).toBeUndefined();
    expect(result.config.transport).toEqual({ nostrFallbackAllowed: false, mirrorAllowed: false, relays: [] });
    expect(result.config.rateLimits.loginPerPubkey).toEqual({ burst: 10, perMinute: 10 });
  });

  it.each([
    [{ tokenTtlSeconds: 'long' }, 'tokenTtlSeconds'],
    [{ allowedPubkeys: ['not-a-key'] }, 'allowedPubkeys.0: "not-a-key" is neither a 64-hex Nostr pubkey nor an npub'],
    [{ defaultScopes: ['world:joinn'] }, 'defaultScopes.0'],
    [{ transport: { mirrorAllowed: true } }, 'transport.relays: must list at least one relay'],
    [{ transport: { relays: ['https://relay.example.com'] } }, 'transport.relays.0: must be a ws:// or wss:// URL'],
    [{ tokenTtlSeconds: 3600, keyRotationOverlapSeconds: 60 }, 'keyRotationOverlapSeconds: must be at least tokenTtlSeconds'],
    [{ allowedPubkeys: ['a'.repeat(64)], pubkeyScopes: { ['b'.repeat(64)]: ['world:join'] } }, 'not in allowedPubkeys'],
    [{ issuer: 'ftp://example.com' }, 'issuer: "ftp://example.com" must be an http:// or https:// URL'],
    [{ rateLimits: { loginPerPubkey: { burst: 0, perMinute: 1 } } }, 'rateLimits.loginPerPubkey.burst'],
    [{ tokenTtl: 900 }, 'tokenTtl'],
    [{ roles: { ['a'.repeat(64)]: 'service' } }, 'role "service" is control\'s own'],
    [{ roles: { ['a'.repeat(64)]: 'admin' } }, 'unknown role "admin"'],
    [{ defaultRole: 'service' }, 'defaultRole: role "service"'],
    [{ pubkeyScopes: { ['a'.repeat(64)]: ['world:revoke'] } }, 'world:revoke belongs to control\'s own service token'],
    [{ defaultScopes: ['bridge:publish'] }, 'bridge:publish is not a scope of the default role user'],
    [{ roles: { ['a'.repeat(64)]: 'bridge' }, pubkeyScopes: { ['A'.repeat(64)]: ['world:join'] } }, 'pubkey also has a role'],
    [{ worlds: [{ httpUrl: 'ws://127.0.0.1:1', database: 'w' }] }, 'worlds.0.httpUrl'],
    [{ worlds: [{ httpUrl: 'http://127.0.0.1:1' }] }, 'worlds.0.database'],
    [{ revocationRetry: { initialMs: 5000, maxMs: 1000 } }, 'revocationRetry.maxMs: must be at least initialMs'],
  ])('rejects %j with a message naming the problem', (input, expected) => {
    const result = parseControlConfig(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(expected);
  });

  it('names the file when a config file is invalid, and startControl refuses a bad config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'control-config-'));
    try {
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{ "org": ');
      await expect(loadControlConfigFile(broken)).rejects.toThrow(`config file ${broken} is not valid JSON`);
      const invalid = join(dir, 'invalid.json');
      await writeFile(invalid, JSON.stringify({ org: '' }));
      await expect(loadControlConfigFile(invalid)).rejects.toThrow(`config file ${invalid} is invalid: org:`);
      await expect(startControl({ port: 0, config: { tokenTtlSeconds: -1 } })).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
