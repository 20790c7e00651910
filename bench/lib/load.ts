// A closed-loop load driver: `workers` loops each run one operation at a time, back to back, for
// a warm-up and then a measured window. Operations counted are those that finish inside the
// window; their latencies are from start to finish.
import { performance } from 'node:perf_hooks';
import { summarise, type LatencySummary } from './stats';

/** 'ok' committed; 'rejected' refused by the transaction's own rule (e.g. an overdraft). */
export type OpOutcome = 'ok' | 'rejected';

export interface LoadResult {
  completed: number;
  rejected: number;
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
}

export interface ClosedLoopOptions {
  workers: number;
  warmupMs: number;
  durationMs: number;
  op: (worker: number) => Promise<OpOutcome>;
  /** Called at the start and end of the measured window (e.g. to read CPU time). */
  onWindow?: (edge: 'start' | 'end') => Promise<void> | void;
}

export async function closedLoop(opts: ClosedLoopOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let completed = 0;
  let rejected = 0;
  let measuring = false;
  let stopping = false;
  let failure: unknown;
  const loops = Array.from({ length: opts.workers }, async (_, worker) => {
    while (!stopping && failure === undefined) {
      const t0 = performance.now();
      let outcome: OpOutcome;
      try {
        outcome = await opts.op(worker);
      } catch (e) {
        failure ??= e;
        return;
      }
      if (measuring && !stopping) {
        latencies.push(performance.now() - t0);
        completed++;
        if (outcome === 'rejected') rejected++;
      }
    }
  });
  await sleep(opts.warmupMs);
  await opts.onWindow?.('start');
  const start = performance.now();
  measuring = true;
  await sleep(opts.durationMs);
  const seconds = (performance.now() - start) / 1000;
  stopping = true;
  await opts.onWindow?.('end');
  await Promise.all(loops);
  if (failure !== undefined) throw failure;
  return { completed, rejected, seconds, perSecond: completed / seconds, latencyMs: summarise(latencies) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
