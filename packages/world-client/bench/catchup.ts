// Catch-up after a reconnect: a node is away while N messages are written to its channel; then it
// comes back (a new process with the same identity) and resumes from its transport checkpoint.
// Measured: from start() to the N-th missed message handed to the listener (connect, token,
// subscription snapshot, store rebuild, ordered delivery), and its throughput.
//   node --import tsx packages/world-client/bench/catchup.ts [--missed 10000] [--compression gzip|none]
import { parseArgs } from 'node:util';
import { startTestWorld, until } from '../test/support/world';

const { values } = parseArgs({ options: { missed: { type: 'string', default: '10000' }, compression: { type: 'string', default: 'gzip' } } });
const missed = Number(values.missed);
const compression = values.compression === 'none' ? 'none' : 'gzip';

const world = await startTestWorld();
try {
  // The writer does not subscribe to messages, so seeding costs only the writes themselves.
  const writer = world.client({ name: 'writer', features: ['presence'], compression });
  const reader = world.client({ name: 'reader', compression });
  for (const { client } of [writer, reader]) {
    await client.start();
    const connected = await client.whenConnected(15_000);
    if (!connected.ok) throw new Error(connected.message);
  }
  const opened = await writer.client.openChannel({ name: 'catchup', kind: 'direct', participants: [reader.client.identity!] });
  if (!opened.ok) throw new Error(opened.message);
  const channelId = await (async () => {
    await until(() => Object.keys(reader.client.stores.channels.getState().mine).length === 1, 'reader sees the channel');
    return Object.keys(reader.client.stores.channels.getState().mine)[0]!;
  })();
  await writer.client.publishMessage({ channelId, payload: 'seen before leaving' });
  await until(() => reader.client.stores.channels.getState().checkpoints[channelId]?.lastSeenSeq === 1, 'reader checkpoint at 1');
  await reader.client.stop();

  const seedStarted = performance.now();
  const writes = [];
  for (let i = 0; i < missed; i++) writes.push(writer.client.publishMessage({ channelId, payload: `missed ${i}` }, { wait: 'queued' }));
  await Promise.all(writes);
  await writer.client.outbox.drained();
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const back = world.client({ identity: reader.identity, name: 'reader', compression, autoAckSeen: false });
  let delivered = 0;
  let firstAt = 0;
  let lastAt = 0;
  back.client.onMessage(() => {
    delivered += 1;
    if (delivered === 1) firstAt = performance.now();
    lastAt = performance.now();
  });
  const started = performance.now();
  await back.client.start();
  await until(() => delivered >= missed, 'caught up', 600_000);
  const history = back.client.stores.messages.getState().byChannel[channelId]!;
  if (history.length !== missed + 1 || delivered !== missed) throw new Error(`expected ${missed} missed of ${missed + 1}, got ${delivered} of ${history.length}`);
  console.log(
    JSON.stringify({
      bench: 'reconnect-catch-up',
      missed,
      compression,
      catch_up_ms: Math.round(lastAt - started),
      first_message_ms: Math.round(firstAt - started),
      delivery_ms: Math.round(lastAt - firstAt),
      messages_per_s: Math.round(missed / ((lastAt - started) / 1000)),
      seed_s: Math.round(seedSeconds * 10) / 10,
    }),
  );
} finally {
  await world.close();
}
