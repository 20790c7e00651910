// The outbound queue alone, without sockets: peers record what they are sent, the durability gate is
// a pair of counters, and "later in this turn" runs when the test says so.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_V3_BATCH_BYTES, Outbound, type DurabilityGate, type Peer } from '../../src/server/outbound';

interface RecordingPeer extends Peer {
  name: string;
  sent: Uint8Array[];
  ws: Peer['ws'] & { bufferedAmount: number; readyState: number };
}

function peer(name: string, protocol: 'v2' | 'v3' = 'v3', compression: Peer['compression'] = 'None'): RecordingPeer {
  const sent: Uint8Array[] = [];
  return { name, sent, protocol, compression, ws: { readyState: 1, OPEN: 1, bufferedAmount: 0, send: (d: Uint8Array) => void sent.push(d) } };
}

/** A commit log's durability as two counters: `append` logs a record, `sync` makes all of it durable. */
class Gate implements DurabilityGate {
  last = 0n;
  durable = 0n;
  private readonly listeners = new Set<(seq: bigint) => void>();
  lastSeq = () => this.last;
  durableSeq = () => this.durable;
  onDurable(l: (seq: bigint) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  append(): void {
    this.last++;
  }
  sync(): void {
    this.durable = this.last;
    for (const l of [...this.listeners]) l(this.durable);
  }
}

/** A frame as the server builds them: tag 0, then one message (here: the given bytes). */
const frame = (...bytes: number[]) => Uint8Array.of(0, ...bytes);

function setup(opts: { gate?: Gate; compress?: boolean; maxBacklogBytes?: number } = {}) {
  const turn: (() => void)[] = [];
  const slow: string[] = [];
  const out = new Outbound<RecordingPeer>({
    durability: opts.gate,
    compress: opts.compress ?? false,
    maxBacklogBytes: opts.maxBacklogBytes ?? 1 << 20,
    onSlow: (p) => void slow.push(p.name),
    schedule: (fn) => void turn.push(fn),
  });
  const detach = out.attach();
  const endTurn = () => {
    for (const fn of turn.splice(0)) fn();
  };
  return { out, endTurn, slow, detach };
}

describe('Outbound', () => {
  it('sends what one turn produced as one v3 frame per peer, and one v2 frame per message', () => {
    const { out, endTurn } = setup();
    const a = peer('a', 'v3');
    const b = peer('b', 'v2');
    out.send(a, frame(1));
    out.send(b, frame(1));
    out.send(a, frame(2, 3));
    out.send(b, frame(2, 3));
    expect(a.sent).toEqual([]);
    endTurn();
    expect(a.sent).toEqual([frame(1, 2, 3)]);
    expect(b.sent).toEqual([frame(1), frame(2, 3)]);
  });

  it('closes a v3 frame at the batch size; a larger message travels alone', () => {
    const { out, endTurn } = setup({ maxBacklogBytes: 16 << 20 });
    const a = peer('a');
    const half = new Uint8Array(MAX_V3_BATCH_BYTES / 2 + 1);
    const big = new Uint8Array(MAX_V3_BATCH_BYTES + 10);
    out.send(a, half);
    out.send(a, half);
    out.send(a, big);
    endTurn();
    expect(a.sent.map((f) => f.length)).toEqual([half.length, half.length, big.length]);
  });

  it('holds frames until the log record they reflect is durable, keeping each peer in order', () => {
    const gate = new Gate();
    const { out, endTurn } = setup({ gate });
    const a = peer('a');
    gate.append();
    out.send(a, frame(1)); // reflects record 1, not yet durable
    endTurn();
    expect(a.sent).toEqual([]);
    gate.append();
    gate.durable = 1n; // record 1 durable, 2 not: nothing is released without the signal
    out.send(a, frame(2));
    gate.sync();
    expect(a.sent).toEqual([frame(1, 2)]);
    out.send(a, frame(3)); // nothing waits and all is durable: leaves at the end of the turn
    expect(a.sent).toHaveLength(1);
    endTurn();
    expect(a.sent).toEqual([frame(1, 2), frame(3)]);
  });

  it('whenDurable resolves once everything logged so far is durable', async () => {
    const gate = new Gate();
    const { out } = setup({ gate });
    await out.whenDurable(); // nothing logged
    gate.append();
    let done = false;
    const p = out.whenDurable().then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    gate.sync();
    await p;
    expect(done).toBe(true);
  });

  it('releases what a kept batch sent and drops what an undone batch sent', () => {
    const { out, endTurn } = setup();
    const a = peer('a');
    expect(out.deferWhileBatching(() => {})).toBe(false);
    const deferred: string[] = [];
    out.beginBatch();
    out.send(a, frame(1));
    expect(out.deferWhileBatching(() => deferred.push('close'))).toBe(true);
    out.endBatch(false);
    endTurn();
    expect(a.sent).toEqual([]);
    expect(deferred).toEqual([]);

    out.beginBatch();
    out.send(a, frame(2));
    out.deferWhileBatching(() => deferred.push('close'));
    endTurn();
    expect(a.sent).toEqual([]);
    out.endBatch(true);
    expect(deferred).toEqual(['close']);
    endTurn();
    expect(a.sent).toEqual([frame(2)]);
  });

  it('reports a peer whose socket backlog would pass the limit, and writes nothing more to it', () => {
    const { out, endTurn, slow } = setup({ maxBacklogBytes: 100 });
    const stuck = peer('stuck', 'v2');
    const fine = peer('fine', 'v2');
    stuck.ws.bufferedAmount = 98;
    out.send(stuck, frame(1, 2));
    out.send(stuck, frame(3));
    out.send(fine, frame(1, 2));
    endTurn();
    expect(slow).toEqual(['stuck']);
    expect(stuck.sent).toEqual([]);
    expect(fine.sent).toEqual([frame(1, 2)]);
  });

  it('skips a peer whose socket is no longer open', () => {
    const { out, endTurn, slow } = setup();
    const gone = peer('gone');
    gone.ws.readyState = 3;
    out.send(gone, frame(1));
    endTurn();
    expect(gone.sent).toEqual([]);
    expect(slow).toEqual([]);
  });

  it('compresses large frames with the negotiated algorithm only when asked to', () => {
    const payload = new Uint8Array(4096).fill(7);
    const big = Uint8Array.of(0, ...payload);
    for (const compress of [false, true]) {
      const { out, endTurn } = setup({ compress });
      const g = peer('g', 'v2', 'Gzip');
      out.send(g, big);
      endTurn();
      const [sent] = g.sent;
      if (!compress) expect(sent).toEqual(big);
      else {
        expect(sent![0]).toBe(2);
        expect(new Uint8Array(gunzipSync(sent!.subarray(1)))).toEqual(payload);
      }
    }
  });

  it('stops listening to the log once detached', () => {
    const gate = new Gate();
    const { out, detach } = setup({ gate });
    const a = peer('a');
    gate.append();
    out.send(a, frame(1));
    detach();
    gate.sync();
    expect(a.sent).toEqual([]);
  });
});
