// Control's login sessions: started at login, continued by refresh, ended by revocation; persisted
// so a restart neither forgets a revocation nor resurrects a revoked session.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { SerialJsonWriter, readJsonFile } from './persist';

const SESSIONS_FILE = 'sessions.json';

export interface SessionRecord {
  pubkey: string;
  deviceId: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds of the last login or refresh. */
  lastUsedAt: number;
  /** Unix seconds, or null while the session is live. */
  revokedAt: number | null;
}

const sessionRecordSchema = z.object({
  pubkey: z.string(),
  deviceId: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number(),
  revokedAt: z.number().nullable(),
});
const sessionsFileSchema = z.object({ version: z.literal(1), sessions: z.record(z.string(), sessionRecordSchema) });

export type SessionLookup =
  | { ok: true; sessionId: string }
  | { ok: false; code: 'session_unknown' | 'session_revoked'; message: string };

export interface SessionStoreOptions {
  dataDir?: string;
  /** Sessions unused for this long are forgotten. */
  idleSeconds: number;
  nowSeconds: () => number;
}

/** Login sessions and their revocations, persisted to dataDir when one is given. */
export class SessionStore {
  private constructor(
    private readonly sessions: Map<string, SessionRecord>,
    private readonly options: SessionStoreOptions,
    private readonly writer: SerialJsonWriter | undefined,
  ) {}

  static async open(options: SessionStoreOptions): Promise<SessionStore> {
    const path = options.dataDir === undefined ? undefined : join(options.dataDir, SESSIONS_FILE);
    const stored = path === undefined ? undefined : await readJsonFile(path);
    const sessions = new Map<string, SessionRecord>();
    if (stored !== undefined) {
      const parsed = sessionsFileSchema.safeParse(stored);
      if (!parsed.success) {
        throw new Error(`${path} is not a valid sessions file: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      for (const [id, record] of Object.entries(parsed.data.sessions)) sessions.set(id, record);
    }
    return new SessionStore(sessions, options, path === undefined ? undefined : new SerialJsonWriter(path));
  }

  /** Starts a new session and returns its id. */
  async start(pubkey: string, deviceId: string): Promise<string> {
    const now = this.options.nowSeconds();
    const sessionId = randomUUID();
    this.sessions.set(sessionId, { pubkey, deviceId, createdAt: now, lastUsedAt: now, revokedAt: null });
    await this.persist();
    return sessionId;
  }

  /**
   * Continues a session for the same pubkey and device. A session of someone else answers
   * `session_unknown`, so ids of other users' sessions reveal nothing.
   */
  async refresh(sessionId: string, pubkey: string, deviceId: string): Promise<SessionLookup> {
    this.forgetIdle();
    const record = this.sessions.get(sessionId);
    if (!record || record.pubkey !== pubkey || record.deviceId !== deviceId) {
      return { ok: false, code: 'session_unknown', message: 'no such session for this pubkey and device; log in without session_id' };
    }
    if (record.revokedAt !== null) {
      return { ok: false, code: 'session_revoked', message: 'this session was revoked; log in without session_id to start a new one' };
    }
    record.lastUsedAt = this.options.nowSeconds();
    await this.persist();
    return { ok: true, sessionId };
  }

  /** Marks a session revoked; true when it was live until now (revoking twice is harmless). */
  async revoke(sessionId: string): Promise<boolean> {
    const record = this.sessions.get(sessionId);
    if (!record || record.revokedAt !== null) return false;
    record.revokedAt = this.options.nowSeconds();
    await this.persist();
    return true;
  }

  /** Revokes every live session of the pubkey (on one device when given); returns their ids, sorted. */
  async revokeMatching(pubkey: string, deviceId?: string): Promise<string[]> {
    const now = this.options.nowSeconds();
    const revoked: string[] = [];
    for (const [id, record] of this.sessions) {
      if (record.pubkey !== pubkey || record.revokedAt !== null) continue;
      if (deviceId !== undefined && record.deviceId !== deviceId) continue;
      record.revokedAt = now;
      revoked.push(id);
    }
    if (revoked.length > 0) await this.persist();
    return revoked.sort();
  }

  isRevoked(sessionId: string): boolean {
    return this.sessions.get(sessionId)?.revokedAt != null;
  }

  async settled(): Promise<void> {
    await this.writer?.settled();
  }

  private forgetIdle(): void {
    const oldestKept = this.options.nowSeconds() - this.options.idleSeconds;
    for (const [id, record] of this.sessions) {
      if (Math.max(record.lastUsedAt, record.revokedAt ?? 0) < oldestKept) this.sessions.delete(id);
    }
  }

  private async persist(): Promise<void> {
    this.forgetIdle();
    if (!this.writer) return;
    await this.writer.write({ version: 1, sessions: Object.fromEntries(this.sessions) });
  }
}
