// Token buckets keyed by a string (a pubkey, an address): how control keeps one caller's burst of
// logins from costing others their turn.
export interface TokenBucketSettings {
  burst: number;
  perMinute: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** Milliseconds of the last refill. */
  refilledAt: number;
}

/** Beyond this many tracked keys, buckets that have refilled completely are dropped. */
const PRUNE_ABOVE = 10_000;

/** One token bucket per key (a pubkey, an address); each request takes one token. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly tokensPerMs: number;

  constructor(
    private readonly settings: TokenBucketSettings,
    private readonly nowMs: () => number,
  ) {
    this.tokensPerMs = settings.perMinute / 60_000;
  }

  /** Whether `take` would succeed now, without consuming anything. */
  peek(key: string): TakeResult {
    const bucket = this.refilled(this.buckets.get(key), this.nowMs());
    return bucket.tokens < 1 ? { ok: false, retryAfterSeconds: this.retryAfter(bucket) } : { ok: true };
  }

  take(key: string): TakeResult {
    const now = this.nowMs();
    const bucket = this.refilled(this.buckets.get(key), now);
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return { ok: false, retryAfterSeconds: this.retryAfter(bucket) };
    }
    this.buckets.set(key, { tokens: bucket.tokens - 1, refilledAt: now });
    if (this.buckets.size > PRUNE_ABOVE) this.pruneFull(now);
    return { ok: true };
  }

  private retryAfter(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.tokensPerMs / 1000));
  }

  private refilled(bucket: Bucket | undefined, now: number): Bucket {
    if (!bucket) return { tokens: this.settings.burst, refilledAt: now };
    const elapsed = Math.max(0, now - bucket.refilledAt);
    return { tokens: Math.min(this.settings.burst, bucket.tokens + elapsed * this.tokensPerMs), refilledAt: now };
  }

  private pruneFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now).tokens >= this.settings.burst) this.buckets.delete(key);
    }
  }
}
