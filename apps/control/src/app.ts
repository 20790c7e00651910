// Control's HTTP routes: OIDC discovery and JWKS, NIP-98 login → token, revocation (told to every
// configured world), and the transport policy. Every refusal is a 4xx/5xx JSON `{ error: { code,
// message } }`; client mistakes are logged at info without a stack.
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { z } from 'zod';
import { STANDARD_SCOPES, type LoginScope, type ResolvedControlConfig, type WorldTarget } from './config';
import { failure, respondWithFailure, type ControlEnv, type Failure } from './errors';
import type { KeyRing } from './keys';
import { NIP98_WINDOW_SECONDS, verifyNip98Authorization } from './nip98';
import type { TokenBucketLimiter } from './rateLimit';
import { ReplayGuard } from './replay';
import type { RevocationDelivery, RevocationNotice } from './revocations';
import type { SessionStore } from './sessions';
import { mintToken, verifyOwnToken, type ControlClaims } from './tokens';

/** Login bodies are a few short fields; anything bigger is refused before it is hashed. */
const MAX_LOGIN_BODY_BYTES = 16 * 1024;
const MAX_REVOKE_BODY_BYTES = 4 * 1024;

export interface ControlAppDeps {
  config: ResolvedControlConfig;
  issuer: string;
  /** Base URL clients address; NIP-98 `u` tags and discovery URLs are built from it. */
  publicUrl: string;
  keys: KeyRing;
  sessions: SessionStore;
  loginLimiterPerPubkey: TokenBucketLimiter;
  loginLimiterPerAddress: TokenBucketLimiter;
  revocations: RevocationDelivery;
  /** The worlds told about revocations (config plus those added at run time). */
  worlds: () => readonly WorldTarget[];
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

/** Empty (this token's session), `{ all: true }` (every session of the pubkey) or `{ device_id }`. */
const revokeBodySchema = z.union([
  z.strictObject({}),
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ device_id: loginBodySchema.shape.device_id }),
]);
type RevokeBody = z.infer<typeof revokeBodySchema>;

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
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'hex_identity', 'nostr_pubkey', 'device_id', 'session_id', 'org', 'scopes'],
    }),
  );

  app.get('/.well-known/jwks.json', (c) => {
    // Short caching: verifiers must see a rotated-in key soon after rotation.
    c.header('Cache-Control', 'public, max-age=60');
    return c.json({ keys: keys.publishedKeys() });
  });

  app.post('/v1/auth/token', limitBody(MAX_LOGIN_BODY_BYTES), async (c) => {
    const address = getConnInfo(c).remote.address ?? 'unknown';
    // The address bucket is checked first, but charged only for attempts that fail before a pubkey
    // is proven or that pass the pubkey's own limit: one pubkey's burst then costs its own bucket,
    // not the turn of another user behind the same address.
    const addressAllowance = deps.loginLimiterPerAddress.peek(address);
    if (!addressAllowance.ok) return respondWithFailure(c, rateLimited('this address', addressAllowance.retryAfterSeconds));
    const refuseUnproven = (refusal: Failure) => {
      deps.loginLimiterPerAddress.take(address);
      return respondWithFailure(c, refusal);
    };

    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const mediaType = requireJsonBody(c, rawBody);
    if (!mediaType.ok) return refuseUnproven(mediaType);
    const requestUrl = new URL(c.req.url);
    const now = nowSeconds();
    const auth = verifyNip98Authorization(c.req.header('Authorization'), {
      url: `${publicUrl}${requestUrl.pathname}${requestUrl.search}`,
      method: c.req.method,
      body: rawBody,
      nowSeconds: now,
    });
    if (!auth.ok) return refuseUnproven(auth);
    if (!replayGuard.firstSighting(auth.eventId, auth.createdAt, now)) {
      return refuseUnproven(failure(401, 'replayed_event', 'this NIP-98 event was already used; sign a new one for each request'));
    }

    const pubkeyAllowance = deps.loginLimiterPerPubkey.take(auth.pubkey);
    if (!pubkeyAllowance.ok) return respondWithFailure(c, rateLimited('this pubkey', pubkeyAllowance.retryAfterSeconds));
    const addressTaken = deps.loginLimiterPerAddress.take(address);
    if (!addressTaken.ok) return respondWithFailure(c, rateLimited('this address', addressTaken.retryAfterSeconds));
    if (config.allowedPubkeys && !config.allowedPubkeys.has(auth.pubkey)) {
      return respondWithFailure(c, failure(403, 'pubkey_not_allowed', 'this pubkey may not log in to this world'));
    }

    const body = parseJsonBody(rawBody, loginBodySchema, '{ device_id, scopes?, session_id? }');
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
  });

  app.post('/v1/auth/revoke', limitBody(MAX_REVOKE_BODY_BYTES), async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const mediaType = requireJsonBody(c, rawBody);
    if (!mediaType.ok) return respondWithFailure(c, mediaType);
    const bearer = await authenticateBearer(c, { allowRevoked: true });
    if (!bearer.ok) return respondWithFailure(c, bearer);
    let body: RevokeBody = {};
    if (rawBody.length > 0) {
      const parsed = parseJsonBody(rawBody, revokeBodySchema, 'empty, { "all": true } or { "device_id": "..." }');
      if (!parsed.ok) return respondWithFailure(c, parsed);
      body = parsed.value;
    }
    const { nostr_pubkey: pubkey, session_id: ownSession } = bearer.claims;

    let notice: RevocationNotice;
    if (!('all' in body) && !('device_id' in body)) {
      // A token of an already revoked session may still end that session (harmless), nothing more.
      if (!(await sessions.revoke(ownSession))) return c.body(null, 204);
      notice = { sessionIds: [ownSession], pubkey, deviceId: '', issuedBeforeMicros: 0 };
    } else {
      if (sessions.isRevoked(ownSession)) return respondWithFailure(c, failure(401, 'session_revoked', 'the session of this token was revoked'));
      const deviceId = 'device_id' in body ? body.device_id : undefined;
      const sessionIds = await sessions.revokeMatching(pubkey, deviceId);
      // The watermark also covers sessions control has forgotten. It is the start of this second, so a
      // login right after is not refused (its iat is this second), while every session issued this
      // second that control knows is named in sessionIds.
      notice = { sessionIds, pubkey, deviceId: deviceId ?? '', issuedBeforeMicros: nowSeconds() * 1_000_000 };
    }
    await deps.revocations.enqueue(notice, deps.worlds());
    logger.info(
      { pubkey, session_id: ownSession, scope: 'all' in body ? 'all' : 'device_id' in body ? 'device' : 'session', sessions: notice.sessionIds },
      'session revoked',
    );
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
    if (error instanceof HTTPException && error.status < 500) {
      // A client's mistake caught by middleware: a 4xx with a message, logged below error level.
      logger.info({ status: error.status, message: error.message, path: c.req.path }, 'request refused');
      return respondWithFailure(c, failure(400, 'bad_request', error.message || 'bad request'));
    }
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

function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: (c) => {
      // The rest of the body is never read, so this connection cannot carry another request.
      c.header('Connection', 'close');
      return respondWithFailure(c as Context<ControlEnv>, failure(413, 'payload_too_large', `the body must be at most ${maxSize} bytes`));
    },
  });
}

/** A request with a body must say it is JSON; a bodiless one may say anything. */
function requireJsonBody(c: Context<ControlEnv>, rawBody: Uint8Array): { ok: true } | Failure {
  if (rawBody.length === 0) return { ok: true };
  const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return { ok: true };
  return failure(415, 'unsupported_media_type', `send the body as Content-Type: application/json (got ${mediaType ? `"${mediaType}"` : 'none'})`);
}

function rateLimited(subject: string, retryAfterSeconds: number): Failure {
  return { ...failure(429, 'rate_limited', `too many logins from ${subject}; retry in ${retryAfterSeconds} s`), retryAfterSeconds };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonBody<T>(rawBody: Uint8Array, schema: z.ZodType<T>, shape: string): { ok: true; value: T } | Failure {
  let text: string;
  try {
    text = strictUtf8.decode(rawBody);
  } catch {
    return failure(400, 'bad_request', 'the body is not valid UTF-8');
  }
  if (text.trim() === '') return failure(400, 'bad_request', `the body must be JSON: ${shape}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return failure(400, 'bad_request', `the body is not valid JSON; expected ${shape}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    return failure(400, 'bad_request', `${problems.join('; ')}; expected ${shape}`);
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
): { ok: true; granted: LoginScope[] } | Failure {
  const policy = config.pubkeyScopes.get(pubkey) ?? config.defaultScopes;
  const granted = requested === undefined || requested.length === 0 ? [...policy] : policy.filter((scope) => requested.includes(scope));
  if (granted.length === 0) {
    const asked = requested && requested.length > 0 ? `none of the requested scopes (${requested.join(', ')}) are` : 'no scope is';
    return failure(403, 'scope_denied', `${asked} granted to this pubkey`);
  }
  return { ok: true, granted };
}
