// Minting and validating identity tokens (spec §3.3–§3.5). No HTTP server here: the host's
// routes call `TokenAuthority` and turn a failure's `status`/`reason` into the HTTP reply.
import { randomUUID } from 'node:crypto';
import { CompactSign, compactVerify, decodeJwt, decodeProtectedHeader, errors, importJWK, type CryptoKey, type JWK } from 'jose';
import { identityFromIssuerSubject, identityHex } from './identity';
import { SIGNING_ALGORITHM, type SigningKey } from './keys';
import { OidcKeyCache } from './oidc';

/**
 * Clock skew tolerated wherever a token is checked (docs/trust-model.md): `exp` may have passed by
 * this much, and `nbf`/`iat` may lie this far in the future. Renewal grants no leeway past `exp`.
 */
export const CLOCK_SKEW_SECONDS = 30;

/** Reasons a token is refused; the server sends them as the HTTP 400/401 body. */
export const AuthReason = {
  /** 401: a route that needs credentials got none (the server decides this; `validate` never returns it). */
  required: 'Authorization required',
  /** 400: not a compact JWS with JSON header and JSON-object payload. */
  malformed: 'Authorization is invalid: malformed token',
  /** 401: claims this host as issuer but the signature is not from the host's key. */
  notSignedLocally: 'Authorization failed: token not signed by this instance',
  untrustedIssuer: 'Authorization failed: the token issuer is not trusted by this host',
  unsupportedAlgorithm: 'Authorization failed: the token signing algorithm is not accepted',
  issuerUnreachable: 'Authorization failed: could not fetch the signing keys of the token issuer',
  issuerMismatch: "Authorization failed: the token issuer does not match the issuer's OpenID configuration",
  keyIdNotFound: 'Authorization failed: Specified key ID not found in JWKs',
  invalidSignature: 'Authorization failed: invalid token signature',
  invalidIssuer: 'Authorization failed: the iss claim must be a non-empty string of at most 128 bytes',
  invalidSubject: 'Authorization failed: the sub claim must be a non-empty string of at most 128 bytes',
  missingIssuedAt: 'Authorization failed: the iat claim is required and must be a number',
  invalidExpiry: 'Authorization failed: the exp claim must be a number',
  expired: 'Authorization failed: the token has expired',
  /** 401: `nbf` or `iat` lies more than CLOCK_SKEW_SECONDS in the future (trust model: `token_not_yet_valid`). */
  notYetValid: `Authorization failed: the token is not valid yet (its nbf or iat is more than ${CLOCK_SKEW_SECONDS} s in the future)`,
  invalidNotBefore: 'Authorization failed: the nbf claim must be a number',
  invalidAudience: 'Authorization failed: the aud claim must be a string or an array of strings',
  identityMismatch: 'Authorization failed: hex_identity does not match the identity derived from iss and sub',
} as const;
export type AuthReason = (typeof AuthReason)[keyof typeof AuthReason];

export type TokenValidationResult =
  | {
      ok: true;
      identity: bigint;
      identityHex: string;
      /** The verified payload; extra claims are kept as they are. */
      claims: Record<string, unknown>;
      /** The payload text exactly as signed (what `get_jwt_payload` hands to the module). */
      payloadJson: string;
    }
  | {
      ok: false;
      status: 400 | 401;
      reason: AuthReason;
      /** Diagnostic detail for host logs (e.g. why an issuer could not be reached); not for clients. */
      detail?: string;
    };
type TokenValidationFailure = Extract<TokenValidationResult, { ok: false }>;

export interface MintedIdentity {
  identity: bigint;
  identityHex: string;
  token: string;
}

export interface TokenAuthorityOptions {
  signingKey: SigningKey;
  /** `iss` of tokens this host mints (upstream standalone uses `localhost`). */
  localIssuer?: string;
  /** OIDC issuers whose tokens are accepted; a trailing slash is ignored when comparing. */
  trustedIssuers?: string[];
  /** Clock in milliseconds since the epoch. */
  now?: () => number;
  fetch?: typeof fetch;
}

export const WEBSOCKET_TOKEN_LIFETIME_SECONDS = 60;
const MAX_CLAIM_BYTES = 128;
const ANONYMOUS_AUDIENCE = ['spacetimedb'];
/** Asymmetric algorithms only: an HMAC "key" from a public JWKS would let anyone sign. */
const OIDC_ALGORITHMS = new Set(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']);
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class TokenAuthority {
  readonly localIssuer: string;
  private readonly signingKey: SigningKey;
  private readonly trustedIssuers: Set<string>;
  private readonly now: () => number;
  private readonly oidcKeys: OidcKeyCache;

  constructor(options: TokenAuthorityOptions) {
    this.signingKey = options.signingKey;
    this.localIssuer = options.localIssuer ?? 'localhost';
    this.trustedIssuers = new Set((options.trustedIssuers ?? []).map(withoutTrailingSlash));
    this.now = options.now ?? Date.now;
    this.oidcKeys = new OidcKeyCache(options.fetch ?? globalThis.fetch, this.now);
  }

  /** A new anonymous identity: random UUIDv4 subject under the local issuer, no expiry. */
  async mintAnonymous(): Promise<MintedIdentity> {
    const subject = randomUUID();
    const identity = identityFromIssuerSubject(this.localIssuer, subject);
    const hex = identityHex(identity);
    const token = await this.sign({
      hex_identity: hex,
      sub: subject,
      iss: this.localIssuer,
      aud: ANONYMOUS_AUDIENCE,
      iat: this.nowSeconds(),
    });
    return { identity, identityHex: hex, token };
  }

  /**
   * Re-signs already validated claims with the local key for the socket upgrade: same issuer,
   * subject, audience and extra claims, fresh `iat`, `exp` 60 s ahead (spec §3.5) but never after
   * the original `exp`: a renewal must not extend a token, or a stolen one could be renewed forever.
   */
  async websocketToken(validatedClaims: Record<string, unknown>): Promise<string> {
    const { iss, sub, exp } = validatedClaims;
    if (typeof iss !== 'string' || typeof sub !== 'string') {
      throw new TypeError('websocketToken needs the claims of a validated token (string iss and sub)');
    }
    const issuedAt = this.nowSeconds();
    const lifetimeEnd = issuedAt + WEBSOCKET_TOKEN_LIFETIME_SECONDS;
    return this.sign({
      ...validatedClaims,
      hex_identity: identityHex(identityFromIssuerSubject(iss, sub)),
      iat: issuedAt,
      exp: typeof exp === 'number' ? Math.min(exp, lifetimeEnd) : lifetimeEnd,
    });
  }

  /**
   * `POST /v1/identity/websocket-token`: validate `token` with no leeway past its `exp` (an
   * expired token is refused, not renewed) and return a short-lived token for the same claims.
   */
  async renewForWebsocket(token: string): Promise<{ ok: true; token: string } | TokenValidationFailure> {
    const v = await this.validate(token, { expiryLeewaySeconds: 0 });
    if (!v.ok) return v;
    return { ok: true, token: await this.websocketToken(v.claims) };
  }

  /** True when the claims name a configured OIDC issuer (the caller logged in somewhere we trust). */
  isTrustedIssuer(claims: Record<string, unknown>): boolean {
    return typeof claims.iss === 'string' && this.trustedIssuers.has(withoutTrailingSlash(claims.iss));
  }

  /**
   * Local key first (any issuer), then OIDC for trusted issuers; claim rules apply to both.
   * `expiryLeewaySeconds` (default CLOCK_SKEW_SECONDS): how long after `exp` the token still passes.
   */
  async validate(token: string, opts: { expiryLeewaySeconds?: number } = {}): Promise<TokenValidationResult> {
    const leeway = opts.expiryLeewaySeconds ?? CLOCK_SKEW_SECONDS;
    const parsed = parseCompactJwt(token);
    if (!parsed.ok) return parsed;
    const { algorithm, keyId, unverifiedClaims } = parsed;

    if (algorithm === SIGNING_ALGORITHM) {
      const local = await verifySignature(token, this.signingKey.publicKey, algorithm);
      if (local.outcome === 'verified') return this.acceptVerifiedPayload(local.payloadJson, leeway);
      if (local.outcome === 'malformed') return fail(400, AuthReason.malformed, local.detail);
    }

    const issuer = unverifiedClaims.iss;
    if (!isBoundedNonEmptyString(issuer)) return fail(401, AuthReason.invalidIssuer);
    if (issuer === this.localIssuer) return fail(401, AuthReason.notSignedLocally);
    if (!this.trustedIssuers.has(withoutTrailingSlash(issuer))) {
      return fail(401, AuthReason.untrustedIssuer, `issuer ${JSON.stringify(issuer)} is not in trustedIssuers`);
    }
    if (!OIDC_ALGORITHMS.has(algorithm)) return fail(401, AuthReason.unsupportedAlgorithm, `alg ${JSON.stringify(algorithm)}`);
    return this.validateWithIssuerKeys(token, algorithm, keyId, issuer, leeway);
  }

  private async validateWithIssuerKeys(
    token: string,
    algorithm: string,
    keyId: string | undefined,
    issuer: string,
    leeway: number,
  ): Promise<TokenValidationResult> {
    let lookup = await this.oidcKeys.get(issuer);
    if (!lookup.ok) return fail(401, AuthReason.issuerUnreachable, lookup.detail);
    let candidates = keysMatching(lookup.keySet.keys, keyId);
    if (keyId !== undefined && candidates.length === 0) {
      // Issuers publish a rotated key before using it; one refetch picks it up.
      const refreshed = await this.oidcKeys.refreshAfterUnknownKeyId(issuer);
      if (refreshed?.ok) {
        lookup = refreshed;
        candidates = keysMatching(lookup.keySet.keys, keyId);
      }
    }
    if (lookup.keySet.issuer !== issuer) {
      return fail(401, AuthReason.issuerMismatch, `token iss ${JSON.stringify(issuer)}, discovery issuer ${JSON.stringify(lookup.keySet.issuer)}`);
    }
    if (candidates.length === 0) {
      return keyId === undefined
        ? fail(401, AuthReason.invalidSignature, `the JWKS of ${issuer} has no signing keys`)
        : fail(401, AuthReason.keyIdNotFound, `kid ${JSON.stringify(keyId)}`);
    }

    const keyErrors: string[] = [];
    for (const jwk of candidates) {
      const key = await importCandidateKey(jwk, algorithm);
      if (key === undefined) continue;
      const verification = await verifySignature(token, key, algorithm);
      if (verification.outcome === 'verified') return this.acceptVerifiedPayload(verification.payloadJson, leeway);
      // Here a failure may be the key's fault (e.g. a too-short RSA key), so keep trying the others.
      if (verification.outcome === 'malformed') keyErrors.push(`${jwk.kid ?? 'key without kid'}: ${verification.detail}`);
    }
    const detail = [`no key of ${issuer} verifies the token`, ...keyErrors].join('; ');
    return fail(401, AuthReason.invalidSignature, detail);
  }

  private acceptVerifiedPayload(payloadJson: string, expiryLeewaySeconds: number): TokenValidationResult {
    const claims = parseJsonObject(payloadJson);
    if (claims === undefined) return fail(400, AuthReason.malformed, 'payload is not a JSON object');
    const checked = checkClaims(claims, this.nowSeconds(), expiryLeewaySeconds);
    if (!checked.ok) return checked;
    return { ok: true, identity: checked.identity, identityHex: identityHex(checked.identity), claims, payloadJson };
  }

  private async sign(payload: Record<string, unknown>): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ typ: 'JWT', alg: SIGNING_ALGORITHM })
      .sign(this.signingKey.privateKey);
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

type ParsedJwt =
  | { ok: true; algorithm: string; keyId: string | undefined; unverifiedClaims: Record<string, unknown> }
  | TokenValidationFailure;

function parseCompactJwt(token: string): ParsedJwt {
  if (!COMPACT_JWS.test(token)) return fail(400, AuthReason.malformed, 'not three base64url segments');
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string') return fail(400, AuthReason.malformed, 'header has no alg');
    if (header.kid !== undefined && typeof header.kid !== 'string') return fail(400, AuthReason.malformed, 'header kid is not a string');
    return { ok: true, algorithm: header.alg, keyId: header.kid, unverifiedClaims: decodeJwt(token) };
  } catch (error) {
    return fail(400, AuthReason.malformed, (error as Error).message);
  }
}

type SignatureCheck = { outcome: 'verified'; payloadJson: string } | { outcome: 'wrong-key' } | { outcome: 'malformed'; detail: string };

async function verifySignature(token: string, key: CryptoKey, algorithm: string): Promise<SignatureCheck> {
  try {
    const { payload } = await compactVerify(token, key, { algorithms: [algorithm] });
    return { outcome: 'verified', payloadJson: new TextDecoder('utf-8', { fatal: true }).decode(payload) };
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return { outcome: 'wrong-key' };
    return { outcome: 'malformed', detail: (error as Error).message };
  }
}

function keysMatching(keys: JWK[], keyId: string | undefined): JWK[] {
  const signingKeys = keys.filter((jwk) => jwk.use === undefined || jwk.use === 'sig');
  return keyId === undefined ? signingKeys : signingKeys.filter((jwk) => jwk.kid === keyId);
}

/** The key as usable for `algorithm`, or undefined when the JWK is of another type or algorithm. */
async function importCandidateKey(jwk: JWK, algorithm: string): Promise<CryptoKey | undefined> {
  if (jwk.alg !== undefined && jwk.alg !== algorithm) return undefined;
  if ('d' in jwk || jwk.kty === 'oct') return undefined; // only public asymmetric keys belong in a JWKS
  try {
    const key = await importJWK(jwk, algorithm);
    return key instanceof Uint8Array ? undefined : key;
  } catch {
    return undefined;
  }
}

type ClaimCheck = { ok: true; identity: bigint } | TokenValidationFailure;

function checkClaims(claims: Record<string, unknown>, nowSeconds: number, expiryLeewaySeconds: number): ClaimCheck {
  const { iss, sub, iat, nbf, exp, aud } = claims;
  if (!isBoundedNonEmptyString(iss)) return fail(401, AuthReason.invalidIssuer);
  if (!isBoundedNonEmptyString(sub)) return fail(401, AuthReason.invalidSubject);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail(401, AuthReason.missingIssuedAt);
  // A token from the future was minted by a wrong clock or minted ahead to outlive a revocation.
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return fail(401, AuthReason.notYetValid, `iat ${iat}, now ${nowSeconds}`);
  if (nbf !== undefined && nbf !== null) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return fail(401, AuthReason.invalidNotBefore);
    if (nbf > nowSeconds + CLOCK_SKEW_SECONDS) return fail(401, AuthReason.notYetValid, `nbf ${nbf}, now ${nowSeconds}`);
  }
  // Upstream writes `exp: null` for tokens that never expire.
  if (exp !== undefined && exp !== null) {
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail(401, AuthReason.invalidExpiry);
    if (nowSeconds > exp + expiryLeewaySeconds) return fail(401, AuthReason.expired, `exp ${exp}, now ${nowSeconds}`);
  }
  const audienceOk = aud === undefined || typeof aud === 'string' || (Array.isArray(aud) && aud.every((entry) => typeof entry === 'string'));
  if (!audienceOk) return fail(401, AuthReason.invalidAudience);

  const identity = identityFromIssuerSubject(iss, sub);
  const claimedHex = claims.hex_identity;
  if (claimedHex !== undefined && claimedHex !== null) {
    if (typeof claimedHex !== 'string' || claimedHex.toLowerCase() !== identityHex(identity)) {
      return fail(401, AuthReason.identityMismatch);
    }
  }
  return { ok: true, identity };
}

function isBoundedNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= MAX_CLAIM_BYTES;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function fail(status: 400 | 401, reason: AuthReason, detail?: string): TokenValidationFailure {
  return detail === undefined ? { ok: false, status, reason } : { ok: false, status, reason, detail };
}
