// A bare `ws` client for the raw WebSocket baselines: request/response in order on one socket.
import WebSocket from 'ws';

export class EchoClient {
  private readonly pending: (() => void)[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', () => this.pending.shift()?.());
  }

  static open(wsUrl: string): Promise<EchoClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
      ws.once('open', () => resolve(new EchoClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Send one binary message and resolve when its echo comes back (echoes keep send order). */
  roundTrip(payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push(resolve);
      this.ws.send(payload, (err) => err && reject(err));
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
