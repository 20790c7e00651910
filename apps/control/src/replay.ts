/**
 * Remembers NIP-98 event ids until the events could no longer pass the freshness check anyway,
 * so each signed event is accepted at most once while keeping memory bounded by the window.
 */
export class ReplayGuard {
  /** event id → unix seconds after which the event is stale and can be forgotten. */
  private readonly seenUntil = new Map<string, number>();

  constructor(private readonly windowSeconds: number) {}

  /** Records the id; false when it was already seen. */
  firstSighting(eventId: string, createdAt: number, nowSeconds: number): boolean {
    this.forgetExpired(nowSeconds);
    if (this.seenUntil.has(eventId)) return false;
    this.seenUntil.set(eventId, createdAt + this.windowSeconds);
    return true;
  }

  private forgetExpired(nowSeconds: number): void {
    for (const [id, until] of this.seenUntil) {
      if (until < nowSeconds) this.seenUntil.delete(id);
    }
  }
}
