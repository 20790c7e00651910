// Schedule tables through the real SDK: one-shot rows fire once and disappear, interval rows fire
// repeatedly until deleted, deleting cancels, updating re-arms, a delay beyond the limit is refused.
// Timing: delays are 30–300 ms and every wait polls for an observable outcome; "did not fire"
// is checked against a later sentinel schedule that must fire first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../src/index';
import { connect, rejection, startFeaturesHost, subscribe, type Client } from './features-helpers';
import { until } from './helpers';

const MS = 1000n;

let host: RunningHost;
let a: Client;

const ticks = (label: string) => [...a.conn.db.tickLog.iter()].filter((t) => t.label === label);
const timerRow = (label: string) => [...a.conn.db.tickTimer.iter()].find((t) => t.label === label);

beforeAll(async () => {
  host = await startFeaturesHost();
  a = await connect(host);
  await subscribe(a.conn, ['SELECT * FROM tick_timer', 'SELECT * FROM proc_timer', 'SELECT * FROM tick_log']);
});
afterAll(async () => {
  a?.conn.disconnect();
  await host?.close();
});

describe('schedules', () => {
  it('fires a one-shot schedule once, as the database, then deletes its row', async () => {
    // Delays leave room for a loaded machine: the row must still exist when the call returns.
    await a.conn.reducers.scheduleOnce({ label: 'once', delayMicros: 300n * MS });
    const row = timerRow('once');
    expect(row?.scheduledAt.tag).toBe('Time');
    await until(() => ticks('once').length === 1, 'the one-shot fires');
    await until(() => timerRow('once') === undefined, 'its row is deleted after firing');
    const [tick] = ticks('once');
    expect(tick!.bySystem).toBe(true);
    const intended = (row!.scheduledAt.value as { microsSinceUnixEpoch: bigint }).microsSinceUnixEpoch;
    expect(tick!.at.microsSinceUnixEpoch >= intended).toBe(true);
    // A later sentinel fires after any stray second firing would have.
    await a.conn.reducers.scheduleOnce({ label: 'once-sentinel', delayMicros: 100n * MS });
    await until(() => ticks('once-sentinel').length === 1, 'the sentinel fires');
    expect(ticks('once')).toHaveLength(1);
  });

  it('fires an interval schedule repeatedly until its row is deleted', async () => {
    const before = BigInt(Date.now()) * MS;
    await a.conn.reducers.scheduleEvery({ label: 'every', intervalMicros: 30n * MS });
    await until(() => ticks('every').length >= 3, 'three interval ticks');
    expect(timerRow('every')).toBeDefined();
    // Ticks keep the schedule's phase (a late tick does not delay the next), so on a loaded machine
    // two ticks may land close together; what must hold is that tick i never fires before its time.
    const times = ticks('every').map((t) => t.at.microsSinceUnixEpoch);
    times.forEach((at, i) => expect(at).toBeGreaterThanOrEqual(before + BigInt(i + 1) * 30n * MS - 1n * MS));
    await a.conn.reducers.cancelSchedule({ label: 'every' });
    const fired = ticks('every').length;
    await a.conn.reducers.scheduleOnce({ label: 'every-sentinel', delayMicros: 150n * MS });
    await until(() => ticks('every-sentinel').length === 1, 'the sentinel fires');
    expect(ticks('every')).toHaveLength(fired);
  });

  it('cancels a one-shot schedule when its row is deleted', async () => {
    await a.conn.reducers.scheduleOnce({ label: 'cancelled', delayMicros: 60n * MS });
    await a.conn.reducers.scheduleOnce({ label: 'cancel-sentinel', delayMicros: 200n * MS });
    await a.conn.reducers.cancelSchedule({ label: 'cancelled' });
    await until(() => ticks('cancel-sentinel').length === 1, 'the sentinel fires');
    expect(ticks('cancelled')).toHaveLength(0);
  });

  it('re-arms a schedule when its row is updated, both earlier and later', async () => {
    await a.conn.reducers.scheduleOnce({ label: 'sooner', delayMicros: 3_600_000n * MS });
    await a.conn.reducers.scheduleOnce({ label: 'later', delayMicros: 500n * MS });
    await a.conn.reducers.rearmSchedule({ label: 'sooner', delayMicros: 40n * MS });
    await a.conn.reducers.rearmSchedule({ label: 'later', delayMicros: 3_600_000n * MS });
    await a.conn.reducers.scheduleOnce({ label: 'rearm-sentinel', delayMicros: 900n * MS });
    await until(() => ticks('rearm-sentinel').length === 1, 'the sentinel fires');
    expect(ticks('sooner')).toHaveLength(1);
    expect(ticks('later')).toHaveLength(0);
    expect(timerRow('later')).toBeDefined();
    await a.conn.reducers.cancelSchedule({ label: 'later' });
  });

  it('runs a scheduled procedure as the database, deleting a one-shot row before the call', async () => {
    await a.conn.reducers.scheduleProcedureOnce({ label: 'proc-once', delayMicros: 30n * MS });
    await until(() => ticks('proc-once:row-gone').length === 1, 'the scheduled procedure runs');
    expect(ticks('proc-once:row-gone')[0]!.bySystem).toBe(true);
    expect(ticks('proc-once:row-present')).toHaveLength(0);
    expect([...a.conn.db.procTimer.iter()]).toHaveLength(0);

    await a.conn.reducers.scheduleProcedureEvery({ label: 'proc-every', intervalMicros: 30n * MS });
    await until(() => ticks('proc-every:row-present').length >= 2, 'the interval procedure runs repeatedly');
    await a.conn.reducers.cancelProcedureSchedules({});
  });

  it('refuses a schedule too far in the future', async () => {
    expect(await rejection(a.conn.reducers.scheduleFarFuture({}))).toMatch(/^ScheduleAtDelayTooLong: /);
    expect(timerRow('far')).toBeUndefined();
  });

  it('does not let clients call the scheduled reducer directly', async () => {
    expect(await rejection(a.conn.callReducer('on_tick', new Uint8Array(0)))).toMatch(/no such reducer/);
  });
});
