import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompactSign, compactVerify, importSPKI } from 'jose';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, loadOrCreateSigningKey, publicKeyPem, type SigningKey } from '../../src/auth';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'spacetime-host-keys-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function signAndVerify(signer: SigningKey, verifier: SigningKey): Promise<boolean> {
  const jws = await new CompactSign(new TextEncoder().encode('probe')).setProtectedHeader({ alg: 'ES256' }).sign(signer.privateKey);
  try {
    await compactVerify(jws, verifier.publicKey);
    return true;
  } catch {
    return false;
  }
}

describe('loadOrCreateSigningKey', () => {
  it('without a data dir makes a working in-memory ES256 key, different each time', async () => {
    const first = await loadOrCreateSigningKey();
    const second = await loadOrCreateSigningKey();
    expect(publicKeyPem(first)).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(await signAndVerify(first, first)).toBe(true);
    expect(first.publicKeyPem).not.toBe(second.publicKeyPem);
    expect(await signAndVerify(first, second)).toBe(false);
  });

  it('persists the key as PEM files (private 0600) and loads the same key again', async () => {
    const created = await loadOrCreateSigningKey(dataDir);
    const privatePath = join(dataDir, 'keys', PRIVATE_KEY_FILE);
    const publicPath = join(dataDir, 'keys', PUBLIC_KEY_FILE);
    expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
    expect(await readFile(privatePath, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(await readFile(publicPath, 'utf8')).toBe(created.publicKeyPem);

    const loaded = await loadOrCreateSigningKey(dataDir);
    expect(loaded.publicKeyPem).toBe(created.publicKeyPem);
    expect(await signAndVerify(loaded, created)).toBe(true);
    // The served PEM is usable by other parties.
    const imported = await importSPKI(loaded.publicKeyPem, 'ES256');
    expect(imported.type).toBe('public');
  });

  it('agrees on one key when two loads race on an empty data dir', async () => {
    const [a, b] = await Promise.all([loadOrCreateSigningKey(dataDir), loadOrCreateSigningKey(dataDir)]);
    expect(a.publicKeyPem).toBe(b.publicKeyPem);
    expect(await signAndVerify(a, b)).toBe(true);
  });

  it('rewrites a missing public key file from the private key', async () => {
    const created = await loadOrCreateSigningKey(dataDir);
    const publicPath = join(dataDir, 'keys', PUBLIC_KEY_FILE);
    await unlink(publicPath);
    const loaded = await loadOrCreateSigningKey(dataDir);
    expect(loaded.publicKeyPem).toBe(created.publicKeyPem);
    expect(await readFile(publicPath, 'utf8')).toBe(created.publicKeyPem);
  });

  it('refuses to replace a lost private key when its public half is still there', async () => {
    await loadOrCreateSigningKey(dataDir);
    await unlink(join(dataDir, 'keys', PRIVATE_KEY_FILE));
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(/Refusing to create a new signing key/);
  });

  it('refuses a public key file that belongs to another key', async () => {
    await loadOrCreateSigningKey(dataDir);
    const stranger = await loadOrCreateSigningKey();
    await writeFile(join(dataDir, 'keys', PUBLIC_KEY_FILE), stranger.publicKeyPem);
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(/does not belong to the private key/);
  });

  it('gives a clear error for a corrupt or non-P-256 private key file', async () => {
    const keysDir = join(dataDir, 'keys');
    await mkdir(keysDir, { recursive: true });
    const privatePath = join(keysDir, PRIVATE_KEY_FILE);

    await writeFile(privatePath, 'not a pem');
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(`Cannot read the signing key in ${privatePath}`);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(privatePath, rsa);
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(/must be an EC P-256 key/);
  });
});
