import { readFile } from 'node:fs/promises';
import { nip19 } from 'nostr-tools';
import { z } from 'zod';

/** The scopes the world module understands; config may only grant these (catches typos early). */
export const STANDARD_SCOPES = [
  'world:join',
  'comms:write',
  'compute:request',
  'compute:provide',
  'files:write',
  'bridge:publish',
] as const;
export type Scope = (typeof STANDARD_SCOPES)[number];

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

const scopeListSchema = z.array(z.enum(STANDARD_SCOPES));

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
    /** Scopes of pubkeys without their own entry in `pubkeyScopes`. */
    defaultScopes: scopeListSchema.default([...STANDARD_SCOPES]),
    /** Per-pubkey scope sets; an entry replaces `defaultScopes` for that pubkey. */
    pubkeyScopes: z.record(z.string(), scopeListSchema).default({}),
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
    const allowed = config.allowedPubkeys ? new Set(config.allowedPubkeys) : undefined;
    for (const key of Object.keys(config.pubkeyScopes)) {
      const pubkey = normalizePubkey(key);
      if (pubkey === undefined) {
        ctx.addIssue({ code: 'custom', path: ['pubkeyScopes', key], message: 'key is neither a 64-hex Nostr pubkey nor an npub' });
      } else if (allowed && !allowed.has(pubkey)) {
        ctx.addIssue({ code: 'custom', path: ['pubkeyScopes', key], message: 'pubkey is not in allowedPubkeys, so it could never log in' });
      }
    }
  });

/** Config as written in the JSON file or passed to startControl; every field is optional. */
export type ControlConfig = z.input<typeof controlConfigSchema>;

/** Config with defaults applied and pubkeys normalized to lowercase hex. */
export interface ResolvedControlConfig extends Omit<z.output<typeof controlConfigSchema>, 'allowedPubkeys' | 'pubkeyScopes'> {
  allowedPubkeys: ReadonlySet<string> | undefined;
  pubkeyScopes: ReadonlyMap<string, readonly Scope[]>;
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
  const { allowedPubkeys, pubkeyScopes, ...rest } = parsed.data;
  return {
    ok: true,
    config: {
      ...rest,
      allowedPubkeys: allowedPubkeys ? new Set(allowedPubkeys) : undefined,
      pubkeyScopes: new Map(Object.entries(pubkeyScopes).map(([key, scopes]) => [normalizePubkey(key) as string, scopes])),
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
