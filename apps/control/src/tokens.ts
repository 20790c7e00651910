import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { failure, type Failure } from './errors';
import { spacetimeIdentityHex } from './identity';
import { SIGNING_ALG, type KeyRing } from './keys';

/** SpacetimeDB does not check the audience, but it is set so other verifiers can. */
export const TOKEN_AUDIENCE = 'spacetimedb';

/** The claims of every token this service mints. */
export interface ControlClaims {
  iss: string;
  sub: string;
  aud: [typeof TOKEN_AUDIENCE];
  iat: number;
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

export async function mintToken(keys: KeyRing, request: MintRequest): Promise<MintedToken> {
  const identity = spacetimeIdentityHex(request.issuer, request.pubkey);
  const claims: ControlClaims = {
    iss: request.issuer,
    sub: request.pubkey,
    aud: [TOKEN_AUDIENCE],
    iat: request.nowSeconds,
    exp: request.nowSeconds + request.ttlSeconds,
    hex_identity: identity,
    nostr_pubkey: request.pubkey,
    device_id: request.deviceId,
    session_id: request.sessionId,
    org: request.org,
    scopes: request.scopes,
    control_exp: request.nowSeconds + request.ttlSeconds,
  };
  const { kid, privateKey } = keys.signingKey();
  const token = await new SignJWT({ ...claims } as unknown as JWTPayload)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' })
    .sign(privateKey);
  return { token, claims, identity };
}

export type VerifiedToken = { ok: true; claims: ControlClaims } | Failure;

/** Verifies a token minted by this service against the keys it currently publishes. */
export async function verifyOwnToken(keys: KeyRing, token: string, issuer: string, nowSeconds: number): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : keys.verificationKey(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      },
      { issuer, audience: TOKEN_AUDIENCE, algorithms: [SIGNING_ALG], currentDate: new Date(nowSeconds * 1000), requiredClaims: ['iat', 'exp', 'sub'] },
    );
    if (typeof payload.session_id !== 'string' || typeof payload.nostr_pubkey !== 'string') {
      return failure(401, 'invalid_token', 'the token lacks session_id or nostr_pubkey');
    }
    return { ok: true, claims: payload as unknown as ControlClaims };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return failure(401, 'token_expired', 'the token has expired; log in again');
    return failure(401, 'invalid_token', 'the token was not issued by this service or is malformed');
  }
}
