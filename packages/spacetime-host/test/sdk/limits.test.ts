// Documented limits give clear errors, never crashes or silent drops: row changes per
// transaction, connections per host, and the outgoing backlog of a subscriber that stops reading.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DbConnection as RunawayConnection } from '../fixtures/runaway/module_bindings/index';
import { DbConnection as ChatConnection } from '../fixtures/chat/module_bindings/index';
import { encodeClientMessage } from '../../src/server/wire';
import type { RunningHost } from '../../src/index';
import { connectSdk, fixture, until, withHost } from './helpers';

const hosts: RunningHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

async function host(module: string, extra: Parameters<typeof withHost>[0] extends infer O ? Partial<O> : never): Promise<RunningHost> {
  const h = await withHost({ module: fixture(module), name: module, ...extra });
  hosts.push(h);
  return h;
}

async function connectWith<C>(Conn: Parameters<typeof connectSdk<C>>[0], h: RunningHost, name: string): Promise<C> {
  return (await connectSdk(Conn, h.url, name)).conn;
}

describe('limits', () => {
  it('fails a transaction past the row-change limit with a message that says so', async () => {
    const h = await host('runaway', { maxRowChangesPerTx: 10 });
    const c = await connectWith<RunawayConnection>(RunawayConnection, h, 'runaway');
    await expect(c.reducers.addThenSpin({ id: 1 })).rejects.toThrow(/limit of 10 row changes/);
    expect(h.module.datastore.tableByName('item')!.rows.size).toBe(0);
    await c.reducers.add({ id: 1, label: 'fine' });
    c.disconnect();
  });

  it('refuses connections past the limit with HTTP 503', async () => {
    const h = await host('chat', { limits: { maxConnections: 2 } });
    const a = await connectWith<ChatConnection>(ChatConnection, h, 'chat');
    const b = await connectWith<ChatConnection>(ChatConnection, h, 'chat');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/v1/database/chat/subscribe`, ['v3.bsatn.spacetimedb']);
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.once('open', () => resolve(101));
    });
    expect(status).toBe(503);
    a.disconnect();
    b.disconnect();
  });

  it('disconnects a subscriber that stops reading, without slowing the writer', async () => {
    const h = await host('chat', { limits: { maxSocketBacklogBytes: 256 * 1024 } });
    const slow = new WebSocket(`${h.url.replace('http', 'ws')}/v1/database/chat/subscribe?compression=None`, ['v3.bsatn.spacetimedb']);
    await new Promise((r) => slow.once('message', r)); // InitialConnection
    slow.send(encodeClientMessage({ tag: 'Subscribe', value: { requestId: 1, querySetId: { id: 1 }, queryStrings: ['SELECT * FROM message'] } }));
    await new Promise((r) => slow.once('message', r)); // SubscribeApplied
    // Stop reading: the kernel buffers fill, then the host's send backlog grows.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const writer = await connectWith<ChatConnection>(ChatConnection, h, 'chat');
    const text = 'x'.repeat(64 * 1024);
    // 80 messages of 64 KiB (5 MiB) exceed the send backlog limit, so the host must drop the reader.
    for (let i = 0; i < 80 && h.module.connectedClients().length > 1; i++) await writer.reducers.sendMessage({ text: `${i}${text}` });
    await until(() => h.module.connectedClients().length === 1, 'the slow subscriber is dropped');
    await writer.reducers.sendMessage({ text: 'still fine' });
    writer.disconnect();
    slow.terminate();
  });
});
