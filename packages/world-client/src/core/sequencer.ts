// Per-channel ordering: messages carry a gapless seq (1, 2, ...). Listeners get each message once,
// in seq order, starting after a floor (the node's transport checkpoint). A message that arrives
// early waits for the ones before it; a repeat (replayed subscription after a reconnect, or a
// token swap's second link) is dropped.

export interface Sequenced {
  readonly channelId: string;
  readonly seq: number;
}

export interface Gap {
  readonly channelId: string;
  /** Last seq handed out. */
  readonly deliveredThrough: number;
  /** Lowest seq waiting behind the gap. */
  readonly nextBuffered: number;
}

export class ChannelSequencer<Message extends Sequenced> {
  readonly #delivered = new Map<string, number>();
  readonly #pending = new Map<string, Map<number, Message>>();
  readonly #deliver: (messages: Message[]) => void;

  /** `deliver` gets each batch in seq order per channel (channels interleaved in arrival order). */
  constructor(deliver: (messages: Message[]) => void) {
    this.#deliver = deliver;
  }

  /** The highest seq handed out for the channel (0 before any). */
  deliveredThrough(channelId: string): number {
    return this.#delivered.get(channelId) ?? 0;
  }

  /** Never hand out seq <= `seq` for the channel (a checkpoint). A floor only rises. */
  raiseFloor(channelId: string, seq: number): void {
    checkSeq(seq);
    if (seq <= this.deliveredThrough(channelId)) return;
    this.#delivered.set(channelId, seq);
    const pending = this.#pending.get(channelId);
    if (pending) for (const buffered of [...pending.keys()]) if (buffered <= seq) pending.delete(buffered);
    this.#flush([channelId]);
  }

  offer(messages: Iterable<Message>): void {
    const touched = new Set<string>();
    for (const message of messages) {
      checkSeq(message.seq);
      if (message.seq <= this.deliveredThrough(message.channelId)) continue;
      let pending = this.#pending.get(message.channelId);
      if (!pending) {
        pending = new Map();
        this.#pending.set(message.channelId, pending);
      }
      pending.set(message.seq, message);
      touched.add(message.channelId);
    }
    this.#flush([...touched]);
  }

  /** Channels whose next message has not arrived while later ones have. */
  gaps(): Gap[] {
    const gaps: Gap[] = [];
    for (const [channelId, pending] of this.#pending) {
      if (pending.size === 0) continue;
      gaps.push({ channelId, deliveredThrough: this.deliveredThrough(channelId), nextBuffered: Math.min(...pending.keys()) });
    }
    return gaps;
  }

  #flush(channelIds: string[]): void {
    const out: Message[] = [];
    for (const channelId of channelIds) {
      const pending = this.#pending.get(channelId);
      if (!pending) continue;
      let next = this.deliveredThrough(channelId) + 1;
      for (let message = pending.get(next); message !== undefined; message = pending.get(next)) {
        out.push(message);
        pending.delete(next);
        next += 1;
      }
      this.#delivered.set(channelId, next - 1);
      if (pending.size === 0) this.#pending.delete(channelId);
    }
    if (out.length > 0) this.#deliver(out);
  }
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a non-negative safe integer, got ${seq}`);
}
