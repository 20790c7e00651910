// Control's configuration: the JSON a deployment writes (or the embedded launcher passes), checked
// with zod so every mistake is named at startup, and resolved into the sets the service reads.
import { readFile } from 'node:fs/promises';
import { nip19 } from 'nostr-tools';
import { z } from 'zod';

/** The scopes a user's login may carry (role `user`). */
export const USER_SCOPES = ['world:join', 'comms:write', 'compute:request', 'compute:provide', 'files:write'] as const;
/** Draining *other* nodes' outbox rows to Nostr: role `bridge` only. */
export const BRIDGE_SCOPE = 'bridge:publish';
/** Telling a world to refuse sessions: only control's own service token carries it, never a login. */
export const REVOKE_SCOPE = 'world:revoke';

/** Every scope the world module understands; config may only name these (catches typos early). */
export const STANDARD_SCOPES = [...USER_SCOPES, BRIDGE_SCOPE, REVOKE_SCOPE] as const;
export type Scope = (typeof STANDARD_SCOPES)[number];
/** What a login can ever be granted: everything but `world:revoke`. */
export const LOGIN_SCOPES = [...USER_SCOPES, BRIDGE_SCOPE] as const;
export type LoginScope = (typeof LOGIN_SCOPES)[number];

/** Roles a pubkey can be given; `service` is control's own and cannot be assigned to a pubkey. */
export const LOGIN_ROLES = ['user', 'bridge'] as const;
export type LoginRole = (typeof LOGIN_ROLES)[number];
export const ROLE_SCOPES: Readonly<Record<LoginRole | 'service', readonly Scope[]>> = {
  user: USER_SCOPES,
  bridge: [...USER_SCOPES, BRIDGE_SCOPE],
  service: [REVOKE_SCOPE],
};

/** SpacetimeDB refuses `iss`/`sub` longer than this (spec §3.4). */
export const MAX_CLAIM_BYTES = 128;

const HEX_PUBKEY = /^[0-9a-f]{64}$/;

/** Accepts a 64-hex pubkey (any case) or an npub, and yields lowercase hex. */
const pubkeySchema = z.string().transform((value, ctx) => {
  const normalized = normalizePubkey(value);
  if (normalized === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is neither a 64-hex Nostr pubkey nor an npub` });
    return z.NEVER;
  }
  return normalized;
});

const scopeListSchema = z.array(
  z.string().transform((value, ctx) => {
    if ((LOGIN_SCOPES as readonly string[]).includes(value)) return value as LoginScope;
    ctx.addIssue({
      code: 'custom',
      message:
        value === REVOKE_SCOPE
          ? `${REVOKE_SCOPE} belongs to control's own service token and is never granted to a login`
          : `unknown scope "${value}"; expected one of ${LOGIN_SCOPES.join(', ')}`,
    });
    return z.NEVER;
  }),
);

const roleSchema = z.string().transform((value, ctx) => {
  if ((LOGIN_ROLES as readonly string[]).includes(value)) return value as LoginRole;
  ctx.addIssue({
    code: 'custom',
    message:
      value === 'service'
        ? 'role "service" is control\'s own and cannot be given to a pubkey'
        : `unknown role "${value}"; expected one of ${LOGIN_ROLES.join(', ')}`,
  });
  return z.NEVER;
});

/** A world control tells about revocations: its HTTP base URL and database name. */
const worldTargetSchema = z.strictObject({
  httpUrl: z.string().transform((value, ctx) => {
    const normalized = normalizeBaseUrl(value);
    if (typeof normalized !== 'string') {
      ctx.addIssue({ code: 'custom', message: normalized.error });
      return z.NEVER;
    }
    return normalized;
  }),
  database: z.string().min(1).max(128),
});
export type WorldTarget = z.output<typeof worldTargetSchema>;

/** An http(s) base URL; trailing slashes are dropped so paths append cleanly. */
const baseUrlSchema = z.string().transform((value, ctx) => {
  const normalized = normalizeBaseUrl(value);
  if (typeof normalized !== 'string') {
    ctx.addIssue({ code: 'custom', message: normalized.error });
    return z.NEVER;
  }
  return normalized;
});

const relayUrlSchema = z.string().refine((value) => /^wss?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
  message: 'must be a ws:// or wss:// URL',
});

const tokenBucketSchema = z.strictObject({
  /** Requests allowed at once before refills are needed. */
  burst: z.int().min(1).max(1_000_000),
  /** Tokens added back per minute. */
  perMinute: z.number().positive().max(1_000_000),
});

const controlConfigSchema = z
  .strictObject({
    /** `iss` of minted tokens; SpacetimeDB fetches `<issuer>/.well-known/openid-configuration`. */
    issuer: baseUrlSchema.optional(),
    /** Base URL clients address (NIP-98 `u` tags, discovery URLs); defaults to issuer, then the bound URL. */
    publicUrl: baseUrlSchema.optional(),
    org: z.string().min(1).max(64).default('local'),
    tokenTtlSeconds: z.int().min(30).max(86_400).default(900),
    /** Absent: an open local world where any valid login is accepted. */
    allowedPubkeys: z.array(pubkeySchema).optional(),
    /** Role of pubkeys without an entry in `roles` or `pubkeyScopes`. */
    defaultRole: roleSchema.default('user'),
    /** Per-pubkey roles (`user`, `bridge`). */
    roles: z.record(z.string(), roleSchema).default({}),
    /**
     * Narrows the default role's scopes for everyone without a `roles`/`pubkeyScopes` entry
     * (kept from before roles; prefer roles).
     */
    defaultScopes: scopeListSchema.optional(),
    /** Per-pubkey explicit scope sets, replacing the role for that pubkey (kept from before roles). */
    pubkeyScopes: z.record(z.string(), scopeListSchema).default({}),
    /** Worlds control tells about revocations (POST <httpUrl>/v1/database/<database>/call/revoke_sessions). */
    worlds: z.array(worldTargetSchema).max(64).default([]),
    /** Backoff of revocation delivery: first retry after initialMs, doubling up to maxMs. */
    revocationRetry: z
      .strictObject({
        initialMs: z.int().min(1).max(3_600_000).default(1_000),
        maxMs: z.int().min(1).max(86_400_000).default(300_000),
      })
      .prefault({}),
    transport: z
      .strictObject({
        nostrFallbackAllowed: z.boolean().default(false),
        mirrorAllowed: z.boolean().default(false),
        relays: z.array(relayUrlSchema).default([]),
      })
      .prefault({}),
    /** How long a rotated-out key stays in the JWKS so tokens it signed keep verifying. */
    keyRotationOverlapSeconds: z.int().min(0).max(30 * 86_400).default(3_600),
    /** Sessions unused for this long are forgotten (a refresh then answers session_unknown). */
    sessionIdleSeconds: z.int().min(60).default(30 * 86_400),
    rateLimits: z
      .strictObject({
        loginPerPubkey: tokenBucketSchema.default({ burst: 10, perMinute: 10 }),
        loginPerAddress: tokenBucketSchema.default({ burst: 30, perMinute: 60 }),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.keyRotationOverlapSeconds < config.tokenTtlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyRotationOverlapSeconds'],
        message: `must be at least tokenTtlSeconds (${config.tokenTtlSeconds}) so tokens signed before a rotation keep verifying until they expire`,
      });
    }
    if ((config.transport.nostrFallbackAllowed || config.transport.mirrorAllowed) && config.transport.relays.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport', 'relays'],
        message: 'must list at least one relay when nostrFallbackAllowed or mirrorAllowed is true',
      });
    }
    if (config.issuer !== undefined && utf8Length(config.issuer) > MAX_CLAIM_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['issuer'], message: `must be at most ${MAX_CLAIM_BYTES} bytes (SpacetimeDB limit for iss)` });
    }
    if (config.revocationRetry.maxMs < config.revocationRetry.initialMs) {
      ctx.addIssue({ code: 'custom', path: ['revocationRetry', 'maxMs'], message: 'must be at least initialMs' });
    }
    if (config.defaultScopes !== undefined) {
      const roleScopes: readonly string[] = ROLE_SCOPES[config.defaultRole];
      for (const scope of config.defaultScopes.filter((s) => !roleScopes.includes(s))) {
        ctx.addIssue({ code: 'custom', path: ['defaultScopes'], message: `${scope} is not a scope of the default role ${config.defaultRole}` });
      }
    }
    const allowed = config.allowedPubkeys ? new Set(config.allowedPubkeys) : undefined;
    const withRole = new Set<string>();
    for (const [field, keys] of [
      ['roles', Object.keys(config.roles)],
      ['pubkeyScopes', Object.keys(config.pubkeyScopes)],
    ] as const) {
      for (const key of keys) {
        const pubkey = normalizePubkey(key);
        if (pubkey === undefined) {
          ctx.addIssue({ code: 'custom', path: [field, key], message: 'key is neither a 64-hex Nostr pubkey nor an npub' });
        } else if (allowed && !allowed.has(pubkey)) {
          ctx.addIssue({ code: 'custom', path: [field, key], message: 'pubkey is not in allowedPubkeys, so it could never log in' });
        } else if (field === 'roles') {
          withRole.add(pubkey);
        } else if (withRole.has(pubkey)) {
          ctx.addIssue({ code: 'custom', path: [field, key], message: 'pubkey also has a role; give it one or the other' });
        }
      }
    }
  });

/** Config as written in the JSON file or passed to startControl; every field is optional. */
export type ControlConfig = z.input<typeof controlConfigSchema>;

/** Config with defaults applied and pubkeys normalized to lowercase hex. */
export interface ResolvedControlConfig
  extends Omit<z.output<typeof controlConfigSchema>, 'allowedPubkeys' | 'pubkeyScopes' | 'roles' | 'defaultScopes'> {
  allowedPubkeys: ReadonlySet<string> | undefined;
  /** The scopes each listed pubkey may be granted (from `roles` or `pubkeyScopes`). */
  pubkeyScopes: ReadonlyMap<string, readonly LoginScope[]>;
  /** The scopes of every other pubkey (the default role, narrowed by `defaultScopes`). */
  defaultScopes: readonly LoginScope[];
}

export type ConfigResult = { ok: true; config: ResolvedControlConfig } | { ok: false; message: string };

export function parseControlConfig(input: unknown): ConfigResult {
  const parsed = controlConfigSchema.safeParse(input === undefined ? {} : input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${where}: ${issue.message}`;
    });
    return { ok: false, message: problems.join('; ') };
  }
  const { allowedPubkeys, pubkeyScopes, roles, defaultScopes, ...rest } = parsed.data;
  const scopesByPubkey = new Map<string, readonly LoginScope[]>();
  for (const [key, role] of Object.entries(roles)) scopesByPubkey.set(normalizePubkey(key) as string, ROLE_SCOPES[role] as readonly LoginScope[]);
  for (const [key, scopes] of Object.entries(pubkeyScopes)) scopesByPubkey.set(normalizePubkey(key) as string, scopes);
  return {
    ok: true,
    config: {
      ...rest,
      allowedPubkeys: allowedPubkeys ? new Set(allowedPubkeys) : undefined,
      pubkeyScopes: scopesByPubkey,
      defaultScopes: defaultScopes ?? (ROLE_SCOPES[rest.defaultRole] as readonly LoginScope[]),
    },
  };
}

/** Thrown for a config that cannot be used; the message names the file and every problem found. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates a JSON config file; the result is ready to pass to startControl. */
export async function loadControlConfigFile(path: string): Promise<ControlConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = parseControlConfig(json);
  if (!result.ok) throw new ConfigError(`config file ${path} is invalid: ${result.message}`);
  return json as ControlConfig;
}

export function resolveControlConfig(input: ControlConfig | undefined): ResolvedControlConfig {
  const result = parseControlConfig(input);
  if (!result.ok) throw new ConfigError(`control config is invalid: ${result.message}`);
  return result.config;
}

function normalizePubkey(value: string): string | undefined {
  const lower = value.toLowerCase();
  if (HEX_PUBKEY.test(lower)) return lower;
  if (!lower.startsWith('npub1')) return undefined;
  try {
    const decoded = nip19.decode(lower);
    return decoded.type === 'npub' ? decoded.data : undefined;
  } catch {
    return undefined;
  }
}

export function normalizeBaseUrl(value: string): string | { error: string } {
  if (!URL.canParse(value)) return { error: `"${value}" is not a URL` };
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `"${value}" must be an http:// or https:// URL` };
  if (url.search !== '' || url.hash !== '') return { error: `"${value}" must not have a query or fragment` };
  return value.replace(/\/+$/, '');
}

export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
