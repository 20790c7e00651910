// Open-loop pacing: call `fire(k)` for k = 1, 2, … at `perSecond`, whatever the replies do,
// catching up in small bursts when a timer fires late.
import { performance } from 'node:perf_hooks';
import { sleep } from './load';

export async function paced(perSecond: number, durationMs: number, fire: (k: number) => void): Promise<number> {
  const start = performance.now();
  let k = 0;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) return k;
    const due = Math.floor((elapsed * perSecond) / 1000);
    while (k < due) fire(++k);
    await sleep(1);
  }
}
