// The main-process core: settings, accounts, the world session, and the bridge's call handlers and
// state pushes. It imports no Electron: the Electron adapter and the web-mode server both wrap it.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hexToNpub } from '@autopilot/nip06';
import { readInlineResult } from '@autopilot/world-client';
import { pino, type Logger } from 'pino';
import {
  parseCall,
  type AppState,
  type CallName,
  type CallParsedParams,
  type CallResult,
  type Channel,
  type ComputeRequest,
  type Message,
  type Peer,
  type Result,
  type Settings,
  type StatePush,
  type StateSlice,
} from '../shared/contract';
import { AccountManager } from './accounts';
import { readFileIfExists, writeFileAtomic } from './files';
import type { SecretBox } from './secrets';
import { SettingsStore } from './settings';
import { WorldSession, type NostrPreferences, type WorldSnapshot } from './world/session';

export const APP_VERSION = '0.1.0';

export interface EmbeddedEndpoints {
  worldUrl: string;
  databaseName: string;
  controlUrl: string;
}

export interface AppCoreOptions {
  profileDir: string;
  secretBox: SecretBox;
  mode: 'electron' | 'web';
  /** Where the embedded world runs, when the launcher started one (used while settings say so). */
  embedded?: EmbeddedEndpoints;
  logger?: Logger;
}

type Handlers = { [N in CallName]: (params: CallParsedParams<N>) => Promise<Result<CallResult<N>>> };

export class AppCore {
  readonly options: AppCoreOptions;
  readonly logger: Logger;
  #settings!: SettingsStore;
  #accounts!: AccountManager;
  #deviceId = '';
  #session: WorldSession | undefined;
  #listeners = new Set<(push: StatePush) => void>();
  #state!: AppState;
  #sessionChain: Promise<void> = Promise.resolve();

  private constructor(options: AppCoreOptions) {
    this.options = options;
    this.logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  }

  static async open(options: AppCoreOptions): Promise<AppCore> {
    const core = new AppCore(options);
    await mkdir(options.profileDir, { recursive: true, mode: 0o700 });
    const embeddedDefaults: Partial<Settings> = options.embedded
      ? { worldUrl: options.embedded.worldUrl, databaseName: options.embedded.databaseName, controlUrl: options.embedded.controlUrl }
      : { useEmbedded: false };
    core.#settings = await SettingsStore.open(options.profileDir, embeddedDefaults);
    core.#accounts = await AccountManager.open(options.profileDir, options.secretBox);
    core.#deviceId = await loadDeviceId(options.profileDir);
    core.#state = core.#initialState();
    await core.#restartSession();
    return core;
  }

  /** The whole state, as `app.getState` answers it. */
  state(): AppState {
    return this.#state;
  }

  /** Pushes of changed slices; returns an unsubscribe function. */
  subscribe(listener: (push: StatePush) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The transport preferences the world-client's policy gets (fallback toggle and relays). */
  nostrPreferences(): NostrPreferences {
    const settings = this.#settings.get();
    return { fallbackEnabled: settings.nostrFallback, relays: settings.relays };
  }

  /** Validates and runs one bridge call. Never throws: failures come back as results. */
  async call(name: unknown, params: unknown): Promise<Result<unknown>> {
    const parsed = parseCall(name, params);
    if (!parsed.ok) return parsed;
    const handler = this.#handlers[parsed.name] as (p: unknown) => Promise<Result<unknown>>;
    try {
      return await handler(parsed.params);
    } catch (error) {
      this.logger.error({ call: parsed.name, err: (error as Error).message }, 'bridge call failed');
      return { ok: false, code: 'internal', message: `${parsed.name} failed: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    await this.#sessionChain;
    await this.#session?.stop();
    this.#session = undefined;
  }

  // ---- handlers ----

  #handlers: Handlers = {
    'app.getState': async () => ({ ok: true, value: this.#state }),
    'identity.createDraft': async () => ({ ok: true, value: this.#accounts.createDraft() }),
    'identity.confirmDraft': async (p) => {
      const saved = await this.#accounts.confirmDraft(p.draftId, p.label, p.confirmations);
      if (!saved.ok) return saved;
      await this.#afterAccountChange();
      return { ok: true, value: saved.value };
    },
    'identity.import': async (p) => {
      const saved = await this.#accounts.importMnemonic(p.mnemonic, p.label, p.account);
      if (!saved.ok) return saved;
      await this.#afterAccountChange();
      return { ok: true, value: saved.value };
    },
    'identity.switch': async (p) => {
      const switched = await this.#accounts.switchTo(p.accountId);
      if (!switched.ok) return switched;
      await this.#afterAccountChange();
      return { ok: true, value: {} };
    },
    'identity.remove': async (p) => {
      const removed = await this.#accounts.remove(p.accountId);
      if (!removed.ok) return removed;
      await this.#afterAccountChange();
      return { ok: true, value: {} };
    },
    'identity.revealBackup': async (p) => {
      const words = await this.#accounts.backupWords(p.accountId);
      return words.ok ? { ok: true, value: { words: words.value } } : words;
    },
    'identity.signOut': async () => {
      await this.#accounts.signOut();
      await this.#afterAccountChange();
      return { ok: true, value: {} };
    },
    'settings.update': async (p) => {
      const before = this.#settings.get();
      const updated = await this.#settings.update(p);
      if (!updated.ok) return { ok: false, code: 'invalid_params', message: `settings.update: ${updated.message}` };
      this.#set('settings', updated.settings);
      const after = updated.settings;
      const endpointsChanged =
        before.useEmbedded !== after.useEmbedded ||
        before.worldUrl !== after.worldUrl ||
        before.databaseName !== after.databaseName ||
        before.controlUrl !== after.controlUrl;
      // world-client joins with the name it was built with, so a new name takes a new session.
      if (endpointsChanged || before.displayName !== after.displayName) await this.#restartSession();
      return { ok: true, value: after };
    },
    'channels.open': async (p) => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const key = `c:${randomUUID()}`;
      const done = await session.value.openChannel({ name: p.name, peers: p.peers, isPrivate: p.isPrivate, workspaceId: p.workspaceId, key });
      return done.ok ? { ok: true, value: { requestKey: key } } : this.#fail(done);
    },
    'messages.send': async (p) => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const channel = this.#state.channels.find((c) => c.id === p.channelId);
      if (!channel && this.#session?.info().status === 'connected') return { ok: false, code: 'not_found', message: `no channel ${p.channelId} of yours` };
      const sent = await session.value.sendMessage(p.channelId, p.text);
      return sent.ok ? { ok: true, value: { idempotencyKey: sent.key } } : this.#fail(sent);
    },
    'messages.markRead': async (p) => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const channel = this.#state.channels.find((c) => c.id === p.channelId);
      if (!channel) return { ok: false, code: 'not_found', message: `no channel ${p.channelId} of yours` };
      const seq = Math.min(p.seq, channel.lastSeq);
      if (seq <= channel.readSeq) return { ok: true, value: {} };
      const done = await session.value.markRead(p.channelId, seq);
      return done.ok ? { ok: true, value: {} } : this.#fail(done);
    },
    'ads.save': async (p) => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const done = await session.value.advertise({
        tools: p.tools.filter((t) => t.trim() !== ''),
        models: p.models.filter((m) => m.trim() !== ''),
        computeClasses: p.computeClasses,
        maxConcurrency: p.maxConcurrency,
        priceHints: { msats_per_job: p.priceMsatsPerJob },
        region: p.region,
      });
      return done.ok ? { ok: true, value: {} } : this.#fail(done);
    },
    'ads.withdraw': async () => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const done = await session.value.withdraw();
      return done.ok ? { ok: true, value: {} } : this.#fail(done);
    },
    'compute.request': async (p) => {
      const session = this.#requireSession();
      if (!session.ok) return session;
      const key = `r:${randomUUID()}`;
      const done = await session.value.requestCompute({
        key,
        provider: p.provider,
        policyClass: p.policyClass,
        job: { kind: p.jobKind, input: { text: p.job } },
        maxPriceMsats: String(p.maxPriceMsats),
      });
      return done.ok ? { ok: true, value: { requestKey: key } } : this.#fail(done);
    },
    'workspaces.create': async (p) => this.#simple((s) => s.createWorkspace(p.slug, p.name)),
    'workspaces.invite': async (p) => this.#simple((s) => s.inviteMember(p.workspaceId, p.member, p.role)),
    'compute.accept': async (p) => this.#simple((s) => s.acceptCompute(p.requestId)),
    'compute.reject': async (p) => this.#simple((s) => s.rejectCompute(p.requestId, p.reason)),
    'compute.complete': async (p) => this.#simple((s) => s.completeCompute(p.requestId, p.success, p.result, p.reason)),
    'compute.cancel': async (p) => this.#simple((s) => s.cancelCompute(p.requestId)),
  };

  async #simple(run: (session: WorldSession) => Promise<{ ok: true } | { ok: false; code: 'not_connected' | 'rejected' | 'not_found'; message: string }>): Promise<Result<Record<string, never>>> {
    const session = this.#requireSession();
    if (!session.ok) return session;
    const done = await run(session.value);
    return done.ok ? { ok: true, value: {} } : this.#fail(done);
  }

  #fail(failure: { code: 'not_connected' | 'rejected' | 'not_found'; message: string }): Result<never> {
    return { ok: false, code: failure.code, message: failure.message };
  }

  #requireSession(): Result<WorldSession> {
    if (!this.#session) return { ok: false, code: 'not_signed_in', message: 'sign in (create or import an identity) first' };
    return { ok: true, value: this.#session };
  }

  // ---- session ----

  async #afterAccountChange(): Promise<void> {
    this.#set('identity', this.#identityState());
    await this.#restartSession();
  }

  #restartSession(): Promise<void> {
    this.#sessionChain = this.#sessionChain.then(async () => {
      await this.#session?.stop();
      this.#session = undefined;
      const identity = await this.#accounts.activeIdentity();
      if (!identity) {
        this.#publishWorld();
        return;
      }
      const settings = this.#settings.get();
      const endpoints = settings.useEmbedded && this.options.embedded ? this.options.embedded : settings;
      const session = new WorldSession({
        worldUrl: endpoints.worldUrl,
        databaseName: endpoints.databaseName,
        controlUrl: endpoints.controlUrl,
        identity: { privateKeyHex: identity.privateKeyHex, publicKeyHex: identity.publicKeyHex },
        deviceId: this.#deviceId,
        displayName: this.#displayName(),
        version: APP_VERSION,
        dataDir: this.options.profileDir,
        nostrPreferences: () => this.nostrPreferences(),
        logger: this.logger,
        onChange: () => {
          if (this.#session === session) this.#publishWorld();
        },
      });
      this.#session = session;
      await session.start();
      this.#publishWorld();
    });
    return this.#sessionChain;
  }

  #displayName(): string {
    const settings = this.#settings.get();
    if (settings.displayName !== '') return settings.displayName;
    const active = this.#accounts.list().find((a) => a.id === this.#accounts.activeId());
    return active?.label ?? '';
  }

  // ---- state ----

  #initialState(): AppState {
    const settings = this.#settings.get();
    return {
      mode: this.options.mode,
      connection: {
        status: 'signed_out',
        reason: null,
        since: Date.now(),
        attempt: 0,
        worldUrl: settings.worldUrl,
        databaseName: settings.databaseName,
      },
      identity: this.#identityState(),
      self: { nodeId: null, npub: '', pubkeyHex: '', displayName: '' },
      settings,
      presence: [],
      channels: [],
      messages: {},
      ads: [],
      compute: [],
      workspaces: [],
    };
  }

  #identityState(): AppState['identity'] {
    return {
      accounts: this.#accounts.list().map((a) => ({ id: a.id, label: a.label, npub: a.npub, createdAt: a.createdAt })),
      activeId: this.#accounts.activeId(),
      secretStore: this.#accounts.secretStore,
    };
  }

  #refreshSelf(): void {
    const activeId = this.#accounts.activeId();
    const account = this.#accounts.list().find((a) => a.id === activeId);
    const snapshot = this.#session?.snapshot();
    this.#set('self', {
      nodeId: snapshot?.selfId ?? null,
      npub: account?.npub ?? '',
      pubkeyHex: account?.id ?? '',
      displayName: account ? this.#displayName() : '',
    });
  }

  /** Recomputes the world-fed slices from the session and pushes those that changed. */
  #publishWorld(): void {
    const session = this.#session;
    const settings = this.#settings.get();
    const endpoints = settings.useEmbedded && this.options.embedded ? this.options.embedded : settings;
    const info = session?.info();
    this.#set('connection', {
      status: info ? info.status : 'signed_out',
      reason: info?.reason ?? null,
      since: info?.since ?? Date.now(),
      attempt: info?.attempt ?? 0,
      worldUrl: endpoints.worldUrl,
      databaseName: endpoints.databaseName,
    });
    this.#refreshSelf();
    const snapshot = session?.snapshot();
    if (!snapshot) {
      for (const slice of ['presence', 'channels', 'ads', 'compute', 'workspaces'] as const) this.#set(slice, []);
      this.#set('messages', {});
      return;
    }
    const views = deriveViews(snapshot);
    this.#set('presence', views.presence);
    this.#set('channels', views.channels);
    this.#set('messages', views.messages);
    this.#set('ads', views.ads);
    this.#set('compute', views.compute);
    this.#set('workspaces', views.workspaces);
  }

  #set<S extends StateSlice>(slice: S, value: AppState[S]): void {
    if (JSON.stringify(this.#state[slice]) === JSON.stringify(value)) return;
    this.#state = { ...this.#state, [slice]: value };
    const push = { slice, value } as StatePush;
    for (const listener of this.#listeners) {
      try {
        listener(push);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'state listener failed');
      }
    }
  }
}

/** Maps the world snapshot onto the contract's slices (names resolved, unread counted). */
export function deriveViews(snapshot: WorldSnapshot): Pick<AppState, 'presence' | 'channels' | 'messages' | 'ads' | 'compute' | 'workspaces'> {
  const selfId = snapshot.selfId;
  const names = new Map(snapshot.nodes.map((n) => [n.nodeId, n.displayName || shortNpub(n.pubkeyHex)]));
  const nameOf = (id: string | null) => (id === null ? '' : (names.get(id) ?? `${id.slice(0, 8)}…`));

  const presence: Peer[] = snapshot.nodes
    .map((n) => ({
      nodeId: n.nodeId,
      pubkeyHex: n.pubkeyHex,
      npub: safeNpub(n.pubkeyHex),
      displayName: n.displayName,
      status: n.status,
      lastSeenMs: n.lastHeartbeatMs,
      isSelf: n.nodeId === selfId,
    }))
    .sort((a, b) => Number(b.isSelf) - Number(a.isSelf) || statusRank(a.status) - statusRank(b.status) || a.displayName.localeCompare(b.displayName));

  const messages: Record<string, Message[]> = {};
  for (const m of snapshot.messages) {
    (messages[m.channelId] ??= []).push({
      channelId: m.channelId,
      seq: m.seq,
      sender: m.sender,
      senderName: nameOf(m.sender),
      payload: m.payload,
      sentAtMs: m.sentAtMs,
      idempotencyKey: m.idempotencyKey,
      pending: false,
    });
  }
  for (const e of snapshot.outbox) {
    (messages[e.channelId] ??= []).push({
      channelId: e.channelId,
      seq: 0,
      sender: selfId,
      senderName: nameOf(selfId),
      payload: e.payload,
      sentAtMs: e.createdAt,
      idempotencyKey: e.key,
      pending: true,
    });
  }

  const channels: Channel[] = snapshot.channels
    .map((c) => {
      const readSeq = snapshot.readSeq.get(c.id) ?? 0;
      const unread = (messages[c.id] ?? []).filter((m) => !m.pending && m.seq > readSeq && m.sender !== selfId).length;
      return {
        id: c.id,
        name: c.name,
        topic: c.topic,
        kind: c.kind,
        isPrivate: c.isPrivate,
        workspaceId: c.workspaceId,
        status: c.status,
        participants: snapshot.participants.get(c.id) ?? [],
        lastSeq: c.lastSeq,
        readSeq,
        unread,
      };
    })
    .sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));

  const ads = snapshot.ads
    .filter((a) => a.active || a.provider === selfId)
    .map((a) => ({
      adId: a.adId,
      provider: a.provider,
      providerName: nameOf(a.provider),
      tools: a.tools,
      models: a.models,
      computeClasses: a.computeClasses,
      maxConcurrency: a.maxConcurrency,
      priceHints: a.priceHints,
      region: a.region,
      active: a.active,
      isOwn: a.provider === selfId,
    }))
    .sort((a, b) => Number(b.isOwn) - Number(a.isOwn) || a.providerName.localeCompare(b.providerName));

  const assignmentById = new Map(snapshot.assignments.map((a) => [a.assignmentId, a]));
  const latestAssignment = (requestId: string) => {
    let found: (typeof snapshot.assignments)[number] | undefined;
    for (const a of snapshot.assignments) if (a.requestId === requestId && (!found || BigInt(a.assignmentId) > BigInt(found.assignmentId))) found = a;
    return found;
  };
  const compute: ComputeRequest[] = [];
  const seen = new Set<string>();
  for (const [role, list] of [
    ['requester', snapshot.myRequests],
    ['provider', snapshot.inbox],
  ] as const) {
    for (const r of list) {
      if (seen.has(r.requestId)) continue;
      seen.add(r.requestId);
      const assignment = assignmentById.get(r.assignmentId) ?? latestAssignment(r.requestId);
      const provider = r.targetProvider ?? assignment?.provider ?? null;
      compute.push({
        requestId: r.requestId,
        requester: r.requester,
        requesterName: nameOf(r.requester),
        targetProvider: r.targetProvider,
        providerName: nameOf(provider),
        policyClass: r.policyClass,
        job: jobPrompt(r.jobEnvelope),
        status: r.status,
        role,
        assignmentStatus: assignment?.status ?? null,
        reason: assignment?.reason ?? '',
        result: assignment ? resultText(assignment.resultRef, assignment.resultHash) : null,
        resultHash: assignment?.resultHash ?? '',
        createdAtMs: r.createdAtMs,
        updatedAtMs: r.updatedAtMs,
      });
    }
  }
  // Requests this node served that have left its inbox (completed): keep showing them.
  for (const a of snapshot.assignments) {
    if (a.provider !== selfId || seen.has(a.requestId)) continue;
    if (a.status !== 'completed' && a.status !== 'failed') continue;
    seen.add(a.requestId);
    compute.push({
      requestId: a.requestId,
      requester: selfId ?? '0'.repeat(64),
      requesterName: '',
      targetProvider: selfId,
      providerName: nameOf(selfId),
      policyClass: '',
      job: '',
      status: a.status,
      role: 'provider',
      assignmentStatus: a.status,
      reason: a.reason,
      result: resultText(a.resultRef, a.resultHash),
      resultHash: a.resultHash,
      createdAtMs: 0,
      updatedAtMs: 0,
    });
  }
  compute.sort((a, b) => Number(BigInt(b.requestId) - BigInt(a.requestId)));

  const workspaces = snapshot.workspaces
    .flatMap((w) => {
      const members = snapshot.members.filter((m) => m.workspaceId === w.id);
      const mine = members.find((m) => m.member === selfId);
      return mine ? [{ id: w.id, slug: w.slug, name: w.name, role: mine.role, members: members.map((m) => m.member) }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { presence, channels, messages, ads, compute, workspaces };
}

/** The job as a person reads it: the envelope's input text, else its kind and input as JSON. */
export function jobPrompt(envelope: string): string {
  try {
    const parsed = JSON.parse(envelope) as { kind?: unknown; input?: { text?: unknown } };
    if (typeof parsed.input?.text === 'string') return parsed.input.text;
    return `${String(parsed.kind ?? 'job')}: ${JSON.stringify(parsed.input ?? {})}`;
  } catch {
    return envelope;
  }
}

/** An inline result checked against its hash; its text when it has one, else its JSON. */
export function resultText(resultRef: string, resultHash: string): string | null {
  if (resultRef === '') return null;
  const read = readInlineResult(resultRef, resultHash);
  if (!read.ok) return `(unverified result: ${read.reason})`;
  const value = read.result as { text?: unknown };
  return typeof value?.text === 'string' ? value.text : JSON.stringify(read.result);
}

function statusRank(status: string): number {
  return ({ online: 0, busy: 1, away: 2, offline: 3 } as Record<string, number>)[status] ?? 4;
}

function safeNpub(hex: string): string {
  try {
    return hexToNpub(hex);
  } catch {
    return '';
  }
}

function shortNpub(hex: string): string {
  const npub = safeNpub(hex);
  return npub ? `${npub.slice(0, 12)}…` : hex.slice(0, 8);
}

async function loadDeviceId(profileDir: string): Promise<string> {
  const path = join(profileDir, 'device-id');
  const existing = await readFileIfExists(path);
  if (existing) return existing.toString('utf8').trim();
  const id = `desktop-${randomBytes(6).toString('hex')}`;
  await writeFileAtomic(path, id);
  return id;
}
