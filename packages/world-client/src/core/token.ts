// Control-service tokens: NIP-98 login → short-lived ES256 JWT, refreshed (same session) before it
// expires. Every login signs a fresh event with a random nonce tag, because the control service
// refuses an event id it has seen and two logins within one second would otherwise collide.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes as nobleRandomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { NIP98_KIND, signEvent, type EventTemplate, type NostrEvent } from '@autopilot/nip06';
import { systemClock, type Clock } from './clock';
import { defaultFetch, readErrorBody, type FetchLike } from './http';
import { Listeners } from './listeners';
import { silentLogger, type Logger } from './logger';
import { errorMessage, failure, type Result } from './result';

/** A token the world accepts, with what the client needs to know about it. */
export interface WorldToken {
  /** The JWT itself. Secret: never log it. */
  readonly token: string;
  /** `exp` in milliseconds since the epoch. */
  readonly expiresAtMs: number;
  /** When this client received it, by its own clock (the basis of the refresh schedule). */
  readonly receivedAtMs: number;
  /** The SpacetimeDB identity (64 hex) the world will see. */
  readonly identity: string;
  readonly sessionId: string;
  readonly pubkey: string;
  readonly deviceId: string;
  readonly scopes: readonly string[];
}

export type TokenErrorCode =
  | 'unreachable'
  | 'rate_limited'
  | 'server_error'
  | 'denied'
  | 'session_revoked'
  | 'session_unknown'
  | 'clock_skew'
  | 'bad_response';

export type TokenResult =
  | { ok: true; token: WorldToken }
  | { ok: false; code: TokenErrorCode; message: string; retryable: boolean; retryAfterMs?: number };

/** Where the connection manager gets tokens from. */
export interface TokenSource {
  /** The last token obtained, if any. */
  current(): WorldToken | undefined;
  /** A token that is not about to expire: the current one, or a refreshed one. */
  token(): Promise<TokenResult>;
  /** A new token now (same session when possible). */
  refresh(): Promise<TokenResult>;
  /** When the given token should be replaced, in ms since the epoch. */
  refreshAt(token: WorldToken): number;
}

/** Signs Nostr events; keys may live elsewhere (a keystore, another process). */
export interface NostrSigner {
  readonly publicKeyHex: string;
  sign(template: EventTemplate): NostrEvent | Promise<NostrEvent>;
}

export function signerFromPrivateKey(identity: { privateKeyHex: string; publicKeyHex: string }): NostrSigner {
  const { privateKeyHex, publicKeyHex } = identity;
  return { publicKeyHex, sign: (template) => signEvent(template, privateKeyHex) };
}

/** The transport policy the control service serves (apps/control TransportPolicy). */
export interface TransportPolicy {
  primary: 'spacetime';
  nostr: { fallbackAllowed: boolean; mirrorAllowed: boolean; relays: string[] };
}

export const CONSERVATIVE_POLICY: TransportPolicy = {
  primary: 'spacetime',
  nostr: { fallbackAllowed: false, mirrorAllowed: false, relays: [] },
};

export interface ControlTokenSourceOptions {
  /** Base URL of the control service as it knows itself (NIP-98 `u` tags must match exactly). */
  controlUrl: string;
  signer: NostrSigner;
  deviceId: string;
  /** Scopes to ask for; default: whatever the control service grants. */
  scopes?: string[];
  fetch?: FetchLike;
  clock?: Clock;
  randomBytes?: (length: number) => Uint8Array;
  /**
   * How long before expiry to refresh. Default: a fifth of the token's lifetime as received,
   * at least 1 s and at most 60 s.
   */
  refreshLeadMs?: number;
  logger?: Logger;
}

interface LoginAnswer {
  token: string;
  expires_at: number;
  identity: string;
  session_id: string;
  claims: { sub?: unknown; nostr_pubkey?: unknown; device_id?: unknown; scopes?: unknown };
}

export class ControlTokenSource implements TokenSource {
  readonly controlUrl: string;
  readonly #options: ControlTokenSourceOptions;
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tokenListeners: Listeners<[WorldToken]>;
  #current: WorldToken | undefined;
  #inFlight: Promise<TokenResult> | undefined;

  constructor(options: ControlTokenSourceOptions) {
    const url = normalizeControlUrl(options.controlUrl);
    if (!url.ok) throw new TypeError(url.message);
    if (typeof options.deviceId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(options.deviceId)) {
      throw new TypeError('deviceId must be 1-128 printable ASCII characters without spaces');
    }
    if (options.refreshLeadMs !== undefined && !(options.refreshLeadMs >= 0)) {
      throw new RangeError('refreshLeadMs must be a non-negative number of milliseconds');
    }
    this.controlUrl = url.url;
    this.#options = options;
    this.#fetch = options.fetch ?? defaultFetch();
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#tokenListeners = new Listeners('token', this.#logger);
  }

  current(): WorldToken | undefined {
    return this.#current;
  }

  /** Called with every new token (e.g. to persist the session id or update a UI). */
  onToken(listener: (token: WorldToken) => void): () => void {
    return this.#tokenListeners.add(listener);
  }

  refreshAt(token: WorldToken): number {
    const lifetime = Math.max(0, token.expiresAtMs - token.receivedAtMs);
    const lead = this.#options.refreshLeadMs ?? Math.min(60_000, Math.max(1_000, lifetime / 5));
    return token.expiresAtMs - lead;
  }

  async token(): Promise<TokenResult> {
    const current = this.#current;
    if (current && this.#clock.now() < this.refreshAt(current)) return { ok: true, token: current };
    return this.refresh();
  }

  /** A new token for the current session (a fresh login when there is none or it is unknown). */
  refresh(): Promise<TokenResult> {
    return this.#once(async () => {
      const sessionId = this.#current?.sessionId;
      if (sessionId !== undefined) {
        const refreshed = await this.#requestToken(sessionId);
        if (refreshed.ok || refreshed.code !== 'session_unknown') return refreshed;
        this.#logger.info({ session_id: sessionId }, 'control forgot the session; logging in again');
      }
      return this.#requestToken(undefined);
    });
  }

  /** A token for a brand-new session. */
  login(): Promise<TokenResult> {
    return this.#once(() => this.#requestToken(undefined));
  }

  async transportPolicy(): Promise<Result<{ policy: TransportPolicy }, TokenErrorCode>> {
    const token = await this.token();
    if (!token.ok) return failure(token.code, token.message);
    let response;
    try {
      response = await this.#fetch(`${this.controlUrl}/v1/policy/transport`, {
        headers: { Authorization: `Bearer ${token.token.token}` },
      });
    } catch (error) {
      return failure('unreachable', `control service unreachable: ${errorMessage(error)}`);
    }
    if (!response.ok) {
      const body = await readErrorBody(response);
      return failure(response.status >= 500 ? 'server_error' : 'denied', `transport policy refused: ${body.message}`);
    }
    const policy = parsePolicy(await response.json().catch(() => undefined));
    if (!policy) return failure('bad_response', 'the control service answered a malformed transport policy');
    return { ok: true, policy };
  }

  /** Ends the session at the control service; later refreshes need a new login. */
  async revoke(): Promise<Result<object, TokenErrorCode>> {
    const current = this.#current;
    if (!current) return { ok: true };
    let response;
    try {
      response = await this.#fetch(`${this.controlUrl}/v1/auth/revoke`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${current.token}` },
      });
    } catch (error) {
      return failure('unreachable', `control service unreachable: ${errorMessage(error)}`);
    }
    if (!response.ok && response.status !== 401) {
      const body = await readErrorBody(response);
      return failure(response.status >= 500 ? 'server_error' : 'denied', `revoke refused: ${body.message}`);
    }
    this.#current = undefined;
    return { ok: true };
  }

  /** Concurrent callers share one request. */
  #once(request: () => Promise<TokenResult>): Promise<TokenResult> {
    if (!this.#inFlight) {
      this.#inFlight = request().finally(() => {
        this.#inFlight = undefined;
      });
    }
    return this.#inFlight;
  }

  async #requestToken(sessionId: string | undefined): Promise<TokenResult> {
    const url = `${this.controlUrl}/v1/auth/token`;
    const body = JSON.stringify({
      device_id: this.#options.deviceId,
      ...(this.#options.scopes ? { scopes: this.#options.scopes } : {}),
      ...(sessionId !== undefined ? { session_id: sessionId } : {}),
    });
    let authorization: string;
    try {
      authorization = await this.#nip98Header(url, body);
    } catch (error) {
      return { ok: false, code: 'denied', message: `could not sign the login event: ${errorMessage(error)}`, retryable: false };
    }
    let response;
    try {
      response = await this.#fetch(url, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/json' },
        body,
      });
    } catch (error) {
      return { ok: false, code: 'unreachable', message: `control service unreachable: ${errorMessage(error)}`, retryable: true };
    }
    if (!response.ok) return refusal(response.status, response.headers.get('Retry-After'), await readErrorBody(response));
    const answer = parseLoginAnswer(await response.json().catch(() => undefined));
    if (!answer) return { ok: false, code: 'bad_response', message: 'the control service answered a malformed login', retryable: true };
    const token: WorldToken = {
      token: answer.token,
      expiresAtMs: answer.expires_at * 1000,
      receivedAtMs: this.#clock.now(),
      identity: answer.identity,
      sessionId: answer.session_id,
      pubkey: typeof answer.claims.nostr_pubkey === 'string' ? answer.claims.nostr_pubkey : this.#options.signer.publicKeyHex,
      deviceId: this.#options.deviceId,
      scopes: Array.isArray(answer.claims.scopes) ? answer.claims.scopes.filter((s): s is string => typeof s === 'string') : [],
    };
    this.#current = token;
    this.#logger.info(
      { session_id: token.sessionId, expires_in_ms: token.expiresAtMs - token.receivedAtMs, refresh: sessionId !== undefined },
      'control token obtained',
    );
    this.#tokenListeners.emit(token);
    return { ok: true, token };
  }

  async #nip98Header(url: string, body: string): Promise<string> {
    const random = this.#options.randomBytes ?? nobleRandomBytes;
    const template: EventTemplate = {
      kind: NIP98_KIND,
      created_at: Math.floor(this.#clock.now() / 1000),
      content: '',
      tags: [
        ['u', url],
        ['method', 'POST'],
        ['payload', bytesToHex(sha256(utf8ToBytes(body)))],
        ['nonce', bytesToHex(random(16))],
      ],
    };
    const event = await this.#options.signer.sign(template);
    return `Nostr ${base64(utf8ToBytes(JSON.stringify(event)))}`;
  }
}

export function normalizeControlUrl(value: string): { ok: true; url: string } | { ok: false; message: string } {
  if (typeof value !== 'string' || !URL.canParse(value)) return { ok: false, message: `control URL ${JSON.stringify(value)} is not a URL` };
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: `control URL ${JSON.stringify(value)} must be http:// or https://` };
  }
  return { ok: true, url: value.replace(/\/+$/, '') };
}

function refusal(status: number, retryAfter: string | null, body: { code: string | undefined; message: string }): TokenResult {
  const detail = body.code ? `${body.code}: ${body.message}` : body.message;
  if (status === 429) {
    const seconds = Number(retryAfter);
    return {
      ok: false,
      code: 'rate_limited',
      message: `login rate limited: ${detail}`,
      retryable: true,
      ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {}),
    };
  }
  if (status >= 500) return { ok: false, code: 'server_error', message: `control service failed: ${detail}`, retryable: true };
  switch (body.code) {
    case 'session_revoked':
      return { ok: false, code: 'session_revoked', message: `session revoked: ${body.message}`, retryable: false };
    case 'session_unknown':
      return { ok: false, code: 'session_unknown', message: `session unknown: ${body.message}`, retryable: true };
    case 'stale_event':
      return { ok: false, code: 'clock_skew', message: `this machine's clock is too far from the control service's: ${body.message}`, retryable: false };
    case 'replayed_event':
      return { ok: false, code: 'server_error', message: `login event replayed: ${body.message}`, retryable: true };
    default:
      return { ok: false, code: 'denied', message: `login refused: ${detail}`, retryable: false };
  }
}

function parseLoginAnswer(json: unknown): LoginAnswer | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const answer = json as Partial<LoginAnswer>;
  if (typeof answer.token !== 'string' || answer.token === '') return undefined;
  if (typeof answer.expires_at !== 'number' || !Number.isFinite(answer.expires_at)) return undefined;
  if (typeof answer.identity !== 'string' || !/^[0-9a-f]{64}$/.test(answer.identity)) return undefined;
  if (typeof answer.session_id !== 'string' || answer.session_id === '') return undefined;
  return { ...answer, claims: typeof answer.claims === 'object' && answer.claims !== null ? answer.claims : {} } as LoginAnswer;
}

function parsePolicy(json: unknown): TransportPolicy | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { primary, nostr } = json as { primary?: unknown; nostr?: Record<string, unknown> };
  if (primary !== 'spacetime' || typeof nostr !== 'object' || nostr === null) return undefined;
  const relays = Array.isArray(nostr.relays) ? nostr.relays.filter((r): r is string => typeof r === 'string') : [];
  return {
    primary,
    nostr: { fallbackAllowed: nostr.fallbackAllowed === true, mirrorAllowed: nostr.mirrorAllowed === true, relays },
  };
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
