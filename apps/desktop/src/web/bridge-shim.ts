// Browser side of web mode: provides window.autopilot over the loopback WebSocket, with the same
// contract and the same validation as the Electron preload. The session token arrives in the URL
// fragment (never sent to a server), is kept in sessionStorage for reloads and removed from the URL.
import { StatePush, WireFromCore, parseResult, type AutopilotBridge, type CallName, type Result } from '../shared/contract';

const TOKEN_KEY = 'autopilot.bridgeToken';

function takeToken(): string {
  const match = /(?:^#|&)token=([0-9a-f]{16,128})/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, match[1]!);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return match[1]!;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function createWebBridge(): AutopilotBridge {
  const token = takeToken();
  const listeners = new Set<(push: StatePush) => void>();
  const pending = new Map<number, { name: CallName; resolve: (result: Result<unknown>) => void }>();
  const queue: string[] = [];
  let socket: WebSocket | undefined;
  let nextId = 1;
  let retryMs = 250;

  const connect = () => {
    const ws = new WebSocket(`${window.location.origin.replace(/^http/, 'ws')}/bridge`, ['autopilot-bridge', `token.${token}`]);
    socket = ws;
    ws.onopen = () => {
      retryMs = 250;
      for (const frame of queue.splice(0)) ws.send(frame);
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = WireFromCore.parse(JSON.parse(String(event.data)));
      } catch {
        return; // not ours: ignore
      }
      if (message.type === 'result') {
        const waiting = pending.get(message.id);
        if (!waiting) return;
        pending.delete(message.id);
        waiting.resolve(parseResult(waiting.name, message.result));
      } else {
        const push = StatePush.safeParse(message.push);
        if (push.success) for (const listener of listeners) listener(push.data);
      }
    };
    ws.onclose = () => {
      socket = undefined;
      for (const [id, waiting] of pending) {
        pending.delete(id);
        waiting.resolve({ ok: false, code: 'internal', message: 'the app core went away; retrying' });
      }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connect();

  return {
    call(name, params) {
      const id = nextId++;
      const frame = JSON.stringify({ id, call: name, params });
      return new Promise((resolve) => {
        pending.set(id, { name, resolve: resolve as (result: Result<unknown>) => void });
        if (socket?.readyState === WebSocket.OPEN) socket.send(frame);
        else queue.push(frame);
      });
    },
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

if (!('autopilot' in window)) {
  Object.defineProperty(window, 'autopilot', { value: Object.freeze(createWebBridge()), writable: false, configurable: false });
}
