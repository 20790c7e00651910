import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginResponse } from '../src/index';
import { FakeClock, errorCodeOf, login, newUser, startTestService, type TestService } from './helpers';

async function fetchJwks(service: TestService): Promise<JSONWebKeySet> {
  return (await (await fetch(`${service.control.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
}

async function loginToken(service: TestService, user = newUser(), deviceId = 'laptop-1'): Promise<LoginResponse> {
  const response = await login(service, user, { device_id: deviceId });
  expect(response.status).toBe(200);
  return (await response.json()) as LoginResponse;
}

function verifyAgainst(jwks: JSONWebKeySet, token: string, service: TestService) {
  return jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: service.control.issuer,
    algorithms: ['ES256'],
    currentDate: new Date(service.clock.now()),
  });
}

describe('key rotation', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await startTestService({ config: { tokenTtlSeconds: 900, keyRotationOverlapSeconds: 1200 } });
  });
  afterEach(async () => {
    await service.control.close();
  });

  it('keeps the old key published for the overlap period, then drops it', async () => {
    const before = await loginToken(service);
    const oldKid = decodeProtectedHeader(before.token).kid;

    await service.control.rotateKey();
    const after = await loginToken(service);
    const newKid = decodeProtectedHeader(after.token).kid;
    expect(newKid).not.toBe(oldKid);

    const during = await fetchJwks(service);
    expect(during.keys.map((key) => key.kid).sort()).toEqual([oldKid, newKid].sort());
    // Both tokens verify through the served JWKS, as a SpacetimeDB server would check them.
    const remote = createRemoteJWKSet(new URL(`${service.control.url}/.well-known/jwks.json`));
    for (const token of [before.token, after.token]) {
      await jwtVerify(token, remote, { issuer: service.control.issuer, currentDate: new Date(service.clock.now()) });
    }
    const policyWithOld = await fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${before.token}` } });
    expect(policyWithOld.status).toBe(200);

    service.clock.advanceSeconds(1200);
    const afterOverlap = await fetchJwks(service);
    expect(afterOverlap.keys.map((key) => key.kid)).toEqual([newKid]);
    await expect(verifyAgainst(afterOverlap, before.token, service)).rejects.toThrow();
    const policyAfterOverlap = await fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${before.token}` } });
    expect(policyAfterOverlap.status).toBe(401);
  });
});

describe('restart with the same data dir', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'control-data-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps signing keys (current and rotated-out) and revocations, and writes them owner-only', async () => {
    const clock = new FakeClock();
    const user = newUser();
    const first = await startTestService({ dataDir, clock });
    const kept = await loginToken(first, user);
    const revoked = await loginToken(first, user, 'laptop-2');
    const revoke = await fetch(`${first.control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${revoked.token}` } });
    expect(revoke.status).toBe(204);
    // A rotated-out key still in its overlap must survive the restart too.
    await first.control.rotateKey();
    const jwksBefore = await fetchJwks(first);
    await first.control.close();

    for (const file of await readdir(dataDir)) {
      expect(file.endsWith('.tmp'), `leftover temp file ${file}`).toBe(false);
      expect((await stat(join(dataDir, file))).mode & 0o777, `mode of ${file}`).toBe(0o600);
    }

    clock.advanceSeconds(2);
    const second = await startTestService({ dataDir, clock });
    try {
      expect(jwksBefore.keys).toHaveLength(2);
      expect(await fetchJwks(second)).toEqual(jwksBefore);
      // The port differs, so the issuer does too: check the signature with the republished keys.
      const { payload } = await jwtVerify(kept.token, createLocalJWKSet(await fetchJwks(second)), { currentDate: new Date(clock.now()) });
      expect(payload.session_id).toBe(kept.session_id);

      const refreshKept = await login(second, user, { device_id: 'laptop-1', session_id: kept.session_id });
      expect(refreshKept.status).toBe(200);
      const refreshRevoked = await login(second, user, { device_id: 'laptop-2', session_id: revoked.session_id });
      expect(refreshRevoked.status).toBe(401);
      expect(await errorCodeOf(refreshRevoked)).toBe('session_revoked');
    } finally {
      await second.control.close();
    }
  });

  it('refuses to start on a corrupt key file, naming it', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dataDir, 'keys.json'), JSON.stringify({ version: 1, keys: [] }));
    await expect(startTestService({ dataDir })).rejects.toThrow(`${join(dataDir, 'keys.json')} is not a valid key file`);
  });
});
