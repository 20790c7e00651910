// Child-process entry for the raw WebSocket baselines on loopback (the ceiling for our host):
//   argv[2] = 'echo'      — every binary message goes back to its sender;
//   argv[2] = 'broadcast' — every message goes to every other connected client.
import { WebSocketServer, type WebSocket } from 'ws';
import type { ChildMessage, ParentMessage } from './host-protocol';

const mode = process.argv[2];
if (mode !== 'echo' && mode !== 'broadcast') {
  process.stderr.write(`echo-process: mode must be echo or broadcast, got ${String(mode)}\n`);
  process.exit(2);
}
const send = (m: ChildMessage) => process.send!(m);
const clients = new Set<WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  clients.add(ws);
  ws.on('close', () => clients.delete(ws));
  ws.on('message', (data, isBinary) => {
    if (mode === 'echo') return ws.send(data, { binary: isBinary });
    for (const other of clients) if (other !== ws) other.send(data, { binary: isBinary });
  });
});
wss.on('listening', () => {
  const addr = wss.address();
  if (!addr || typeof addr === 'string') throw new Error('expected a TCP address');
  send({
    type: 'ready',
    url: `http://127.0.0.1:${addr.port}`,
    startMs: 0,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    recovery: undefined,
  });
});
process.on('message', (raw) => {
  const m = raw as ParentMessage;
  if (m.type === 'cpu') {
    const u = process.cpuUsage();
    send({ type: 'cpu', id: m.id, userMicros: u.user, systemMicros: u.system, atNs: process.hrtime.bigint().toString() });
  } else if (m.type === 'close') {
    for (const c of clients) c.terminate();
    wss.close(() => {
      send({ type: 'ack', id: m.id });
      process.exit(0);
    });
  }
});
