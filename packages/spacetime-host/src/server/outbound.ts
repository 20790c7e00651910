// The outbound path of every connection: frames wait for the commit-log record they reflect to
// be durable (confirmed reads), are held back while a batch of reducer calls may still be undone,
// leave once per event-loop turn as one write per connection (one v3 frame carrying them all), and
// a connection whose socket stops draining is reported as slow instead of holding memory.
// No sockets here: a peer is anything with the few socket members below, so this is unit-tested alone.
import { brotliCompressSync, gzipSync } from 'node:zlib';

export type Compression = 'None' | 'Gzip' | 'Brotli';

/** A v3 frame carrying several messages is closed at this size (one larger message travels alone). */
export const MAX_V3_BATCH_BYTES = 1024 * 1024;
const COMPRESSION_THRESHOLD = 1024;

/** What the server needs from the commit log to send only what is durable (confirmed reads). */
export interface DurabilityGate {
  /** Sequence number of the last record appended (durable or not). */
  lastSeq(): bigint;
  durableSeq(): bigint;
  onDurable(listener: (seq: bigint) => void): () => void;
}

/** The socket members the outbound path uses (a `ws` WebSocket has them). */
export interface PeerSocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
}

export interface Peer {
  ws: PeerSocket;
  protocol: 'v2' | 'v3';
  compression: Compression;
}

export interface OutboundOptions<P extends Peer> {
  durability?: DurabilityGate;
  /** Compress large frames with the peer's negotiated algorithm (see HostServerOptions.compress). */
  compress: boolean;
  /** Bytes a socket may have queued; a write past it reports the peer as slow and is not made. */
  maxBacklogBytes: number;
  /** The peer fell behind its backlog limit: the server disconnects it. */
  onSlow(peer: P): void;
  /** How "later in this turn" is scheduled (default setImmediate). */
  schedule?: (fn: () => void) => void;
}

export class Outbound<P extends Peer> {
  /** Frames waiting for the log record they depend on to become durable, in send order. */
  private readonly waiting: { seq: bigint; peer: P; frame: Uint8Array }[] = [];
  private waitingHead = 0;
  /** Frames ready to go, per peer in send order; written out together. */
  private readonly ready = new Map<P, Uint8Array[]>();
  private flushScheduled = false;
  /** While the module runs a batch: the sends and closes it caused, released only if it is kept. */
  private staged: (() => void)[] | undefined;
  private readonly schedule: (fn: () => void) => void;

  constructor(private readonly opts: OutboundOptions<P>) {
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
  }

  /** Start releasing frames as the log becomes durable; returns the disposer. */
  attach(): () => void {
    return this.opts.durability?.onDurable(() => this.pump()) ?? (() => {});
  }

  /** A batch began: hold back everything until it ends. */
  beginBatch(): void {
    this.staged = [];
  }

  /** The batch ended: release what it held back if it was kept, drop it if it was undone. */
  endBatch(kept: boolean): void {
    const staged = this.staged ?? [];
    this.staged = undefined;
    if (kept) for (const action of staged) action();
  }

  /** Run `action` when the running batch is kept (true), or say there is no batch (false: act now). */
  deferWhileBatching(action: () => void): boolean {
    if (!this.staged) return false;
    this.staged.push(action);
    return true;
  }

  /** `frame` is an uncompressed frame (tag 0 + message); it may be shared by several peers. */
  send(peer: P, frame: Uint8Array): void {
    if (this.deferWhileBatching(() => this.send(peer, frame))) return;
    const gate = this.opts.durability;
    if (gate) {
      const seq = gate.lastSeq();
      // Behind a waiting frame even when durable: a peer's frames keep their order.
      if (seq > gate.durableSeq() || this.waitingHead < this.waiting.length) {
        this.waiting.push({ seq, peer, frame });
        return;
      }
    }
    this.addReady(peer, frame);
    if (!this.flushScheduled) {
      // Everything sent during this event-loop turn leaves together: one write per peer.
      this.flushScheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Resolves once everything logged so far is durable (HTTP replies wait for it too). */
  whenDurable(): Promise<void> {
    const gate = this.opts.durability;
    if (!gate) return Promise.resolve();
    const target = gate.lastSeq();
    if (target <= gate.durableSeq()) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = gate.onDurable((seq) => {
        if (seq >= target) {
          stop();
          resolve();
        }
      });
    });
  }

  /** A group commit became durable: release what waited for it, one write per peer. */
  pump(): void {
    const durable = this.opts.durability!.durableSeq();
    while (this.waitingHead < this.waiting.length && this.waiting[this.waitingHead]!.seq <= durable) {
      const { peer, frame } = this.waiting[this.waitingHead++]!;
      this.addReady(peer, frame);
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
    this.flush();
  }

  flush(): void {
    this.flushScheduled = false;
    for (const [peer, frames] of this.ready) {
      this.ready.delete(peer);
      if (peer.protocol === 'v2') {
        for (const frame of frames) if (!this.write(peer, frame)) break;
        continue;
      }
      // v3: messages travel back to back in one frame (the SDK reads until the payload ends).
      let i = 0;
      while (i < frames.length) {
        let j = i + 1;
        let size = frames[i]!.length;
        while (j < frames.length && size + frames[j]!.length - 1 <= MAX_V3_BATCH_BYTES) size += frames[j++]!.length - 1;
        if (!this.write(peer, j === i + 1 ? frames[i]! : joinFrames(frames, i, j, size))) break;
        i = j;
      }
    }
  }

  private addReady(peer: P, frame: Uint8Array): void {
    const list = this.ready.get(peer);
    if (list) list.push(frame);
    else this.ready.set(peer, [frame]);
  }

  /** Write one uncompressed frame (compressing it if asked to); false once the peer is gone or slow. */
  private write(peer: P, frame: Uint8Array): boolean {
    if (peer.ws.readyState !== peer.ws.OPEN) return false;
    let out = frame;
    if (this.opts.compress && frame.length - 1 > COMPRESSION_THRESHOLD && peer.compression !== 'None') {
      const payload = frame.subarray(1);
      const body = peer.compression === 'Gzip' ? gzipSync(payload) : brotliCompressSync(payload);
      out = new Uint8Array(body.length + 1);
      out[0] = peer.compression === 'Gzip' ? 2 : 1;
      out.set(body, 1);
    }
    if (peer.ws.bufferedAmount + out.length > this.opts.maxBacklogBytes) {
      // A subscriber that does not read its socket must not hold memory or slow the others.
      this.opts.onSlow(peer);
      return false;
    }
    peer.ws.send(out);
    return true;
  }
}

/** One v3 frame from frames[from..to) (each tag 0 + one message): tag 0, then the messages. */
function joinFrames(frames: Uint8Array[], from: number, to: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 1;
  for (let k = from; k < to; k++) {
    out.set(frames[k]!.subarray(1), at);
    at += frames[k]!.length - 1;
  }
  return out;
}
