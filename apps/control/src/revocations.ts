// Delivery of revocations to worlds: each revocation becomes one notice per configured world, sent
// as a call of the world's `revoke_sessions` reducer over its HTTP API with control's service token,
// retried with exponential backoff until the world accepts it. Pending notices are persisted, so a
// restart of control still delivers them.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { WorldTarget } from './config';
import { SerialJsonWriter, readJsonFile } from './persist';

const REVOCATIONS_FILE = 'revocations.json';
/** A world that neither answers nor fails within this long counts as a failed attempt. */
const ATTEMPT_TIMEOUT_MS = 15_000;
/** The module refuses more session ids per call (its Limits.participants); longer lists are split. */
export const MAX_SESSION_IDS_PER_CALL = 256;

/** The arguments of `revoke_sessions(session_ids, pubkey, device_id, issued_before_micros)`. */
export interface RevocationNotice {
  sessionIds: string[];
  pubkey: string;
  /** '' = every device. */
  deviceId: string;
  /** 0 = no watermark; otherwise tokens of the pubkey (and device) issued before this are refused. */
  issuedBeforeMicros: number;
}

interface PendingDelivery {
  id: string;
  target: WorldTarget;
  notice: RevocationNotice;
  attempts: number;
  /** Milliseconds since the epoch of the next attempt. */
  dueAt: number;
  createdAt: number;
  lastError: string | null;
}

const pendingSchema = z.object({
  id: z.string(),
  target: z.object({ httpUrl: z.string(), database: z.string() }),
  notice: z.object({ sessionIds: z.array(z.string()), pubkey: z.string(), deviceId: z.string(), issuedBeforeMicros: z.number() }),
  attempts: z.number(),
  dueAt: z.number(),
  createdAt: z.number(),
  lastError: z.string().nullable(),
});
const fileSchema = z.object({ version: z.literal(1), pending: z.array(pendingSchema) });

/** Timer functions, injectable so tests move time instead of waiting. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A pending retry must not keep a process alive that is otherwise done.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DeliveryStats {
  /** Notices not yet accepted by their world. */
  pending: number;
  /** Notices a world accepted since this process started. */
  delivered: number;
  /** Attempts that failed (refused, unreachable, timed out) since this process started. */
  failedAttempts: number;
}

export interface RevocationDeliveryOptions {
  dataDir?: string;
  /** Mints control's service token for one attempt. */
  serviceToken: () => Promise<string>;
  nowMs: () => number;
  timers: Timers;
  retry: { initialMs: number; maxMs: number };
  logger: Logger;
  fetch?: typeof fetch;
}

export class RevocationDelivery {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: unknown;
  private closed = false;
  private delivered = 0;
  private failedAttempts = 0;

  private constructor(
    private readonly pending: Map<string, PendingDelivery>,
    private readonly options: RevocationDeliveryOptions,
    private readonly writer: SerialJsonWriter | undefined,
  ) {}

  /** Loads notices left pending by an earlier run and starts delivering them. */
  static async open(options: RevocationDeliveryOptions): Promise<RevocationDelivery> {
    const path = options.dataDir === undefined ? undefined : join(options.dataDir, REVOCATIONS_FILE);
    const stored = path === undefined ? undefined : await readJsonFile(path);
    const pending = new Map<string, PendingDelivery>();
    if (stored !== undefined) {
      const parsed = fileSchema.safeParse(stored);
      if (!parsed.success) {
        throw new Error(`${path} is not a valid revocations file: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      for (const entry of parsed.data.pending) pending.set(entry.id, entry);
    }
    const delivery = new RevocationDelivery(pending, options, path === undefined ? undefined : new SerialJsonWriter(path));
    if (pending.size > 0) options.logger.info({ pending: pending.size }, 'revocation deliveries resumed');
    delivery.pump();
    return delivery;
  }

  /** Queues the notice for every target (persisted before this resolves) and starts sending. */
  async enqueue(notice: RevocationNotice, targets: readonly WorldTarget[]): Promise<void> {
    if (targets.length === 0) return;
    const now = this.options.nowMs();
    const parts: RevocationNotice[] = [];
    for (let i = 0; i === 0 || i < notice.sessionIds.length; i += MAX_SESSION_IDS_PER_CALL) {
      // Each part repeats the watermark (a repeat is a no-op in the world).
      parts.push({ ...notice, sessionIds: notice.sessionIds.slice(i, i + MAX_SESSION_IDS_PER_CALL) });
    }
    for (const target of targets) {
      for (const part of parts) this.queue(part, target, now);
    }
    await this.persist();
    this.pump();
  }

  private queue(notice: RevocationNotice, target: WorldTarget, now: number): void {
    const id = randomUUID();
    this.pending.set(id, { id, target, notice, attempts: 0, dueAt: now, createdAt: now, lastError: null });
    this.options.logger.info(
      { delivery: id, world: describe(target), sessions: notice.sessionIds.length, device_id: notice.deviceId, watermark: notice.issuedBeforeMicros > 0 },
      'revocation queued',
    );
  }

  stats(): DeliveryStats {
    return { pending: this.pending.size, delivered: this.delivered, failedAttempts: this.failedAttempts };
  }

  /** Resolves once no attempt is in flight (attempts started meanwhile are waited for too). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
    await this.writer?.settled();
  }

  /** Stops scheduling; attempts in flight finish, pending notices stay on disk for the next run. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  /** Starts every due attempt and arms the timer for the next one. */
  private pump(): void {
    if (this.closed) return;
    const now = this.options.nowMs();
    for (const entry of this.pending.values()) {
      if (entry.dueAt <= now && !this.inFlight.has(entry.id)) this.start(entry);
    }
    this.rearm();
  }

  private rearm(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    let next: number | undefined;
    for (const entry of this.pending.values()) {
      if (!this.inFlight.has(entry.id) && (next === undefined || entry.dueAt < next)) next = entry.dueAt;
    }
    if (next === undefined) return;
    this.timer = this.options.timers.setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(0, next - this.options.nowMs()),
    );
  }

  private start(entry: PendingDelivery): void {
    const attempt = this.attempt(entry).finally(() => {
      this.inFlight.delete(entry.id);
      this.rearm();
    });
    this.inFlight.set(entry.id, attempt);
  }

  private async attempt(entry: PendingDelivery): Promise<void> {
    const outcome = await this.send(entry);
    const log = { delivery: entry.id, world: describe(entry.target), attempt: entry.attempts + 1 };
    if (outcome.ok) {
      this.pending.delete(entry.id);
      this.delivered += 1;
      this.options.logger.info(log, 'revocation delivered');
    } else {
      entry.attempts += 1;
      entry.lastError = outcome.error;
      const delay = Math.min(this.options.retry.maxMs, this.options.retry.initialMs * 2 ** Math.min(entry.attempts - 1, 40));
      entry.dueAt = this.options.nowMs() + delay;
      this.failedAttempts += 1;
      this.options.logger.warn({ ...log, error: outcome.error, retry_in_ms: delay }, 'revocation delivery failed; will retry');
    }
    await this.persist().catch((error: unknown) => {
      // The notice stays in memory and is retried; only its survival across a restart is at risk.
      this.options.logger.error({ err: { message: (error as Error).message } }, 'cannot persist pending revocations');
    });
  }

  private async send(entry: PendingDelivery): Promise<{ ok: true } | { ok: false; error: string }> {
    const { target, notice } = entry;
    const url = `${target.httpUrl}/v1/database/${encodeURIComponent(target.database)}/call/revoke_sessions`;
    try {
      const token = await this.options.serviceToken();
      const response = await (this.options.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify([notice.sessionIds, notice.pubkey, notice.deviceId, notice.issuedBeforeMicros]),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      if (response.ok) {
        await response.body?.cancel();
        return { ok: true };
      }
      const text = (await response.text().catch(() => '')).slice(0, 300);
      return { ok: false, error: `HTTP ${response.status}: ${text}` };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  private async persist(): Promise<void> {
    if (!this.writer) return;
    await this.writer.write({ version: 1, pending: [...this.pending.values()] });
  }
}

function describe(target: WorldTarget): string {
  return `${target.httpUrl}/${target.database}`;
}
