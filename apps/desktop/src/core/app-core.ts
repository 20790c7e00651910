// The main-process core: settings, accounts, the world session, and the bridge's call handlers and
// state pushes. It imports no Electron: the Electron adapter and the web-mode server both wrap it.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountInfo } from '@autopilot/nip06';
import { pino, type Logger } from 'pino';
import {
  parseCall,
  type AppState,
  type CallName,
  type CallParsedParams,
  type AccountSummary,
  type CallResult,
  type Result,
  type Settings,
  type StatePush,
  type StateSlice,
} from '../shared/contract';
import { AccountManager } from './accounts';
import { readFileIfExists, writeFileAtomic } from './files';
import type { SecretBox } from './secrets';
import { SettingsStore } from './settings';
import { deriveViews } from './views';
import { WorldSession, type ActionFailure, type NostrPreferences } from './world/session';

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
      return { ok: true, value: accountSummary(saved.value) };
    },
    'identity.import': async (p) => {
      const saved = await this.#accounts.importMnemonic(p.mnemonic, p.label, p.account);
      if (!saved.ok) return saved;
      await this.#afterAccountChange();
      return { ok: true, value: accountSummary(saved.value) };
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
      const key = `c:${randomUUID()}`;
      return this.#act((s) => s.openChannel({ name: p.name, peers: p.peers, isPrivate: p.isPrivate, workspaceId: p.workspaceId, key }), () => ({ requestKey: key }));
    },
    'messages.send': async (p) =>
      this.#act(
        async (s) => {
          const known = this.#state.channels.some((c) => c.id === p.channelId);
          // Offline the channel list may be stale, so the outbox takes the message and the world decides.
          if (!known && s.info().status === 'connected') return { ok: false, code: 'not_found', message: `no channel ${p.channelId} of yours` };
          return s.sendMessage(p.channelId, p.text);
        },
        (sent) => ({ idempotencyKey: sent.key }),
      ),
    'messages.markRead': async (p) =>
      this.#act(async (s) => {
        const channel = this.#state.channels.find((c) => c.id === p.channelId);
        if (!channel) return { ok: false, code: 'not_found', message: `no channel ${p.channelId} of yours` };
        const seq = Math.min(p.seq, channel.lastSeq);
        return seq <= channel.readSeq ? { ok: true } : s.markRead(p.channelId, seq);
      }),
    'ads.save': async (p) =>
      this.#act((s) =>
        s.advertise({
          tools: p.tools.filter((t) => t.trim() !== ''),
          models: p.models.filter((m) => m.trim() !== ''),
          computeClasses: p.computeClasses,
          maxConcurrency: p.maxConcurrency,
          priceHints: { msats_per_job: p.priceMsatsPerJob },
          region: p.region,
        }),
      ),
    'ads.withdraw': async () => this.#act((s) => s.withdraw()),
    'compute.request': async (p) => {
      const key = `r:${randomUUID()}`;
      const job = { kind: p.jobKind, input: { text: p.job } };
      return this.#act(
        (s) => s.requestCompute({ key, provider: p.provider, policyClass: p.policyClass, job, maxPriceMsats: String(p.maxPriceMsats) }),
        () => ({ requestKey: key }),
      );
    },
    'workspaces.create': async (p) => this.#act((s) => s.createWorkspace(p.slug, p.name)),
    'workspaces.invite': async (p) => this.#act((s) => s.inviteMember(p.workspaceId, p.member, p.role)),
    'compute.accept': async (p) => this.#act((s) => s.acceptCompute(p.requestId)),
    'compute.reject': async (p) => this.#act((s) => s.rejectCompute(p.requestId, p.reason)),
    'compute.complete': async (p) => this.#act((s) => s.completeCompute(p.requestId, p.success, p.result, p.reason)),
    'compute.cancel': async (p) => this.#act((s) => s.cancelCompute(p.requestId)),
  };

  /**
   * The one path of every world action: refuse when signed out, run it on the session, and carry a
   * failure's code and message over unchanged. `answer` shapes the success value (default `{}`).
   */
  async #act<R extends { ok: true }, T = Record<string, never>>(
    run: (session: WorldSession) => Promise<R | ActionFailure>,
    answer: (done: R) => T = () => ({}) as T,
  ): Promise<Result<T>> {
    const session = this.#session;
    if (!session) return { ok: false, code: 'not_signed_in', message: 'sign in (create or import an identity) first' };
    const done = await run(session);
    return done.ok ? { ok: true, value: answer(done) } : { ok: false, code: done.code, message: done.message };
  }

  /** Where the world is: the embedded world's endpoints while settings say so, else the settings' own. */
  #endpoints(): EmbeddedEndpoints {
    const settings = this.#settings.get();
    const { worldUrl, databaseName, controlUrl } = settings.useEmbedded && this.options.embedded ? this.options.embedded : settings;
    return { worldUrl, databaseName, controlUrl };
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
      const endpoints = this.#endpoints();
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
      self: { nodeId: null, npub: '', pubkey: '', displayName: '' },
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
      accounts: this.#accounts.list().map(accountSummary),
      activeId: this.#accounts.activeId(),
      secretStore: this.#accounts.secretStore,
    };
  }

  #refreshSelf(): void {
    const activeId = this.#accounts.activeId();
    const account = this.#accounts.list().find((a) => a.id === activeId);
    const snapshot = this.#session?.snapshot();
    this.#set('self', {
      nodeId: snapshot?.presence.self ?? null,
      npub: account?.npub ?? '',
      pubkey: account?.id ?? '',
      displayName: account ? this.#displayName() : '',
    });
  }

  /** Recomputes the world-fed slices from the session and pushes those that changed. */
  #publishWorld(): void {
    const session = this.#session;
    const endpoints = this.#endpoints();
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

/** An account as the bridge shows it (the profile file keeps its own field names). */
function accountSummary(info: AccountInfo): AccountSummary {
  return { id: info.id, label: info.label, npub: info.npub, createdAtMs: info.createdAt };
}

async function loadDeviceId(profileDir: string): Promise<string> {
  const path = join(profileDir, 'device-id');
  const existing = await readFileIfExists(path);
  if (existing) return existing.toString('utf8').trim();
  const id = `desktop-${randomBytes(6).toString('hex')}`;
  await writeFileAtomic(path, id);
  return id;
}
