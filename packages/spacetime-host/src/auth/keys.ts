// The host's ES256 (P-256) signing key (spec §3.3). Persisted so tokens survive restarts: losing
// or replacing it silently would invalidate every identity token already handed out.
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportPKCS8, generateKeyPair, importPKCS8, importSPKI, type CryptoKey } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';
export const PRIVATE_KEY_FILE = 'id_ecdsa.pem';
export const PUBLIC_KEY_FILE = 'id_ecdsa.pub.pem';

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** SPKI PEM, served by `GET /v1/identity/public-key`. */
  publicKeyPem: string;
}

/**
 * With `dataDir`, loads `<dataDir>/keys/id_ecdsa.pem` (PKCS#8) or creates it (mode 0600) together
 * with its public half `id_ecdsa.pub.pem`; without, returns a fresh in-memory key.
 */
export async function loadOrCreateSigningKey(dataDir?: string): Promise<SigningKey> {
  if (dataDir === undefined) return signingKeyFromPrivatePem(await generatePrivateKeyPem(), 'a newly generated key');

  const keysDir = join(dataDir, 'keys');
  const privatePath = join(keysDir, PRIVATE_KEY_FILE);
  const publicPath = join(keysDir, PUBLIC_KEY_FILE);
  await mkdir(keysDir, { recursive: true, mode: 0o700 });

  let privatePem = await readTextIfExists(privatePath);
  if (privatePem === undefined) {
    if ((await readTextIfExists(publicPath)) !== undefined) {
      throw new Error(
        `Found ${publicPath} but not ${privatePath}. Refusing to create a new signing key, because tokens ` +
          `signed by the missing one would stop validating. Restore the private key, or delete ${keysDir} ` +
          `to start over with new identities.`,
      );
    }
    privatePem = await createFileOnce(privatePath, await generatePrivateKeyPem(), 0o600);
  }

  const signingKey = await signingKeyFromPrivatePem(privatePem, privatePath);
  const storedPublicPem = await readTextIfExists(publicPath);
  if (storedPublicPem === undefined) {
    await createFileOnce(publicPath, signingKey.publicKeyPem, 0o644);
  } else if (storedPublicPem.trim() !== signingKey.publicKeyPem.trim()) {
    throw new Error(`${publicPath} does not belong to the private key in ${privatePath}. Remove the public key file to regenerate it.`);
  }
  return signingKey;
}

export function publicKeyPem(signingKey: SigningKey): string {
  return signingKey.publicKeyPem;
}

async function generatePrivateKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  return exportPKCS8(privateKey);
}

async function signingKeyFromPrivatePem(privatePem: string, source: string): Promise<SigningKey> {
  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    keyObject = createPrivateKey(privatePem);
  } catch (error) {
    throw new Error(`Cannot read the signing key in ${source}: ${(error as Error).message}`);
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`The signing key in ${source} must be an EC P-256 key (for ES256); found ${keyObject.asymmetricKeyType ?? 'unknown'} ${keyObject.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd());
  }
  const pkcs8Pem = keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spkiPem = createPublicKey(keyObject).export({ type: 'spki', format: 'pem' }).toString();
  return {
    privateKey: await importPKCS8(pkcs8Pem, SIGNING_ALGORITHM),
    publicKey: await importSPKI(spkiPem, SIGNING_ALGORITHM),
    publicKeyPem: spkiPem,
  };
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `content` to `path` unless the file already exists, never exposing a half-written file:
 * the content goes to a private temp file that is then hard-linked into place (link fails if another
 * process won the race, in which case its file is returned instead).
 */
async function createFileOnce(path: string, content: string, mode: number): Promise<string> {
  const tempPath = `${path}.${randomUUID()}.tmp`;
  await writeFile(tempPath, content, { mode, flag: 'wx' });
  try {
    await link(tempPath, path);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFile(path, 'utf8');
  } finally {
    await unlink(tempPath);
  }
}
