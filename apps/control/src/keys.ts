import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { SerialJsonWriter, readJsonFile } from './persist';

export const SIGNING_ALG = 'ES256';
const KEYS_FILE = 'keys.json';

/** A published verification key as it appears in the JWKS. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: 'sig';
}

interface RingEntry {
  kid: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds when this key stopped signing; null for the current signing key. */
  retiredAt: number | null;
  privateJwk: JWK;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: PublicJwk;
}

const storedKeySchema = z.object({
  // Informational only: the kid is recomputed from the key on load.
  kid: z.string().optional(),
  createdAt: z.number(),
  retiredAt: z.number().nullable(),
  privateJwk: z.looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() }),
});
const keysFileSchema = z.object({ version: z.literal(1), keys: z.array(storedKeySchema).min(1) });

export interface KeyRingOptions {
  /** Where keys.json lives; without it keys are kept in memory only. */
  dataDir?: string;
  /** Seconds a rotated-out key stays published. */
  overlapSeconds: number;
  /** Unix seconds. */
  nowSeconds: () => number;
}

/**
 * The service's ES256 keys: one signs, rotated-out ones stay published (and usable for
 * verification) for the overlap period, then are dropped.
 */
export class KeyRing {
  private constructor(
    private entries: RingEntry[],
    private readonly options: KeyRingOptions,
    private readonly writer: SerialJsonWriter | undefined,
  ) {}

  /** Loads the ring from dataDir, or creates (and persists) a first key when there is none. */
  static async open(options: KeyRingOptions): Promise<KeyRing> {
    const path = options.dataDir === undefined ? undefined : join(options.dataDir, KEYS_FILE);
    const writer = path === undefined ? undefined : new SerialJsonWriter(path);
    const stored = path === undefined ? undefined : await readJsonFile(path);
    if (stored === undefined) {
      const ring = new KeyRing([await generateEntry(options.nowSeconds())], options, writer);
      await ring.persist();
      return ring;
    }
    const parsed = keysFileSchema.safeParse(stored);
    if (!parsed.success) {
      throw new Error(`${path} is not a valid key file: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
    const entries = await Promise.all(parsed.data.keys.map((key) => entryFromStored(key.privateJwk, key.createdAt, key.retiredAt)));
    const ring = new KeyRing(entries, options, writer);
    if (!entries.some((entry) => entry.retiredAt === null)) {
      // Every key was retired (e.g. a hand-edited file): start signing with a fresh one.
      ring.entries.push(await generateEntry(options.nowSeconds()));
      await ring.persist();
    }
    return ring;
  }

  /** The key that signs new tokens. */
  signingKey(): { kid: string; privateKey: CryptoKey } {
    const current = this.entries.find((entry) => entry.retiredAt === null);
    if (!current) throw new Error('key ring has no signing key');
    return { kid: current.kid, privateKey: current.privateKey };
  }

  /** The keys a verifier may meet right now: the signing key and those still in their overlap. */
  publishedKeys(): PublicJwk[] {
    return this.liveEntries().map((entry) => entry.publicJwk);
  }

  /** The verification key with this kid, if it is still published. */
  verificationKey(kid: string): CryptoKey | undefined {
    return this.liveEntries().find((entry) => entry.kid === kid)?.publicKey;
  }

  /** Starts signing with a new key; the previous one stays published for the overlap period. */
  async rotate(): Promise<void> {
    const now = this.options.nowSeconds();
    const fresh = await generateEntry(now);
    this.entries = [...this.liveEntries().map((entry) => (entry.retiredAt === null ? { ...entry, retiredAt: now } : entry)), fresh];
    await this.persist();
  }

  private liveEntries(): RingEntry[] {
    const now = this.options.nowSeconds();
    return this.entries.filter((entry) => entry.retiredAt === null || now < entry.retiredAt + this.options.overlapSeconds);
  }

  private async persist(): Promise<void> {
    if (!this.writer) return;
    await this.writer.write({
      version: 1,
      keys: this.liveEntries().map(({ kid, createdAt, retiredAt, privateJwk }) => ({ kid, createdAt, retiredAt, privateJwk })),
    });
  }

  async settled(): Promise<void> {
    await this.writer?.settled();
  }
}

async function generateEntry(nowSeconds: number): Promise<RingEntry> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  return entryFromStored(await exportJWK(privateKey), nowSeconds, null);
}

async function entryFromStored(privateJwk: JWK, createdAt: number, retiredAt: number | null): Promise<RingEntry> {
  const { kty, crv, x, y } = privateJwk;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') {
    throw new Error('signing keys must be EC P-256');
  }
  // The kid is the key's RFC 7638 thumbprint, so it can always be recomputed from the key itself.
  const kid = await calculateJwkThumbprint({ kty, crv, x, y });
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x, y, kid, alg: SIGNING_ALG, use: 'sig' };
  const privateKey = (await importJWK({ kty, crv, x, y, d: privateJwk.d }, SIGNING_ALG)) as CryptoKey;
  const publicKey = (await importJWK({ kty, crv, x, y }, SIGNING_ALG)) as CryptoKey;
  return { kid, createdAt, retiredAt, privateJwk: { kty, crv, x, y, d: privateJwk.d }, privateKey, publicKey, publicJwk };
}
