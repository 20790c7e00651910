// Schedule tables: every row of a table with a `scheduled` function is a timer. The scheduler keeps
// one Node timer per row (keyed by table and schedule id), re-arms them from each commit's deltas,
// fires them as reducer or procedure calls, deletes one-shot rows after they ran, and keeps the
// phase of interval schedules (missed ticks are skipped, not run in a burst).
import type { Logger } from 'pino';
import type { Datastore, TableDelta, TableStore } from '../datastore/datastore';
import { DatastoreError, Errno } from '../datastore/errors';
import type { IndexStore } from '../datastore/index_store';
import type { StoredRow } from '../datastore/rows';
import type { SumValue } from '../sats/codec';
import type { ReducerDef } from './catalog';
import type { Caller, ProcedureOutcome } from './host';

/** Upstream's limit: a ScheduleAt delay of 2^36 - 1 ms or more is refused. */
const MAX_SCHEDULE_DELAY_MICROS = ((1n << 36n) - 1n) * 1000n;
/** Longest delay setTimeout honours. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** What firing a schedule needs from the module host. */
export interface SchedulerHost {
  readonly datastore: Datastore;
  readonly logger: Logger;
  readonly databaseIdentity: bigint;
  /** Monotonic time in µs since the epoch. */
  now(): bigint;
  reducerByName(name: string): ReducerDef | undefined;
  runReducer(def: ReducerDef, args: Uint8Array, caller: Caller, timestamp: bigint): unknown;
  callProcedure(name: string, args: Uint8Array, caller: Caller, opts: { internal: true }): ProcedureOutcome;
  /** Run `body` in its own transaction named `name` (the one-shot row's cleanup). */
  transact(name: string, body: () => void): void;
  /** Run the calls the module queued with schedule_immediate. */
  drainImmediate(): void;
}

type ScheduleAt = { interval: boolean; micros: bigint };

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly primaryKeys = new Map<TableStore, IndexStore | undefined>();
  private closed = false;

  constructor(private readonly host: SchedulerHost) {}

  /** Refuse a row whose delay upstream would refuse (called by the ABI on insert). */
  check(table: TableStore, row: StoredRow): void {
    const at = scheduleAt(table, row);
    const delay = at.interval ? at.micros : at.micros - this.host.now();
    if (delay >= MAX_SCHEDULE_DELAY_MICROS) {
      throw new DatastoreError(Errno.SCHEDULE_AT_DELAY_TOO_LONG, `schedule delay of ${delay / 1000n} ms is too long`);
    }
  }

  /** Arm a timer for every schedule row (start, recovery). */
  armAll(): void {
    for (const t of this.host.datastore.tables) if (t.def.schedule) for (const row of t.rows.values()) this.arm(t, row, undefined);
  }

  /** Forget every timer and arm them again from the tables (after a batch was undone). */
  reset(): void {
    this.clear();
    this.armAll();
  }

  /** Follow a commit: deleted rows stop, inserted (or updated) rows (re)start. */
  rearm(deltas: TableDelta[]): void {
    for (const d of deltas) {
      if (!d.table.schedule) continue;
      const table = this.host.datastore.tables[d.table.id]!;
      for (const row of d.deletes) this.stop(timerKey(table, scheduleId(table, row)));
      for (const row of d.inserts) this.arm(table, row, undefined);
    }
  }

  close(): void {
    this.closed = true;
    this.clear();
  }

  private clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private stop(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private arm(table: TableStore, row: StoredRow, lastIntended: bigint | undefined): void {
    if (this.closed) return;
    const at = scheduleAt(table, row);
    const now = this.host.now();
    let intended: bigint;
    if (!at.interval) intended = at.micros;
    else if (lastIntended === undefined) intended = now + at.micros;
    else {
      // Next tick strictly after now, keeping the original phase; missed ticks are skipped.
      const period = at.micros > 0n ? at.micros : 1n;
      intended = lastIntended + ((now - lastIntended) / period + 1n) * period;
    }
    this.startTimer(table, scheduleId(table, row), intended);
  }

  /** (Re)start the timer that fires schedule `id` of `table` at `intended` (µs since the epoch). */
  private startTimer(table: TableStore, id: bigint, intended: bigint): void {
    const key = timerKey(table, id);
    this.stop(key);
    const now = this.host.now();
    const delayMs = intended > now ? Number((intended - now + 999n) / 1000n) : 0;
    // Node caps timer delays at 2^31 - 1 ms (~24.8 days); a capped timer wakes early and waits again.
    const timer = setTimeout(() => this.fire(table, id, intended), Math.min(delayMs, MAX_TIMER_DELAY_MS));
    timer.unref?.();
    this.timers.set(key, timer);
  }

  private fire(table: TableStore, id: bigint, intended: bigint): void {
    this.timers.delete(timerKey(table, id));
    if (this.closed) return;
    const host = this.host;
    if (intended > host.now()) return this.startTimer(table, id, intended);
    const row = this.row(table, id);
    if (!row) return; // cancelled
    const fnName = table.def.schedule!.functionName;
    const oneShot = !scheduleAt(table, row).interval;
    const now = host.now();
    const timestamp = now > intended ? now : intended;
    const caller = { identity: host.databaseIdentity, connectionId: 0n };
    const reducer = host.reducerByName(fnName);
    if (reducer) {
      host.runReducer(reducer, row.bytes, caller, timestamp);
      if (oneShot) this.deleteRow(table, id);
    } else {
      if (oneShot) this.deleteRow(table, id);
      // Scheduled procedures are private to clients; the schedule itself may call them.
      const outcome = host.callProcedure(fnName, row.bytes, caller, { internal: true });
      if (outcome.kind !== 'returned') host.logger.warn({ function: fnName }, `scheduled procedure ${fnName} failed: ${outcome.message}`);
    }
    if (!oneShot) {
      const current = this.row(table, id);
      if (current && current.key === row.key) this.arm(table, current, intended);
    }
    host.drainImmediate();
  }

  private deleteRow(table: TableStore, id: bigint): void {
    if (!this.row(table, id)) return;
    this.host.transact(`${table.def.name} schedule cleanup`, () => {
      const row = this.row(table, id);
      if (row) this.host.datastore.delete(table, row);
    });
  }

  /** The schedule row with this id, through the table's primary-key index. */
  private row(table: TableStore, id: bigint): StoredRow | undefined {
    if (!this.primaryKeys.has(table)) {
      const idCol = table.def.schedule!.idCol;
      this.primaryKeys.set(table, table.indexes.find((ix) => ix.def.columns.length === 1 && ix.def.columns[0] === idCol));
    }
    return this.primaryKeys.get(table)?.point([id])[0];
  }
}

function timerKey(table: TableStore, id: bigint): string {
  return `${table.def.id}:${id}`;
}

function scheduleId(table: TableStore, row: StoredRow): bigint {
  return row.value[table.def.schedule!.idCol] as bigint;
}

/** The row's ScheduleAt: Interval (tag 0, a period) or Time (tag 1, a moment), in µs. */
function scheduleAt(table: TableStore, row: StoredRow): ScheduleAt {
  const at = row.value[table.def.schedule!.atCol] as SumValue;
  return { interval: at.tag === 0, micros: (at.value as [bigint])[0] };
}
