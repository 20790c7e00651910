// One contract for every OutboxStorage (as tldraw runs one storage suite against each of its
// storages): what the Outbox relies on — insertion order, replace-in-place, delete, entries that
// survive a restart — checked the same way for the memory and the file implementation.
import { describe, expect, it } from 'vitest';
import { Outbox, type DeliveryOutcome, type OutboxEntry, type OutboxStorage } from '../../src/index';

/** A storage under test and a way to "restart": a fresh instance over the same durable state. */
export interface StorageHarness {
  storage: OutboxStorage;
  reopen(): OutboxStorage;
  /** Releases what the instance holds open (file handles); a no-op for memory. */
  close(storage: OutboxStorage): Promise<void>;
}

const entry = (key: string, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({ key, kind: 'publish_message', args: { payload: key }, enqueuedAt: 1, attempts: 0, ...extra });

export function outboxStorageContract(name: string, make: () => StorageHarness): void {
  describe(`OutboxStorage contract: ${name}`, () => {
    it('starts empty and returns entries in the order they were first put', async () => {
      const { storage } = make();
      expect(await storage.load()).toEqual([]);
      for (const key of ['c', 'a', 'b']) await storage.put(entry(key));
      expect((await storage.load()).map((e) => e.key)).toEqual(['c', 'a', 'b']);
    });

    it('replaces an entry with the same key in its place, and keeps args exactly', async () => {
      const { storage } = make();
      await storage.put(entry('a'));
      await storage.put(entry('b'));
      const args = { text: 'héllo 🚀', nested: { list: [1, 2.5, null, 'x'], flag: true }, empty: '' };
      await storage.put(entry('a', { attempts: 3, args, coalesce: 'ack:1' }));
      expect(await storage.load()).toEqual([entry('a', { attempts: 3, args, coalesce: 'ack:1' }), entry('b')]);
    });

    it('deletes by key; deleting a missing key changes nothing', async () => {
      const { storage } = make();
      for (const key of ['a', 'b', 'c']) await storage.put(entry(key));
      await storage.delete('b');
      await storage.delete('nope');
      expect((await storage.load()).map((e) => e.key)).toEqual(['a', 'c']);
    });

    it('keeps what was put and deleted across a restart', async () => {
      const harness = make();
      const { storage } = harness;
      await storage.load();
      for (const key of ['a', 'b', 'c']) await storage.put(entry(key));
      await storage.put(entry('a', { attempts: 2 }));
      await storage.delete('b');
      await harness.close(storage);
      const reopened = harness.reopen();
      expect(await reopened.load()).toEqual([entry('a', { attempts: 2 }), entry('c')]);
      await harness.close(reopened);
    });

    it('keeps undelivered writes across a restart, and the outbox delivers them exactly once', async () => {
      const harness = make();
      const { storage } = harness;
      // The world applies each key once; its answer to m2 is lost (so m2 stays unconfirmed), and
      // the process "dies" during m2's second attempt, after the first one's failure was stored.
      const world: string[] = [];
      let m2Calls = 0;
      let dying: () => void = () => undefined;
      const died = new Promise<void>((resolve) => (dying = resolve));
      const before = new Outbox({
        storage,
        deliver: async (e): Promise<DeliveryOutcome> => {
          if (!world.includes(e.key)) world.push(e.key);
          if (e.key !== 'm2') return { ok: true };
          if (++m2Calls === 1) return { ok: false, retry: true, code: 'timeout', message: 'answer lost' };
          dying();
          return new Promise<DeliveryOutcome>(() => undefined); // never answered: the process is gone
        },
        maxInFlight: 1,
        maxAttempts: 1_000,
        retryBackoff: { initialMs: 1, maxMs: 5 },
      });
      await before.open();
      await Promise.all(['m1', 'm2', 'm3'].map((key) => before.enqueue({ key, kind: 'publish_message', args: { payload: key } })));
      before.setOnline(true);
      // m3 (behind m2, one in flight at a time) was never sent.
      await died;
      await before.close();
      await harness.close(storage);

      const reopened = harness.reopen();
      const after = new Outbox({
        storage: reopened,
        deliver: async (e) => {
          if (!world.includes(e.key)) world.push(e.key);
          return { ok: true };
        },
        retryBackoff: { initialMs: 1, maxMs: 5 },
      });
      await after.open();
      expect(after.entries().map((e) => e.key)).toEqual(['m2', 'm3']);
      expect(after.entries()[0]!.attempts).toBe(1);
      after.setOnline(true);
      await after.drained();
      expect(world).toEqual(['m1', 'm2', 'm3']);
      expect(await reopened.load()).toEqual([]);
      await after.close();
      await harness.close(reopened);
    });
  });
}
