// Live-editor throughput: replays real keystroke traces (automerge-paper, seph-blog1, clownschool;
// CC BY 4.0, see README) through client A's FileSession — the edit pipeline the editor uses, with
// its coalescing — into the real world, with client B subscribed through its own FileSession.
// Prints the time until B holds the trace's final text (asserted equal), edits/s, batches and
// their round trips, peak memory of host and clients, and Yjs applying the same trace locally in
// the same run, with the ratio. Machinery in editor-trace-run.ts.
//   pnpm --filter @autopilot/bench run editor-trace [--quick] [--prefix N] [--traces a,b] [--profile]
import { resolve } from 'node:path';
import { parseFlags, positive } from './lib/args';
import { machineLine } from './lib/machine';
import { fmt, table } from './lib/stats';
import { DEFAULT_TRACES_DIR, loadTrace, runLatency, runWorld, runYjs, warmUpPipeline } from './editor-trace-run';

const USAGE = `usage: editor-trace [--quick] [--prefix N] [--traces automerge-paper,seph-blog1,clownschool_flat] [--traces-dir DIR] [--coalesce-ms MS] [--no-verify] [--profile]
  --quick       only the first --prefix patches of each trace (default 20000): a smoke check
  --traces-dir  where the traces are (default ../shared/data/editing-traces from the repo root)
  --coalesce-ms how long A's session gathers keystrokes before sending a batch (default 16, a frame)
  --no-verify   sessions skip checking each op's after_hash (to see what verification costs)
  --profile     CPU-profile the client process and the host during the first trace; prints the top functions
  --paced N     also type the first N patches of the first trace at one per --interval-ms (default 25)
                and report keystroke-to-B latency (default N: 400, --quick 100; 0 skips it)`;

const flags = parseFlags(
  {
    quick: { type: 'boolean' },
    prefix: { type: 'string' },
    traces: { type: 'string' },
    'traces-dir': { type: 'string' },
    'coalesce-ms': { type: 'string' },
    'no-verify': { type: 'boolean' },
    profile: { type: 'boolean' },
    paced: { type: 'string' },
    'interval-ms': { type: 'string' },
  },
  USAGE,
);
const TRACES_DIR = flags['traces-dir'] ? resolve(flags['traces-dir'] as string) : DEFAULT_TRACES_DIR;
const TRACES = ((flags.traces as string | undefined) ?? 'automerge-paper,seph-blog1,clownschool_flat').split(',');
const quick = flags.quick === true;
const prefix = quick ? positive(flags.prefix as string | undefined, 'prefix', 20_000) : Infinity;
const coalesceMs = positive(flags['coalesce-ms'] as string | undefined, 'coalesce-ms', 16);
const verifyHashes = flags['no-verify'] !== true;
const pacedKeys = flags.paced === '0' ? 0 : positive(flags.paced as string | undefined, 'paced', quick ? 100 : 400);
const intervalMs = positive(flags['interval-ms'] as string | undefined, 'interval-ms', 25);

async function main(): Promise<void> {
  process.stdout.write(`editor-trace ${quick ? `(quick: first ${prefix} patches)` : '(whole traces)'}, coalesce ${coalesceMs} ms, hash checks ${verifyHashes ? 'on' : 'off'}\n${machineLine()}\n`);
  const rows: string[][] = [];
  let first = true;
  for (const name of TRACES) {
    const trace = loadTrace(TRACES_DIR, name, prefix);
    const yjs = runYjs(trace);
    // Both sides measured warm: Yjs after an untimed run, the pipeline after one without the world.
    warmUpPipeline(trace);
    const world = await runWorld(trace, { coalesceMs, verifyHashes, profile: flags.profile === true && first });
    first = false;
    rows.push([
      name,
      fmt(trace.patches, 0),
      fmt(trace.expected.length, 0),
      fmt(world.totalMs, 0),
      fmt(world.replayMs, 0),
      fmt(world.editCallMs, 0),
      fmt((trace.patches / world.totalMs) * 1000, 0),
      fmt(world.batches, 0),
      fmt(trace.patches / Math.max(1, world.batches), 1),
      `${fmt(world.roundTripP50, 0)} / ${fmt(world.roundTripMax, 0)}`,
      fmt(world.hostCpuMs, 0),
      fmt(world.hostMaxRssMiB, 0),
      `${fmt(world.clientMaxRssMiB, 0)} / ${fmt(world.clientPeakHeapMiB, 0)}`,
      fmt(yjs.ms, 0),
      `${fmt(world.totalMs / yjs.ms, 2)}×`,
    ]);
    if (world.conflicts > 0) throw new Error(`${name}: ${world.conflicts} conflicts with a single writer`);
    process.stdout.write(`${name}: B holds the final text (${trace.expected.length} chars, equal) after ${fmt(world.totalMs, 0)} ms; Yjs local ${fmt(yjs.ms, 0)} ms\n`);
  }
  if (pacedKeys > 0) {
    const trace = loadTrace(TRACES_DIR, TRACES[0]!, pacedKeys);
    const paced = await runLatency(trace, { keystrokes: pacedKeys, intervalMs, coalesceMs });
    process.stdout.write(
      `paced typing (${TRACES[0]}, ${paced.keystrokes} keystrokes, one per ${intervalMs} ms): keystroke on A → held by B p50 ${fmt(paced.p50, 1)} ms, p95 ${fmt(paced.p95, 1)} ms, max ${fmt(paced.max, 1)} ms\n`,
    );
  }
  process.stdout.write(
    `\n${table(
      [
        'trace',
        'patches',
        'final chars',
        'A→world→B ms',
        'A replay ms',
        'A edit() ms',
        'edits/s',
        'batches',
        'patches/batch',
        'batch RTT p50 / max ms',
        'host CPU ms',
        'host peak RSS MiB',
        'clients peak RSS / heap MiB',
        'Yjs local ms',
        'ratio to Yjs',
      ],
      rows,
    )}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`editor-trace failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
