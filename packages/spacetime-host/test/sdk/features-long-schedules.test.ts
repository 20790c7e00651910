// A schedule further away than Node's longest timer (2^31 - 1 ms, ~24.8 days) must not fire when
// that timer wakes up, only at its time. Driven on the ModuleHost directly with a controlled
// clock and fake timers (a real SDK client cannot wait 25 days).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModuleHost } from '../../src/index';
import { bundleModule } from '../../src/module/bundle';
import { encode } from '../../src/sats/codec';
import { fixture } from './helpers';

const MAX_TIMER_MS = 2 ** 31 - 1;
const DAY_MICROS = 24n * 3600n * 1_000_000n;
const START = 1_800_000_000_000_000n;

let clock = START;
let host: ModuleHost;

const ticks = () => host.datastore.tableByName('tick_log')!.rows.size;

beforeAll(async () => {
  const bundle = await bundleModule(fixture('features'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  host = await ModuleHost.create({ module: bundle, name: 'long-schedules', databaseIdentity: 7n, ownerIdentity: 8n, now: () => clock });
  host.initialize();
});
afterAll(() => {
  host?.close();
  vi.useRealTimers();
});

/** Move the host clock and the fake timers forward together. */
function advance(ms: number): void {
  clock += BigInt(ms) * 1000n;
  vi.advanceTimersByTime(ms);
}

describe('schedules beyond the longest timer', () => {
  it('fire at their time, not when the capped timer wakes', () => {
    const def = host.catalog.reducerByName.get('schedule_once')!;
    const args = encode(def.paramsTy, ['in 30 days', 30n * DAY_MICROS]);
    expect(host.callReducer('schedule_once', args, { identity: 9n, connectionId: 0n }).kind).toBe('committed');
    expect(host.datastore.tableByName('tick_timer')!.rows.size).toBe(1);

    advance(MAX_TIMER_MS); // ~24.8 days: the first timer wakes
    expect(ticks()).toBe(0);
    advance(Number(30n * DAY_MICROS / 1000n) - MAX_TIMER_MS - 1); // 1 ms before the time
    expect(ticks()).toBe(0);
    advance(1);
    expect(ticks()).toBe(1);
    expect(host.datastore.tableByName('tick_timer')!.rows.size).toBe(0);
  });
});
