// Shared pieces of control's tests: a settable clock, real NIP-98 signing with nostr-tools, and a
// started service on an ephemeral port.
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { pino } from 'pino';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { startControl, type ControlHandle, type StartControlOptions } from '../src/index';

/** A settable clock, so tests move time instead of sleeping. */
export class FakeClock {
  constructor(public ms = 1_750_000_000_000) {}
  now = (): number => this.ms;
  seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Timers driven by a FakeClock: `runDue` fires what the clock has reached, nothing fires by itself. */
export class ManualTimers {
  private next = 1;
  private readonly pending = new Map<number, { dueMs: number; callback: () => void }>();

  constructor(private readonly clock: FakeClock) {}

  setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.next++;
    this.pending.set(handle, { dueMs: this.clock.ms + ms, callback });
    return handle;
  };

  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** Milliseconds until the earliest timer, or undefined when none is armed. */
  nextDelayMs(): number | undefined {
    const due = [...this.pending.values()].map((timer) => timer.dueMs - this.clock.ms);
    return due.length === 0 ? undefined : Math.min(...due);
  }

  runDue(): void {
    for (const [handle, timer] of [...this.pending]) {
      if (timer.dueMs > this.clock.ms) continue;
      this.pending.delete(handle);
      timer.callback();
    }
  }
}

export interface NostrUser {
  secretKey: Uint8Array;
  pubkey: string;
}

export function newUser(): NostrUser {
  const secretKey = generateSecretKey();
  return { secretKey, pubkey: getPublicKey(secretKey) };
}

export interface Nip98Options {
  url: string;
  method?: string;
  /** Raw body the payload tag is computed from; omit for no payload tag. */
  payloadOf?: string;
  /** The same as raw bytes (for bodies that are not valid UTF-8). */
  payloadBytes?: Uint8Array;
  createdAt: number;
}

/** A real NIP-98 Authorization header, signed with nostr-tools as a client would. */
export function nip98Header(user: NostrUser, options: Nip98Options): string {
  const tags = [
    ['u', options.url],
    ['method', options.method ?? 'POST'],
  ];
  const payload = options.payloadBytes ?? (options.payloadOf === undefined ? undefined : new TextEncoder().encode(options.payloadOf));
  if (payload !== undefined) tags.push(['payload', bytesToHex(sha256(payload))]);
  const event = finalizeEvent({ kind: 27235, created_at: options.createdAt, tags, content: '' }, user.secretKey);
  return `Nostr ${Buffer.from(JSON.stringify(event)).toString('base64')}`;
}

/** Bodies sent to control are JSON and must say so. */
export const JSON_TYPE = { 'Content-Type': 'application/json' } as const;

export const silentLogger = pino({ level: 'silent' });

export interface TestService {
  control: ControlHandle;
  clock: FakeClock;
  tokenUrl: string;
}

export async function startTestService(options: Omit<StartControlOptions, 'now'> & { clock?: FakeClock } = {}): Promise<TestService> {
  const clock = options.clock ?? new FakeClock();
  const control = await startControl({ port: 0, logger: silentLogger, ...options, now: clock.now });
  return { control, clock, tokenUrl: `${control.url}/v1/auth/token` };
}

export interface LoginBody {
  device_id?: unknown;
  scopes?: unknown;
  session_id?: unknown;
}

/** POSTs a correctly signed login for `user`; `tamper` can change the request after signing. */
export async function login(
  service: TestService,
  user: NostrUser,
  body: LoginBody = { device_id: 'laptop-1' },
  tamper: { sentBody?: string; signedUrl?: string; signedMethod?: string; createdAt?: number } = {},
): Promise<Response> {
  const rawBody = JSON.stringify(body);
  const authorization = nip98Header(user, {
    url: tamper.signedUrl ?? service.tokenUrl,
    method: tamper.signedMethod ?? 'POST',
    payloadOf: rawBody,
    createdAt: tamper.createdAt ?? service.clock.seconds(),
  });
  return fetch(service.tokenUrl, {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    body: tamper.sentBody ?? rawBody,
  });
}

export async function errorCodeOf(response: Response): Promise<string> {
  const json = (await response.json()) as { error?: { code?: string } };
  return json.error?.code ?? `(no error code; status ${response.status})`;
}
