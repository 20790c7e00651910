// Randomized: three sessions edit one file through an in-memory world with the module's rules,
// with calls, results and rows delivered in random order and at random times. At quiescence every
// session shows the world's text and no token a client typed is lost outside a conflict. Seeded
// (SEED, ITERATIONS), so a failure repeats; the same property runs against the real world in
// test/integration/file-session.test.ts.
import { prng, seeded } from '@autopilot/test-support';
import { expect, it } from 'vitest';
import { FileSession } from '../../src/core/files/index';
import { ManualTimers, MemoryFileWorld, MemoryTransport } from '../support/file-world';
import { initialText, lostTokens, randomAction, type Tracker } from '../support/file-property';

// Lets promise callbacks (sendBatch results) run; the memory transport answers without timers.
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

it("three sessions converge on the world's text without losing keystrokes", seeded({ seed: 20261203, iterations: 60 }, async ({ seed: SEED, iterations: ITERATIONS }) => {
  let conflicts = 0;
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    const seed = SEED + iteration;
    const random = prng(seed);
    const world = new MemoryFileWorld(initialText(24));
    const timers = new ManualTimers();
    const clients = ['c1', 'c2', 'c3'].map((name) => {
      const transport = new MemoryTransport(world, name);
      let n = 0;
      const session = new FileSession({
        head: { version: 0, content: world.content },
        transport,
        timers,
        clock: timers.clock,
        coalesceMs: 10,
        undoGroupMs: 30,
        newOpId: () => `${name}-${seed}-${++n}`,
      });
      return { tracker: { name, session, added: new Set<string>(), next: 0 } as Tracker, transport };
    });
    const removed = new Set<string>();
    const log: string[] = [];
    for (let step = 0; step < 300; step++) {
      const client = clients[Math.floor(random() * clients.length)]!;
      const roll = random();
      if (roll < 0.35) log.push(`${client.tracker.name} ${randomAction(random, client.tracker, removed)}`);
      else if (roll < 0.6) client.transport.deliverCalls();
      else if (roll < 0.72) client.transport.deliverResults();
      else if (roll < 0.87) client.transport.deliverRows(Math.min(world.version, Math.floor(random() * (world.version + 2))));
      else timers.advance(Math.floor(random() * 15));
      await settle();
    }
    // Quiescence: deliver everything until nothing moves.
    for (let round = 0; round < 200; round++) {
      timers.advance(300);
      for (const client of clients) {
        client.transport.deliverCalls();
        client.transport.deliverResults();
        client.transport.deliverRows();
      }
      await settle();
      if (clients.every((c) => c.tracker.session.state === 'synced' && c.transport.pendingCalls === 0 && c.tracker.session.version === world.version) && timers.pending === 0) break;
    }
    const context = `seed ${seed}: ${log.join(', ')}`;
    for (const { tracker } of clients) {
      expect(tracker.session.state, context).toBe('synced');
      expect(tracker.session.version, context).toBe(world.version);
      expect(tracker.session.text, context).toBe(world.content);
      expect(lostTokens(tracker, world.content, removed), context).toEqual([]);
      conflicts += tracker.session.conflicts.length;
    }
    expect(conflicts).toBeGreaterThanOrEqual(world.tickets.length > 0 ? 1 : 0);
  }
  // The generator does produce collisions (else the conflict path went untested).
  expect(conflicts).toBeGreaterThan(0);
}));
