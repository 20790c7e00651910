// The SDK socket factory: frames reach the SDK in arrival order even when a gzip frame (inflated
// asynchronously) is followed by small plain ones; the short-lived token's expiry is reported.
import { describe, expect, it } from 'vitest';
import { createSocketFactory, type WebSocketLike } from '../../src/index';
import { jwtExpiry } from '../../src/core/ws';

/** An in-memory socket: the test plays the server by calling `receive`. */
class ScriptedSocket implements WebSocketLike {
  static last: ScriptedSocket | undefined;
  binaryType = 'blob';
  readonly protocol = 'v2.bsatn.spacetimedb';
  readyState = 1;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    ScriptedSocket.last = this;
  }
  send(): void {}
  close(): void {
    this.closed = true;
  }
  receive(frame: Uint8Array): void {
    this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
  }
}

async function gzipFrame(payload: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([payload as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  const zipped = new Uint8Array(await new Response(stream).arrayBuffer());
  return Uint8Array.of(2, ...zipped);
}

const args = { url: new URL('ws://127.0.0.1:1'), wsProtocol: ['v2.bsatn.spacetimedb'], nameOrAddress: 'world', compression: 'gzip' as const, lightMode: false };
const noFetch = async () => {
  throw new Error('no token exchange expected');
};

describe('createSocketFactory', () => {
  it('hands frames over in arrival order across asynchronous gzip inflation', async () => {
    const factory = createSocketFactory({ WebSocket: ScriptedSocket, fetch: noFetch });
    const socket = await factory(args);
    const raw = ScriptedSocket.last!;
    expect(raw.binaryType).toBe('arraybuffer');
    expect(raw.url).toBe('ws://127.0.0.1:1/v1/database/world/subscribe?compression=Gzip');
    const seen: string[] = [];
    socket.onmessage = ({ data }) => seen.push(new TextDecoder().decode(data).slice(0, 5));
    const big = new TextEncoder().encode(`first${'x'.repeat(2_000_000)}`);
    raw.receive(await gzipFrame(big));
    raw.receive(Uint8Array.of(0, ...new TextEncoder().encode('secnd')));
    raw.receive(await gzipFrame(new TextEncoder().encode('third')));
    raw.receive(Uint8Array.of(0, ...new TextEncoder().encode('forth')));
    // However long inflating 2 MB takes on this machine: wait for all four, then check the order.
    while (seen.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual(['first', 'secnd', 'third', 'forth']);
  });

  it('closes the socket on a frame it cannot read (unknown compression or a broken gzip)', async () => {
    const factory = createSocketFactory({ WebSocket: ScriptedSocket, fetch: noFetch });
    await factory(args);
    ScriptedSocket.last!.receive(Uint8Array.of(1, 1, 2, 3));
    expect(ScriptedSocket.last!.closed).toBe(true);
    await factory(args);
    ScriptedSocket.last!.receive(Uint8Array.of(2, 9, 9, 9));
    // The broken gzip is found asynchronously; the test's timeout bounds the wait.
    while (!ScriptedSocket.last!.closed) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ScriptedSocket.last!.closed).toBe(true);
  });

  it('trades the token for a short-lived one and reports when that one expires', async () => {
    const exp = 2_000_000_000;
    const shortLived = `x.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.y`;
    const calls: string[] = [];
    let reported: number | undefined;
    const factory = createSocketFactory({
      WebSocket: ScriptedSocket,
      fetch: async (url, init) => {
        calls.push(`${init?.method} ${url} ${init?.headers?.Authorization?.slice(0, 7)}`);
        return new Response(JSON.stringify({ token: shortLived }));
      },
      onShortLivedToken: (at) => (reported = at),
    });
    await factory({ ...args, authToken: 'long.lived.token', compression: 'none' });
    expect(calls).toEqual(['POST http://127.0.0.1:1/v1/identity/websocket-token Bearer ']);
    expect(ScriptedSocket.last!.url).toBe(`ws://127.0.0.1:1/v1/database/world/subscribe?token=${shortLived}&compression=None`);
    expect(reported).toBe(exp * 1000);
    expect(jwtExpiry('not-a-jwt')).toBeUndefined();
  });
});
