// Per-issuer cache of OpenID discovery + JWKS (spec §3.4): fresh for 5 minutes, then refreshed;
// a stale copy stays usable while the issuer is unreachable, for up to 2 hours after its fetch.
import type { JWK } from 'jose';

export const OIDC_KEYS_REFRESH_AFTER_MS = 300_000;
export const OIDC_KEYS_EXPIRE_AFTER_MS = 7_200_000;
/** Minimum spacing of refetches triggered by unknown `kid`s or failed refreshes (bounds load on the issuer). */
export const OIDC_REFETCH_COOLDOWN_MS = 30_000;
const OIDC_FETCH_TIMEOUT_MS = 10_000;

export interface IssuerKeySet {
  /** `issuer` as stated by the discovery document. */
  issuer: string;
  keys: JWK[];
  fetchedAtMs: number;
}

export type IssuerKeySetLookup = { ok: true; keySet: IssuerKeySet } | { ok: false; detail: string };

interface CacheEntry {
  keySet?: IssuerKeySet;
  lastAttemptAtMs: number;
  inFlight?: Promise<IssuerKeySetLookup>;
}

export class OidcKeyCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly now: () => number,
  ) {}

  async get(issuer: string): Promise<IssuerKeySetLookup> {
    const entry = this.entries.get(issuer);
    const cached = entry?.keySet;
    if (entry === undefined || cached === undefined) return this.download(issuer);

    const age = this.now() - cached.fetchedAtMs;
    if (age < OIDC_KEYS_REFRESH_AFTER_MS) return { ok: true, keySet: cached };
    if (age >= OIDC_KEYS_EXPIRE_AFTER_MS) return this.download(issuer);
    if (this.inCooldown(entry)) return { ok: true, keySet: cached };
    const refreshed = await this.download(issuer);
    return refreshed.ok ? refreshed : { ok: true, keySet: cached };
  }

  /** Refetches unless a fetch happened within the cooldown; undefined when no refetch was made. */
  async refreshAfterUnknownKeyId(issuer: string): Promise<IssuerKeySetLookup | undefined> {
    const entry = this.entries.get(issuer);
    if (entry !== undefined && this.inCooldown(entry)) return undefined;
    return this.download(issuer);
  }

  private inCooldown(entry: CacheEntry): boolean {
    return this.now() - entry.lastAttemptAtMs < OIDC_REFETCH_COOLDOWN_MS;
  }

  /** One download per issuer at a time; concurrent callers share it. */
  private download(issuer: string): Promise<IssuerKeySetLookup> {
    let entry = this.entries.get(issuer);
    if (entry === undefined) {
      entry = { lastAttemptAtMs: this.now() };
      this.entries.set(issuer, entry);
    }
    if (entry.inFlight !== undefined) return entry.inFlight;

    const target = entry;
    target.lastAttemptAtMs = this.now();
    const inFlight = this.fetchKeySet(issuer)
      .then((keySet): IssuerKeySetLookup => {
        target.keySet = keySet;
        return { ok: true, keySet };
      })
      .catch((error: unknown): IssuerKeySetLookup => ({ ok: false, detail: (error as Error).message }))
      .finally(() => {
        target.inFlight = undefined;
      });
    target.inFlight = inFlight;
    return inFlight;
  }

  private async fetchKeySet(issuer: string): Promise<IssuerKeySet> {
    const discoveryUrl = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    if (discoveryUrl.protocol !== 'https:' && discoveryUrl.protocol !== 'http:') {
      throw new Error(`issuer ${issuer} is not an http(s) URL`);
    }
    const discovery = await this.getJson(discoveryUrl.href);
    if (!isRecord(discovery) || typeof discovery.issuer !== 'string' || typeof discovery.jwks_uri !== 'string') {
      throw new Error(`${discoveryUrl.href} lacks string "issuer" and "jwks_uri" fields`);
    }
    const jwksUrl = new URL(discovery.jwks_uri, discoveryUrl);
    const jwks = await this.getJson(jwksUrl.href);
    if (!isRecord(jwks) || !Array.isArray(jwks.keys)) throw new Error(`${jwksUrl.href} lacks a "keys" array`);
    return { issuer: discovery.issuer, keys: jwks.keys.filter(isRecord) as JWK[], fetchedAtMs: this.now() };
  }

  private async getJson(url: string): Promise<unknown> {
    const response = await this.fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(OIDC_FETCH_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
    try {
      return await response.json();
    } catch {
      throw new Error(`GET ${url} did not return JSON`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
