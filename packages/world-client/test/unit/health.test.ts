import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../src/index';

describe('HealthMonitor', () => {
  it('reports round trips with percentiles over a bounded window', () => {
    let now = 1_000;
    const health = new HealthMonitor({ clock: { now: () => now }, window: 4, heartbeatIntervalMs: 1_000 });
    expect(health.snapshot()).toMatchObject({ rttMs: null, rttP50Ms: null, rttSamples: 0, stalenessMs: null, stale: false });
    for (const ms of [10, 20, 30, 40, 500]) health.recordRoundTrip(ms);
    expect(health.snapshot()).toMatchObject({ rttMs: 500, rttP50Ms: 30, rttP99Ms: 500, rttSamples: 4 });
    now += 1;
    expect(() => health.recordRoundTrip(-1)).toThrow('a round trip must be a non-negative number of ms, got -1');
  });

  it('calls a connected client stale once updates stop for two heartbeat intervals', () => {
    let now = 0;
    const health = new HealthMonitor({ clock: { now: () => now }, heartbeatIntervalMs: 1_000 });
    health.setConnection({ connected: true, reconnects: 2, tokenSwaps: 1 });
    health.setOutboxDepth(3);
    health.recordUpdate(0);
    now = 1_500;
    expect(health.snapshot()).toMatchObject({ stalenessMs: 1_500, stale: false, reconnects: 2, tokenSwaps: 1, outboxDepth: 3, connected: true });
    now = 2_001;
    expect(health.snapshot()).toMatchObject({ stalenessMs: 2_001, stale: true });
    health.recordUpdate(1_900);
    expect(health.snapshot().stalenessMs).toBe(101);
    health.recordUpdate(100);
    expect(health.snapshot().lastUpdateAt).toBe(1_900);
    health.setConnection({ connected: false, reconnects: 2, tokenSwaps: 1 });
    now = 10_000;
    expect(health.snapshot().stale).toBe(false);
  });
});
