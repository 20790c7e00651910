import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { z } from 'zod';
import { STANDARD_SCOPES, type ResolvedControlConfig, type Scope } from './config';
import { failure, respondWithFailure, type ControlEnv, type Failure } from './errors';
import type { KeyRing } from './keys';
import { NIP98_WINDOW_SECONDS, verifyNip98Authorization } from './nip98';
import type { TokenBucketLimiter } from './rateLimit';
import { ReplayGuard } from './replay';
import type { SessionStore } from './sessions';
import { mintToken, verifyOwnToken, type ControlClaims } from './tokens';

/** Login bodies are a few short fields; anything bigger is refused before it is hashed. */
const MAX_LOGIN_BODY_BYTES = 16 * 1024;

export interface ControlAppDeps {
  config: ResolvedControlConfig;
  issuer: string;
  /** Base URL clients address; NIP-98 `u` tags and discovery URLs are built from it. */
  publicUrl: string;
  keys: KeyRing;
  sessions: SessionStore;
  loginLimiterPerPubkey: TokenBucketLimiter;
  loginLimiterPerAddress: TokenBucketLimiter;
  nowMs: () => number;
  logger: Logger;
}

const loginBodySchema = z.strictObject({
  device_id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  scopes: z.array(z.string().min(1).max(64)).max(32).optional(),
  session_id: z.string().min(1).max(128).optional(),
});
type LoginBody = z.infer<typeof loginBodySchema>;

/** The answer to a successful login or refresh. */
export interface LoginResponse {
  token: string;
  expires_at: number;
  identity: string;
  session_id: string;
  claims: ControlClaims;
}

export interface TransportPolicy {
  primary: 'spacetime';
  nostr: { fallbackAllowed: boolean; mirrorAllowed: boolean; relays: string[] };
}

export function createControlApp(deps: ControlAppDeps): Hono<ControlEnv> {
  const { config, issuer, publicUrl, keys, sessions, logger } = deps;
  const nowSeconds = () => Math.floor(deps.nowMs() / 1000);
  const replayGuard = new ReplayGuard(NIP98_WINDOW_SECONDS);
  const app = new Hono<ControlEnv>();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Method, path, status and refusal code only: headers and bodies carry tokens and signed events.
    logger.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, code: c.get('failureCode'), ms: Math.round(performance.now() - started) },
      'request',
    );
  });

  app.get('/.well-known/openid-configuration', (c) =>
    c.json({
      issuer,
      jwks_uri: `${publicUrl}/.well-known/jwks.json`,
      token_endpoint: `${publicUrl}/v1/auth/token`,
      revocation_endpoint: `${publicUrl}/v1/auth/revoke`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: [...STANDARD_SCOPES],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'hex_identity', 'nostr_pubkey', 'device_id', 'session_id', 'org', 'scopes'],
    }),
  );

  app.get('/.well-known/jwks.json', (c) => {
    // Short caching: verifiers must see a rotated-in key soon after rotation.
    c.header('Cache-Control', 'public, max-age=60');
    return c.json({ keys: keys.publishedKeys() });
  });

  app.post(
    '/v1/auth/token',
    bodyLimit({
      maxSize: MAX_LOGIN_BODY_BYTES,
      onError: (c) => respondWithFailure(c, failure(400, 'bad_request', `the body must be at most ${MAX_LOGIN_BODY_BYTES} bytes`)),
    }),
    async (c) => {
      const address = getConnInfo(c).remote.address ?? 'unknown';
      const addressAllowance = deps.loginLimiterPerAddress.take(address);
      if (!addressAllowance.ok) return respondWithFailure(c, rateLimited('this address', addressAllowance.retryAfterSeconds));

      const rawBody = await c.req.text();
      const requestUrl = new URL(c.req.url);
      const now = nowSeconds();
      const auth = verifyNip98Authorization(c.req.header('Authorization'), {
        url: `${publicUrl}${requestUrl.pathname}${requestUrl.search}`,
        method: c.req.method,
        body: rawBody,
        nowSeconds: now,
      });
      if (!auth.ok) return respondWithFailure(c, auth);
      if (!replayGuard.firstSighting(auth.eventId, auth.createdAt, now)) {
        return respondWithFailure(c, failure(401, 'replayed_event', 'this NIP-98 event was already used; sign a new one for each request'));
      }

      const pubkeyAllowance = deps.loginLimiterPerPubkey.take(auth.pubkey);
      if (!pubkeyAllowance.ok) return respondWithFailure(c, rateLimited('this pubkey', pubkeyAllowance.retryAfterSeconds));
      if (config.allowedPubkeys && !config.allowedPubkeys.has(auth.pubkey)) {
        return respondWithFailure(c, failure(403, 'pubkey_not_allowed', 'this pubkey may not log in to this world'));
      }

      const body = parseLoginBody(rawBody);
      if (!body.ok) return respondWithFailure(c, body);
      const scopes = grantScopes(config, auth.pubkey, body.value.scopes);
      if (!scopes.ok) return respondWithFailure(c, scopes);

      let sessionId: string;
      if (body.value.session_id === undefined) {
        sessionId = await sessions.start(auth.pubkey, body.value.device_id);
      } else {
        const refreshed = await sessions.refresh(body.value.session_id, auth.pubkey, body.value.device_id);
        if (!refreshed.ok) return respondWithFailure(c, failure(401, refreshed.code, refreshed.message));
        sessionId = refreshed.sessionId;
      }

      const minted = await mintToken(keys, {
        issuer,
        pubkey: auth.pubkey,
        deviceId: body.value.device_id,
        sessionId,
        org: config.org,
        scopes: scopes.granted,
        ttlSeconds: config.tokenTtlSeconds,
        nowSeconds: now,
      });
      logger.info(
        { pubkey: auth.pubkey, device_id: body.value.device_id, session_id: sessionId, scopes: scopes.granted, refresh: body.value.session_id !== undefined },
        'token issued',
      );
      const response: LoginResponse = {
        token: minted.token,
        expires_at: minted.claims.exp,
        identity: minted.identity,
        session_id: sessionId,
        claims: minted.claims,
      };
      return c.json(response);
    },
  );

  app.post('/v1/auth/revoke', async (c) => {
    const bearer = await authenticateBearer(c, { allowRevoked: true });
    if (!bearer.ok) return respondWithFailure(c, bearer);
    await sessions.revoke(bearer.claims.session_id);
    logger.info({ pubkey: bearer.claims.sub, session_id: bearer.claims.session_id }, 'session revoked');
    return c.body(null, 204);
  });

  app.get('/v1/policy/transport', async (c) => {
    const bearer = await authenticateBearer(c, { allowRevoked: false });
    if (!bearer.ok) return respondWithFailure(c, bearer);
    const policy: TransportPolicy = {
      primary: 'spacetime',
      nostr: {
        fallbackAllowed: config.transport.nostrFallbackAllowed,
        mirrorAllowed: config.transport.mirrorAllowed,
        relays: [...config.transport.relays],
      },
    };
    return c.json(policy);
  });

  app.notFound((c) => respondWithFailure(c, failure(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    logger.error({ err: { name: error.name, message: error.message }, path: c.req.path }, 'request failed');
    return respondWithFailure(c, failure(500, 'internal', 'internal error'));
  });

  async function authenticateBearer(
    c: Context<ControlEnv>,
    options: { allowRevoked: boolean },
  ): Promise<{ ok: true; claims: ControlClaims } | Failure> {
    const header = c.req.header('Authorization');
    if (header === undefined || header.trim() === '') {
      return failure(401, 'missing_authorization', 'send Authorization: Bearer <token from /v1/auth/token>');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match) return failure(401, 'invalid_token', 'Authorization must be "Bearer <token>"');
    const verified = await verifyOwnToken(keys, match[1] as string, issuer, nowSeconds());
    if (!verified.ok) return verified;
    if (!options.allowRevoked && sessions.isRevoked(verified.claims.session_id)) {
      return failure(401, 'session_revoked', 'the session of this token was revoked');
    }
    return verified;
  }

  return app;
}

function rateLimited(subject: string, retryAfterSeconds: number): Failure {
  return { ...failure(429, 'rate_limited', `too many logins from ${subject}; retry in ${retryAfterSeconds} s`), retryAfterSeconds };
}

function parseLoginBody(rawBody: string): { ok: true; value: LoginBody } | Failure {
  if (rawBody.trim() === '') return failure(400, 'bad_request', 'the body must be JSON: { device_id, scopes?, session_id? }');
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    return failure(400, 'bad_request', 'the body is not valid JSON');
  }
  const parsed = loginBodySchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    return failure(400, 'bad_request', problems.join('; '));
  }
  return { ok: true, value: parsed.data };
}

/**
 * Granted = requested ∩ policy, or the whole policy when nothing is requested; asking for a
 * scope never grants it. A login that would end with no scope at all is refused.
 */
export function grantScopes(
  config: ResolvedControlConfig,
  pubkey: string,
  requested: readonly string[] | undefined,
): { ok: true; granted: Scope[] } | Failure {
  const policy = config.pubkeyScopes.get(pubkey) ?? config.defaultScopes;
  const granted = requested === undefined || requested.length === 0 ? [...policy] : policy.filter((scope) => requested.includes(scope));
  if (granted.length === 0) {
    const asked = requested && requested.length > 0 ? `none of the requested scopes (${requested.join(', ')}) are` : 'no scope is';
    return failure(403, 'scope_denied', `${asked} granted to this pubkey`);
  }
  return { ok: true, granted };
}
