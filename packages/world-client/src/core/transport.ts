// Which lane carries writes: the SpacetimeDB primary, the Nostr supplemental lane (when the
// control service's policy allows a fallback and the lane is ready), or neither — then the outbox
// holds them. Every switch is recorded with its reason, so lane changes can be audited.
import { systemClock, type Clock } from './clock';
import { Listeners } from './listeners';
import { silentLogger, type Logger } from './logger';
import type { DeliveryOutcome, OutboxEntry } from './outbox';
import { CONSERVATIVE_POLICY, type TransportPolicy } from './token';

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface CommsTransport {
  readonly name: 'spacetime' | 'nostr';
  readiness(): Readiness;
  onReadinessChange(listener: () => void): () => void;
  /** Whether this lane can carry entries of this kind (the Nostr lane carries messages only). */
  carries(kind: string): boolean;
  deliver(entry: OutboxEntry): Promise<DeliveryOutcome>;
}

/** The SpacetimeDB lane: reducer calls over the live link. */
export class SpacetimePrimary implements CommsTransport {
  readonly name = 'spacetime';
  readonly #deliver: (entry: OutboxEntry) => Promise<DeliveryOutcome>;
  readonly #readiness: () => Readiness;
  readonly #listeners = new Listeners<[]>('primary readiness');

  constructor(options: { deliver: (entry: OutboxEntry) => Promise<DeliveryOutcome>; readiness: () => Readiness }) {
    this.#deliver = options.deliver;
    this.#readiness = options.readiness;
  }

  readiness(): Readiness {
    return this.#readiness();
  }

  onReadinessChange(listener: () => void): () => void {
    return this.#listeners.add(listener);
  }

  /** Call when the link came up or went down. */
  readinessChanged(): void {
    this.#listeners.emit();
  }

  carries(): boolean {
    return true;
  }

  deliver(entry: OutboxEntry): Promise<DeliveryOutcome> {
    return this.#deliver(entry);
  }
}

/**
 * The slot for the Nostr lane (NIP-17/44 envelopes, same idempotency keys). Until the Nostr issue
 * fills it, this stand-in is never ready, so the selector holds writes instead of falling back.
 */
export class NostrSupplemental implements CommsTransport {
  readonly name = 'nostr';
  readonly #listeners = new Listeners<[]>('nostr readiness');

  readiness(): Readiness {
    return { ready: false, reason: 'the Nostr lane is not available in this build' };
  }

  onReadinessChange(listener: () => void): () => void {
    return this.#listeners.add(listener);
  }

  carries(kind: string): boolean {
    return kind === 'publish_message';
  }

  async deliver(): Promise<DeliveryOutcome> {
    return { ok: false, retry: true, code: 'held', message: 'the Nostr lane is not available in this build' };
  }
}

export type Lane = 'spacetime' | 'nostr' | 'hold';

export interface TransportSwitch {
  readonly atMs: number;
  readonly from: Lane;
  readonly to: Lane;
  readonly reason: string;
  /** What caused the re-evaluation, e.g. "link down" or "policy from control". */
  readonly trigger: string;
  readonly policy: TransportPolicy;
}

export interface TransportSelectorOptions {
  primary: CommsTransport;
  supplemental?: CommsTransport;
  policy?: TransportPolicy;
  clock?: Clock;
  logger?: Logger;
  /** Switches kept in memory. Default 1000. */
  auditLimit?: number;
}

export class TransportSelector {
  readonly #primary: CommsTransport;
  #supplemental: CommsTransport;
  #policy: TransportPolicy;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #auditLimit: number;
  readonly #audit: TransportSwitch[] = [];
  readonly #switchListeners: Listeners<[TransportSwitch]>;
  #lane: Lane = 'hold';
  #reason = 'not connected yet';
  #unsubscribes: Array<() => void> = [];

  constructor(options: TransportSelectorOptions) {
    this.#primary = options.primary;
    this.#supplemental = options.supplemental ?? new NostrSupplemental();
    this.#policy = options.policy ?? CONSERVATIVE_POLICY;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#auditLimit = options.auditLimit ?? 1000;
    this.#switchListeners = new Listeners('transport switch', this.#logger);
    this.#watch();
    this.evaluate('start');
  }

  get lane(): Lane {
    return this.#lane;
  }

  get reason(): string {
    return this.#reason;
  }

  get policy(): TransportPolicy {
    return this.#policy;
  }

  /** Every switch so far (oldest first, bounded). */
  audit(): TransportSwitch[] {
    return [...this.#audit];
  }

  onSwitch(listener: (change: TransportSwitch) => void): () => void {
    return this.#switchListeners.add(listener);
  }

  setPolicy(policy: TransportPolicy, trigger = 'policy from control'): void {
    this.#policy = policy;
    this.evaluate(trigger);
  }

  /** Where the Nostr issue plugs its lane in. */
  setSupplemental(transport: CommsTransport): void {
    this.#supplemental = transport;
    this.#watch();
    this.evaluate('nostr lane replaced');
  }

  /** Recomputes the lane; records and announces a switch. */
  evaluate(trigger: string): Lane {
    const { lane, reason } = this.#choose();
    if (lane !== this.#lane) {
      const change: TransportSwitch = { atMs: this.#clock.now(), from: this.#lane, to: lane, reason, trigger, policy: this.#policy };
      this.#audit.push(change);
      if (this.#audit.length > this.#auditLimit) this.#audit.splice(0, this.#audit.length - this.#auditLimit);
      this.#lane = lane;
      this.#reason = reason;
      this.#logger.info({ from: change.from, to: lane, reason, trigger }, 'transport lane switched');
      this.#switchListeners.emit(change);
    } else {
      this.#reason = reason;
    }
    return lane;
  }

  /** Sends through the current lane; entries the lane cannot carry are held for the primary. */
  async deliver(entry: OutboxEntry): Promise<DeliveryOutcome> {
    if (this.#lane === 'spacetime') return this.#primary.deliver(entry);
    if (this.#lane === 'nostr' && this.#supplemental.carries(entry.kind)) return this.#supplemental.deliver(entry);
    return { ok: false, retry: true, code: 'held', message: `held for the primary lane: ${this.#reason}` };
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#unsubscribes = [];
  }

  #choose(): { lane: Lane; reason: string } {
    const primary = this.#primary.readiness();
    if (primary.ready) return { lane: 'spacetime', reason: 'primary connected' };
    if (!this.#policy.nostr.fallbackAllowed) {
      return { lane: 'hold', reason: `primary unavailable (${primary.reason}); policy does not allow a Nostr fallback` };
    }
    const supplemental = this.#supplemental.readiness();
    if (!supplemental.ready) {
      return { lane: 'hold', reason: `primary unavailable (${primary.reason}); Nostr lane not ready (${supplemental.reason})` };
    }
    return { lane: 'nostr', reason: `primary unavailable (${primary.reason}); policy allows the Nostr fallback` };
  }

  #watch(): void {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#unsubscribes = [
      this.#primary.onReadinessChange(() => this.evaluate('primary readiness changed')),
      this.#supplemental.onReadinessChange(() => this.evaluate('nostr readiness changed')),
    ];
  }
}
