// End-to-end message latency between two world clients (two autopilot nodes' worth of stack:
// outbox → reducer → host commit → subscription update → ordered delivery to the listener).
// One message in flight at a time; both clients live in this process, so one clock times both ends.
//   node --import tsx packages/world-client/bench/latency.ts [--messages 500] [--compression gzip|none]
import { parseArgs } from 'node:util';
import { percentile } from '../src/index';
import { startTestWorld } from '../test/support/world';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '500' }, compression: { type: 'string', default: 'gzip' } } });
const count = Number(values.messages);
const compression = values.compression === 'none' ? 'none' : 'gzip';

const world = await startTestWorld();
try {
  const a = world.client({ name: 'bench-a', compression, autoAckSeen: false });
  const b = world.client({ name: 'bench-b', compression, autoAckSeen: false });
  for (const { client } of [a, b]) {
    await client.start();
    const connected = await client.whenConnected(15_000);
    if (!connected.ok) throw new Error(connected.message);
  }
  const opened = await a.client.openChannel({ name: 'bench', kind: 'direct', participants: [b.client.identity!] });
  if (!opened.ok || !opened.channelId) throw new Error('open_channel failed');
  const channelId = opened.channelId;

  let arrived: ((at: number) => void) | undefined;
  b.client.onMessage(() => arrived?.(performance.now()));
  const samples: number[] = [];
  const warmup = Math.min(20, Math.floor(count / 10));
  for (let i = 0; i < count + warmup; i++) {
    const received = new Promise<number>((resolve) => (arrived = resolve));
    const sentAt = performance.now();
    void a.client.publishMessage({ channelId, payload: `latency ${i}` });
    const at = await received;
    if (i >= warmup) samples.push(at - sentAt);
  }
  samples.sort((x, y) => x - y);
  const result = {
    bench: 'message-latency',
    messages: samples.length,
    compression,
    p50_ms: round(percentile(samples, 0.5)!),
    p99_ms: round(percentile(samples, 0.99)!),
    max_ms: round(samples[samples.length - 1]!),
    mean_ms: round(samples.reduce((sum, x) => sum + x, 0) / samples.length),
  };
  console.log(JSON.stringify(result));
} finally {
  await world.close();
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
