// The bridge contract between the main-process core and the renderer: every call, every answer and
// every pushed state slice, as zod schemas. Both ends validate what they receive (the core checks
// requests, the renderer's bridge checks answers and pushes), in Electron (preload IPC) and in web
// mode (loopback WebSocket) alike. Runs anywhere: no Node, DOM or Electron imports.
// Field names follow the root README's "Conventions", the same names the world-client views use:
// a record's own id is `id`, references `<record>Id`, times `<event>AtMs`, Nostr keys `pubkey`/`npub`.
import { z } from 'zod';
import { MAX_MESSAGE_CHARS } from './limits';

export { MAX_MESSAGE_CHARS };

// ---- shared pieces ----

/** u64 ids travel as decimal strings (JSON has no bigint). */
export const IdString = z.string().regex(/^\d{1,20}$/, 'must be a decimal id');
/** A SpacetimeDB identity, 64 lower-case hex characters. */
export const NodeId = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters');
const ShortText = z.string().max(256);


export const ConnectionStatus = z.enum(['signed_out', 'connecting', 'connected', 'reconnecting', 'offline']);
export type ConnectionStatus = z.infer<typeof ConnectionStatus>;

export const ConnectionState = z.object({
  status: ConnectionStatus,
  /** Why we are not connected (last error), null when connected. */
  reason: z.string().nullable(),
  /** When the current status began (ms since the epoch). */
  since: z.number(),
  /** Reconnect attempts since the connection was last up. */
  attempt: z.number().int().nonnegative(),
  worldUrl: z.string(),
  databaseName: z.string(),
});
export type ConnectionState = z.infer<typeof ConnectionState>;

export const AccountSummary = z.object({
  id: z.string(),
  label: z.string(),
  npub: z.string(),
  createdAtMs: z.number(),
});
export type AccountSummary = z.infer<typeof AccountSummary>;

export const IdentityState = z.object({
  accounts: z.array(AccountSummary),
  activeId: z.string().nullable(),
  /** The secret store in use: "safeStorage" (Electron, OS keychain) or "local-key" (web mode). */
  secretStore: z.string(),
});
export type IdentityState = z.infer<typeof IdentityState>;

export const SelfState = z.object({
  nodeId: NodeId.nullable(),
  npub: z.string(),
  pubkey: z.string(),
  displayName: z.string(),
});
export type SelfState = z.infer<typeof SelfState>;

/** A node in the world, as presence shows it. */
export const Peer = z.object({
  id: NodeId,
  pubkey: z.string(),
  npub: z.string(),
  displayName: z.string(),
  /** What to call this peer: its display name, else a short npub. The core decides, once. */
  label: z.string(),
  status: z.string(),
  lastHeartbeatAtMs: z.number(),
  isSelf: z.boolean(),
});
export type Peer = z.infer<typeof Peer>;

export const Channel = z.object({
  id: IdString,
  name: z.string(),
  topic: z.string(),
  kind: z.string(),
  isPrivate: z.boolean(),
  workspaceId: IdString,
  status: z.string(),
  participants: z.array(NodeId),
  lastSeq: z.number().int().nonnegative(),
  /** Highest seq this node has marked read. */
  readSeq: z.number().int().nonnegative(),
  unread: z.number().int().nonnegative(),
  /** The key it was opened with: what `channels.open` answers, so the opener can find it. */
  idempotencyKey: z.string(),
});
export type Channel = z.infer<typeof Channel>;

export const Message = z.object({
  channelId: IdString,
  /** 0 while the message waits in the outbox. */
  seq: z.number().int().nonnegative(),
  sender: NodeId.nullable(),
  senderName: z.string(),
  payload: z.string(),
  sentAtMs: z.number(),
  idempotencyKey: z.string(),
  pending: z.boolean(),
});
export type Message = z.infer<typeof Message>;

export const CapabilityAd = z.object({
  id: IdString,
  provider: NodeId,
  providerName: z.string(),
  tools: z.array(z.string()),
  models: z.array(z.string()),
  computeClasses: z.array(z.string()),
  maxConcurrency: z.number().int().nonnegative(),
  priceHints: z.string(),
  region: z.string(),
  active: z.boolean(),
  isOwn: z.boolean(),
});
export type CapabilityAd = z.infer<typeof CapabilityAd>;

export const ComputeRequest = z.object({
  id: IdString,
  requester: NodeId,
  requesterName: z.string(),
  targetProvider: NodeId.nullable(),
  providerName: z.string(),
  policyClass: z.string(),
  /** The job as the requester wrote it (the prompt of the job envelope). */
  job: z.string(),
  status: z.string(),
  /** requester: this node asked; provider: offered to or assigned to this node. */
  role: z.enum(['requester', 'provider']),
  assignmentStatus: z.string().nullable(),
  reason: z.string(),
  result: z.string().nullable(),
  resultHash: z.string(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});
export type ComputeRequest = z.infer<typeof ComputeRequest>;

export const Workspace = z.object({
  id: IdString,
  slug: z.string(),
  name: z.string(),
  /** This node's role in it (owner, admin, editor, viewer). */
  role: z.string(),
  members: z.array(NodeId),
});
export type Workspace = z.infer<typeof Workspace>;

const RelayUrl = z
  .string()
  .trim()
  .regex(/^wss?:\/\/[^\s]+$/, 'a relay URL starts with ws:// or wss://')
  .max(512);
const HttpUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL')
  .max(512);
const WsUrl = z
  .string()
  .trim()
  .regex(/^(wss?|https?):\/\/[^\s]+$/, 'must be a ws(s) or http(s) URL')
  .max(512);

export const Settings = z.object({
  /** true: use the world and control URLs the embedded world reports (npm start). */
  useEmbedded: z.boolean(),
  worldUrl: WsUrl,
  databaseName: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a database name is lower-case letters, digits and dashes'),
  controlUrl: HttpUrl,
  displayName: z.string().trim().max(64),
  nostrFallback: z.boolean(),
  relays: z.array(RelayUrl).max(16),
  /** Reserved for the collaborative editor; stored now so the settings page has its place. */
  editorEnabled: z.boolean(),
});
export type Settings = z.infer<typeof Settings>;
export const SettingsPatch = Settings.partial();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const AppState = z.object({
  mode: z.enum(['electron', 'web']),
  connection: ConnectionState,
  identity: IdentityState,
  self: SelfState,
  settings: Settings,
  presence: z.array(Peer),
  channels: z.array(Channel),
  /** Messages per channel id, in seq order (outbox entries last). */
  messages: z.record(z.string(), z.array(Message)),
  ads: z.array(CapabilityAd),
  compute: z.array(ComputeRequest),
  /** Workspaces this node is a member of. */
  workspaces: z.array(Workspace),
});
export type AppState = z.infer<typeof AppState>;
export type StateSlice = keyof AppState;

/** A push from the core: one slice of AppState changed. */
export const StatePush = z.discriminatedUnion('slice', [
  z.object({ slice: z.literal('connection'), value: ConnectionState }),
  z.object({ slice: z.literal('identity'), value: IdentityState }),
  z.object({ slice: z.literal('self'), value: SelfState }),
  z.object({ slice: z.literal('settings'), value: Settings }),
  z.object({ slice: z.literal('presence'), value: z.array(Peer) }),
  z.object({ slice: z.literal('channels'), value: z.array(Channel) }),
  z.object({ slice: z.literal('messages'), value: z.record(z.string(), z.array(Message)) }),
  z.object({ slice: z.literal('ads'), value: z.array(CapabilityAd) }),
  z.object({ slice: z.literal('compute'), value: z.array(ComputeRequest) }),
  z.object({ slice: z.literal('workspaces'), value: z.array(Workspace) }),
  z.object({ slice: z.literal('mode'), value: AppState.shape.mode }),
]);
export type StatePush = z.infer<typeof StatePush>;

// ---- calls ----

const Mnemonic = z.string().trim().min(1).max(1024);
const Label = z.string().trim().min(1, 'give the account a name').max(64);

const Ok = z.object({});

/**
 * Every call the renderer may make: its params and its answer (inside the Result envelope).
 * Adding a call here is the whole of adding it to the contract.
 */
export const Calls = {
  'app.getState': { params: z.object({}), result: AppState },
  'identity.createDraft': {
    params: z.object({}),
    result: z.object({ draftId: z.string(), words: z.array(z.string()), confirmPositions: z.array(z.number().int()) }),
  },
  'identity.confirmDraft': {
    params: z.object({
      draftId: z.string().max(64),
      label: Label,
      confirmations: z.array(z.object({ position: z.number().int().min(1).max(24), word: z.string().max(32) })).max(24),
    }),
    result: AccountSummary,
  },
  'identity.import': {
    params: z.object({ mnemonic: Mnemonic, label: Label, account: z.number().int().min(0).max(0x7fffffff).default(0) }),
    result: AccountSummary,
  },
  'identity.switch': { params: z.object({ accountId: z.string().max(128) }), result: Ok },
  'identity.remove': { params: z.object({ accountId: z.string().max(128) }), result: Ok },
  'identity.revealBackup': { params: z.object({ accountId: z.string().max(128) }), result: z.object({ words: z.array(z.string()) }) },
  'identity.signOut': { params: z.object({}), result: Ok },
  'settings.update': { params: SettingsPatch, result: Settings },
  'channels.open': {
    params: z.object({
      name: z.string().trim().min(1).max(128),
      peers: z.array(NodeId).min(1).max(64),
      isPrivate: z.boolean(),
      workspaceId: IdString.default('0'),
    }),
    result: z.object({ requestKey: z.string() }),
  },
  'workspaces.create': {
    params: z.object({
      slug: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'a slug is 2-63 lower-case letters, digits and dashes'),
      name: z.string().trim().min(1).max(128),
    }),
    result: Ok,
  },
  'workspaces.invite': {
    params: z.object({ workspaceId: IdString, member: NodeId, role: z.enum(['editor', 'viewer']).default('editor') }),
    result: Ok,
  },
  'messages.send': {
    params: z.object({ channelId: IdString, text: z.string().min(1).max(MAX_MESSAGE_CHARS) }),
    result: z.object({ idempotencyKey: z.string() }),
  },
  'messages.markRead': { params: z.object({ channelId: IdString, seq: z.number().int().nonnegative() }), result: Ok },
  'ads.save': {
    params: z.object({
      tools: z.array(ShortText).max(32),
      models: z.array(ShortText).max(32),
      computeClasses: z.array(z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,31}$/, 'compute classes are short lower-case tokens')).min(1).max(16),
      maxConcurrency: z.number().int().min(1).max(1024),
      priceMsatsPerJob: z.number().int().min(0).max(1e12),
      region: z.string().max(64),
    }),
    result: Ok,
  },
  'ads.withdraw': { params: z.object({}), result: Ok },
  'compute.request': {
    params: z.object({
      provider: NodeId,
      policyClass: z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,31}$/),
      /** The envelope's kind; the resident peer runs text.process and world-client's built-in jobs. */
      jobKind: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a job kind is a short lower-case token').default('text.process'),
      job: z.string().trim().min(1).max(8 * 1024),
      maxPriceMsats: z.number().int().min(0).max(1e12),
    }),
    result: z.object({ requestKey: z.string() }),
  },
  'compute.accept': { params: z.object({ requestId: IdString }), result: Ok },
  'compute.reject': { params: z.object({ requestId: IdString, reason: z.string().max(256) }), result: Ok },
  'compute.complete': {
    params: z.object({ requestId: IdString, success: z.boolean(), result: z.string().max(900), reason: z.string().max(256) }),
    result: Ok,
  },
  'compute.cancel': { params: z.object({ requestId: IdString }), result: Ok },
} as const;

export type CallName = keyof typeof Calls;
export type CallParams<N extends CallName> = z.input<(typeof Calls)[N]['params']>;
export type CallParsedParams<N extends CallName> = z.output<(typeof Calls)[N]['params']>;
export type CallResult<N extends CallName> = z.infer<(typeof Calls)[N]['result']>;

export const ErrorCode = z.enum([
  'invalid_params',
  'unknown_call',
  'forbidden',
  'not_signed_in',
  'not_connected',
  'not_found',
  'backup_mismatch',
  'invalid_mnemonic',
  'rejected',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export const ResultEnvelope = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), code: ErrorCode, message: z.string() }),
]);

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(Calls, name);
}

/** Checks a request at the core's door; the failure names the call and the first problems. */
export function parseCall(name: unknown, params: unknown): { ok: true; name: CallName; params: unknown } | { ok: false; code: ErrorCode; message: string } {
  if (!isCallName(name)) return { ok: false, code: 'unknown_call', message: `unknown call ${JSON.stringify(String(name)).slice(0, 80)}` };
  const parsed = Calls[name].params.safeParse(params ?? {});
  if (!parsed.success) return { ok: false, code: 'invalid_params', message: `${name}: ${describeIssues(parsed.error)}` };
  return { ok: true, name, params: parsed.data };
}

/** Checks an answer on the renderer's side before the store sees it. */
export function parseResult<N extends CallName>(name: N, raw: unknown): Result<CallResult<N>> {
  const envelope = ResultEnvelope.safeParse(raw);
  if (!envelope.success) return { ok: false, code: 'internal', message: `${name}: malformed answer from the core` };
  if (!envelope.data.ok) return envelope.data;
  const value = Calls[name].result.safeParse(envelope.data.value);
  if (!value.success) return { ok: false, code: 'internal', message: `${name}: answer failed validation: ${describeIssues(value.error)}` };
  return { ok: true, value: value.data as CallResult<N> };
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`)
    .join('; ');
}

/** What the renderer sees as `window.autopilot`, in Electron and in web mode alike. */
export interface AutopilotBridge {
  call<N extends CallName>(name: N, params: CallParams<N>): Promise<Result<CallResult<N>>>;
  /** Every validated state push; returns an unsubscribe function. */
  onState(listener: (push: StatePush) => void): () => void;
}

// ---- the web-mode wire (loopback WebSocket) ----

export const WireRequest = z.object({ id: z.number().int().nonnegative(), call: z.string().max(64), params: z.unknown() });
export type WireRequest = z.infer<typeof WireRequest>;
export const WireFromCore = z.union([
  z.object({ type: z.literal('result'), id: z.number().int().nonnegative(), result: z.unknown() }),
  z.object({ type: z.literal('state'), push: z.unknown() }),
]);
export type WireFromCore = z.infer<typeof WireFromCore>;

/** IPC channel names used by the Electron preload. */
export const IPC_CALL = 'autopilot:call';
export const IPC_STATE = 'autopilot:state';
