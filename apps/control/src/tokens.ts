// The JWTs control mints and checks: user tokens after a NIP-98 login, and the short-lived service
// token control uses to tell worlds about revocations. Claims follow docs/trust-model.md.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { REVOKE_SCOPE } from './config';
import { failure, type Failure } from './errors';
import { spacetimeIdentityHex } from './identity';
import { SIGNING_ALG, type KeyRing } from './keys';

/** SpacetimeDB does not check the audience, but it is set so other verifiers can. */
export const TOKEN_AUDIENCE = 'spacetimedb';

/**
 * How far another clock may run ahead of ours: a token whose `iat` or `nbf` is more than this in
 * the future is refused (`token_not_yet_valid`). Expiry gets no leeway.
 */
export const CLOCK_SKEW_SECONDS = 30;

/** Control's own service token lives just long enough for one delivery attempt. */
export const SERVICE_TOKEN_TTL_SECONDS = 60;

/** The claims of every user token this service mints. */
export interface ControlClaims {
  iss: string;
  sub: string;
  aud: [typeof TOKEN_AUDIENCE];
  iat: number;
  /** = iat: a token is never valid before it was issued. */
  nbf: number;
  exp: number;
  /** SpacetimeDB checks this against the identity it derives from (iss, sub). */
  hex_identity: string;
  nostr_pubkey: string;
  device_id: string;
  session_id: string;
  org: string;
  scopes: string[];
  /**
   * The token's own expiry again. SpacetimeDB re-signs a connection's token with a 60 s `exp` of its
   * own and keeps the other claims, so the world reads this one to enforce expiry on every call.
   */
  control_exp: number;
}

export interface MintRequest {
  issuer: string;
  pubkey: string;
  deviceId: string;
  sessionId: string;
  org: string;
  scopes: string[];
  ttlSeconds: number;
  nowSeconds: number;
}

export interface MintedToken {
  token: string;
  claims: ControlClaims;
  identity: string;
}

/** The subject of a user token: one per control session, so each session is its own connection identity. */
export function userSubject(pubkey: string, sessionId: string): string {
  return `${pubkey}:${sessionId}`;
}

export async function mintToken(keys: KeyRing, request: MintRequest): Promise<MintedToken> {
  const sub = userSubject(request.pubkey, request.sessionId);
  const identity = spacetimeIdentityHex(request.issuer, sub);
  const claims: ControlClaims = {
    iss: request.issuer,
    sub,
    aud: [TOKEN_AUDIENCE],
    iat: request.nowSeconds,
    nbf: request.nowSeconds,
    exp: request.nowSeconds + request.ttlSeconds,
    hex_identity: identity,
    nostr_pubkey: request.pubkey,
    device_id: request.deviceId,
    session_id: request.sessionId,
    org: request.org,
    scopes: request.scopes,
    control_exp: request.nowSeconds + request.ttlSeconds,
  };
  return { token: await sign(keys, claims), claims, identity };
}

/** Claims of control's own service token: no nostr_pubkey, no session, only `world:revoke`. */
export interface ServiceClaims {
  iss: string;
  sub: string;
  aud: [typeof TOKEN_AUDIENCE];
  iat: number;
  nbf: number;
  exp: number;
  hex_identity: string;
  org: string;
  scopes: [typeof REVOKE_SCOPE];
  control_exp: number;
}

/** A short-lived token naming control itself (`sub = control:<kid>`), for calling worlds' revoke_sessions. */
export async function mintServiceToken(keys: KeyRing, request: { issuer: string; org: string; nowSeconds: number }): Promise<{ token: string; claims: ServiceClaims }> {
  const sub = `control:${keys.signingKey().kid}`;
  const exp = request.nowSeconds + SERVICE_TOKEN_TTL_SECONDS;
  const claims: ServiceClaims = {
    iss: request.issuer,
    sub,
    aud: [TOKEN_AUDIENCE],
    iat: request.nowSeconds,
    nbf: request.nowSeconds,
    exp,
    hex_identity: spacetimeIdentityHex(request.issuer, sub),
    org: request.org,
    scopes: [REVOKE_SCOPE],
    control_exp: exp,
  };
  return { token: await sign(keys, claims), claims };
}

async function sign(keys: KeyRing, claims: object): Promise<string> {
  const { kid, privateKey } = keys.signingKey();
  return new SignJWT({ ...claims } as JWTPayload).setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' }).sign(privateKey);
}

export type VerifiedToken = { ok: true; claims: ControlClaims } | Failure;

/**
 * Verifies a user token minted by this service against the keys it currently publishes. `iat`/`nbf`
 * may be up to CLOCK_SKEW_SECONDS ahead; `exp` is strict. Service tokens (no nostr_pubkey) are refused.
 */
export async function verifyOwnToken(keys: KeyRing, token: string, issuer: string, nowSeconds: number): Promise<VerifiedToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : keys.verificationKey(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      },
      {
        issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: [SIGNING_ALG],
        currentDate: new Date(nowSeconds * 1000),
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['iat', 'exp', 'sub'],
      },
    ));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return failure(401, 'token_expired', 'the token has expired; log in again');
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'nbf') return notYetValid();
    return failure(401, 'invalid_token', 'the token was not issued by this service or is malformed');
  }
  // The tolerance above is for nbf only; expiry is checked without leeway.
  if ((payload.exp as number) <= nowSeconds) return failure(401, 'token_expired', 'the token has expired; log in again');
  if ((payload.iat as number) > nowSeconds + CLOCK_SKEW_SECONDS) return notYetValid();
  if (typeof payload.session_id !== 'string' || typeof payload.nostr_pubkey !== 'string') {
    return failure(401, 'invalid_token', 'the token lacks session_id or nostr_pubkey');
  }
  return { ok: true, claims: payload as unknown as ControlClaims };
}

function notYetValid(): Failure {
  return failure(401, 'token_not_yet_valid', `the token is dated more than ${CLOCK_SKEW_SECONDS} s in the future; check the clock`);
}
