// The Outbox's delivery rules over memory storage; what storages must do is in outbox-storage.test.ts.
import { describe, expect, it } from 'vitest';
import { MemoryOutboxStorage, Outbox, type DeliveryOutcome, type OutboxEntry } from '../../src/index';

/**
 * A receiver with the world's contract: it applies each idempotency key once and answers OK to
 * repeats. `script` decides, per call, what the network does to the answer.
 */
class Receiver {
  readonly applied: string[] = [];
  calls = 0;
  constructor(private readonly script: (entry: OutboxEntry, call: number) => 'ok' | 'lost_after_apply' | 'down' | 'refuse' | 'held' = () => 'ok') {}

  deliver = async (entry: OutboxEntry): Promise<DeliveryOutcome> => {
    const call = ++this.calls;
    await new Promise((resolve) => setTimeout(resolve, 1));
    const fate = this.script(entry, call);
    if (fate === 'down') return { ok: false, retry: true, code: 'disconnected', message: 'link down' };
    if (fate === 'held') return { ok: false, retry: true, code: 'held', message: 'no lane' };
    if (fate === 'refuse') return { ok: false, retry: false, code: 'denied', message: `refused ${entry.key}` };
    if (!this.applied.includes(entry.key)) this.applied.push(entry.key);
    if (fate === 'lost_after_apply') return { ok: false, retry: true, code: 'timeout', message: 'answer lost' };
    return { ok: true };
  };
}

const fast = { retryBackoff: { initialMs: 1, maxMs: 5 } };

async function queue(outbox: Outbox, keys: string[], kind = 'publish_message') {
  return Promise.all(keys.map((key) => outbox.enqueue({ key, kind, args: { payload: key } })));
}

describe('Outbox', () => {
  it('holds writes while offline and delivers them in order, once, when online', async () => {
    const receiver = new Receiver();
    const storage = new MemoryOutboxStorage();
    const outbox = new Outbox({ storage, deliver: receiver.deliver, maxInFlight: 3, ...fast });
    await outbox.open();
    const queued = await queue(outbox, ['a', 'b', 'c', 'd', 'e']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(receiver.calls).toBe(0);
    expect(outbox.depth).toBe(5);
    expect((await storage.load()).map((entry) => entry.key)).toEqual(['a', 'b', 'c', 'd', 'e']);

    outbox.setOnline(true);
    const settled = await Promise.all(queued.map((q) => q.settled));
    expect(settled).toEqual(['a', 'b', 'c', 'd', 'e'].map((key) => ({ ok: true, key })));
    expect(receiver.applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(outbox.depth).toBe(0);
    expect(await storage.load()).toEqual([]);
  });

  it('sends again what the link lost, and a repeat of an applied write stays one write', async () => {
    const receiver = new Receiver((entry, call) => (call <= 2 ? (entry.key === 'a' ? 'lost_after_apply' : 'down') : 'ok'));
    const outbox = new Outbox({ storage: new MemoryOutboxStorage(), deliver: receiver.deliver, maxInFlight: 1, ...fast });
    await outbox.open();
    outbox.setOnline(true);
    const queued = await queue(outbox, ['a', 'b']);
    await Promise.all(queued.map((q) => q.settled));
    expect(receiver.applied).toEqual(['a', 'b']);
    expect(receiver.calls).toBe(4);
  });

  it('settles a refused write with its reason and goes on with the next', async () => {
    const receiver = new Receiver((entry) => (entry.key === 'bad' ? 'refuse' : 'ok'));
    const outbox = new Outbox({ storage: new MemoryOutboxStorage(), deliver: receiver.deliver, ...fast });
    await outbox.open();
    outbox.setOnline(true);
    const [bad, good] = await queue(outbox, ['bad', 'good']);
    expect(await bad!.settled).toEqual({ ok: false, key: 'bad', code: 'denied', message: 'refused bad' });
    expect(await good!.settled).toEqual({ ok: true, key: 'good' });
    expect(receiver.applied).toEqual(['good']);
  });

  it('gives up after maxAttempts retryable failures, but never counts "held" (nothing was sent)', async () => {
    const failing = new Receiver(() => 'down');
    const outbox = new Outbox({ storage: new MemoryOutboxStorage(), deliver: failing.deliver, maxAttempts: 3, ...fast });
    await outbox.open();
    outbox.setOnline(true);
    const [entry] = await queue(outbox, ['x']);
    expect(await entry!.settled).toEqual({ ok: false, key: 'x', code: 'disconnected', message: 'gave up after 3 attempts; last error: link down' });

    let heldCalls = 0;
    const held = new Receiver((_entry, call) => {
      heldCalls = call;
      return call <= 6 ? 'held' : 'ok';
    });
    const patient = new Outbox({ storage: new MemoryOutboxStorage(), deliver: held.deliver, maxAttempts: 3, ...fast });
    await patient.open();
    patient.setOnline(true);
    const [waiting] = await queue(patient, ['y']);
    expect(await waiting!.settled).toEqual({ ok: true, key: 'y' });
    expect(heldCalls).toBe(7);
  });

  it('replaces a waiting entry with the same coalesce key, never one already in flight', async () => {
    let release: () => void = () => undefined;
    const seen: string[] = [];
    const outbox = new Outbox({
      storage: new MemoryOutboxStorage(),
      deliver: async (entry) => {
        seen.push(`${entry.key}:${JSON.stringify(entry.args)}`);
        if (entry.key === 'ack1') await new Promise<void>((resolve) => (release = resolve));
        return { ok: true };
      },
      maxInFlight: 1,
      ...fast,
    });
    await outbox.open();
    outbox.setOnline(true);
    const first = await outbox.enqueue({ key: 'ack1', kind: 'ack_message', args: { seq: 1 }, coalesce: 'ack:9' });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // ack1 is in flight
    const second = await outbox.enqueue({ key: 'ack2', kind: 'ack_message', args: { seq: 2 }, coalesce: 'ack:9' });
    const third = await outbox.enqueue({ key: 'ack3', kind: 'ack_message', args: { seq: 3 }, coalesce: 'ack:9' });
    expect(await second.settled).toEqual({ ok: true, key: 'ack2' });
    expect(outbox.entries().map((entry) => entry.key)).toEqual(['ack1', 'ack3']);
    release();
    await first.settled;
    await third.settled;
    expect(seen).toEqual(['ack1:{"seq":1}', 'ack3:{"seq":3}']);
  });

  it('tells waiters "closed" when the outbox closes before delivery, keeping the entry stored', async () => {
    const storage = new MemoryOutboxStorage();
    const outbox = new Outbox({ storage, deliver: new Receiver().deliver });
    await outbox.open();
    const { settled } = await outbox.enqueue({ key: 'late', kind: 'publish_message', args: null });
    await outbox.close();
    expect(await settled).toEqual({ ok: false, key: 'late', code: 'closed', message: 'the outbox closed before delivery; the write stays stored for the next start' });
    expect((await storage.load()).map((entry) => entry.key)).toEqual(['late']);
    await expect(outbox.enqueue({ key: 'after', kind: 'x', args: null })).rejects.toThrow('the outbox is closed');
  });

  it('queues a key once', async () => {
    const receiver = new Receiver();
    const outbox = new Outbox({ storage: new MemoryOutboxStorage(), deliver: receiver.deliver });
    await outbox.open();
    const one = await outbox.enqueue({ key: 'k', kind: 'publish_message', args: 1 });
    const two = await outbox.enqueue({ key: 'k', kind: 'publish_message', args: 2 });
    expect(outbox.depth).toBe(1);
    outbox.setOnline(true);
    expect(await one.settled).toEqual({ ok: true, key: 'k' });
    expect(await two.settled).toEqual({ ok: true, key: 'k' });
    expect(receiver.calls).toBe(1);
    await expect(outbox.enqueue({ key: '', kind: 'x', args: null })).rejects.toThrow('an outbox entry needs a non-empty key');
  });
});
