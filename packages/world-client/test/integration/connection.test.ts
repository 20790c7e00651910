// The connection manager against the real host and the real control service, with a minimal
// connector (a bare SDK connection): states, the lost-connection signal, reconnect after the host
// comes back, make-before-break token swaps, and giving up for good reasons only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentity, generateMnemonic } from '@autopilot/nip06';
import {
  ConnectionManager,
  ControlTokenSource,
  createSocketFactory,
  LinkError,
  signerFromPrivateKey,
  type ConnectionState,
  type Connector,
  type TokenSource,
} from '../../src/index';
import { DbConnection } from '../../src/module_bindings/index';
import { NodeWebSocket, nodeFetch } from '../../src/node/index';
import { startTestWorld, until, type TestWorld } from '../support/world';

let world: TestWorld;
beforeAll(async () => {
  world = await startTestWorld();
});
afterAll(async () => {
  await world?.close();
});

interface BareLink {
  conn: DbConnection;
  identity: string;
}

function bareConnector(): Connector<BareLink> & { opened: number; probe(link: BareLink): Promise<void> } {
  const factory = createSocketFactory({ WebSocket: NodeWebSocket, fetch: nodeFetch });
  const connector = {
    opened: 0,
    open(token: { token: string }, events: { closed(reason: string): void }) {
      return new Promise<BareLink>((resolve, reject) => {
        DbConnection.builder()
          .withUri(world.wsUrl)
          .withDatabaseName(world.name)
          .withToken(token.token)
          .withWSFn(factory as never)
          .onConnect((conn, identity) => {
            connector.opened += 1;
            resolve({ conn, identity: identity.toHexString() });
          })
          .onConnectError((_ctx, error) => reject(new LinkError(/refused the token/.test(error.message) ? 'auth' : 'transient', error.message)))
          .onDisconnect((_ctx, error) => events.closed(error ? error.message : 'connection closed'))
          .build();
      });
    },
    close(link: BareLink) {
      link.conn.disconnect();
    },
    probe(link: BareLink) {
      // Any reducer answer proves the round trip; heartbeat without join answers "not joined".
      return link.conn.reducers.heartbeat({ status: 'online' }).catch(() => undefined);
    },
  };
  return connector;
}

function tokensFor(controlUrl: string, options: { refreshLeadMs?: number } = {}): ControlTokenSource {
  return new ControlTokenSource({
    controlUrl,
    signer: signerFromPrivateKey(deriveIdentity(generateMnemonic())),
    deviceId: 'conn-test',
    fetch: nodeFetch,
    ...options,
  });
}

function record(manager: ConnectionManager<BareLink>): ConnectionState[] {
  const states: ConnectionState[] = [];
  manager.onState((state) => states.push(state));
  return states;
}

describe('connection lifecycle', () => {
  it('connects, signals a lost world after lostAfterMs, reconnects when the host is back, and stops', async () => {
    const connector = bareConnector();
    const tokens = tokensFor(world.control.url);
    const manager = new ConnectionManager({ connector, tokens, lostAfterMs: 400, backoff: { initialMs: 50, maxMs: 200 } });
    const states = record(manager);
    const links: string[] = [];
    manager.onLink((_link, kind) => links.push(kind));

    manager.start();
    await until(() => manager.state.status === 'connected', 'connected');
    expect(manager.state).toMatchObject({ status: 'connected', reason: '', lost: false, attempt: 0, reconnects: 0, identity: tokens.current()!.pubkey });
    expect(states[0]).toMatchObject({ status: 'connecting', reason: 'starting' });

    await world.stopHost();
    await until(() => manager.state.status === 'reconnecting', 'reconnecting');
    expect(manager.state.lost).toBe(false);
    const droppedAt = Date.now();
    await until(() => manager.state.lost, 'lost signal', 3_000);
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(300);
    expect(manager.state.status).toBe('reconnecting');
    expect(manager.state.attempt).toBeGreaterThan(0);
    expect(manager.state.reason).toMatch(/fetch failed|connect|closed/);

    await world.restartHost();
    await until(() => manager.state.status === 'connected', 'connected again', 10_000);
    expect(manager.state).toMatchObject({ lost: false, attempt: 0, reconnects: 1 });
    expect(links).toEqual(['first', 'reconnect']);

    manager.stop();
    expect(manager.state).toMatchObject({ status: 'offline', reason: 'stopped' });
    expect(manager.link).toBeUndefined();
  });

  it('retries with growing jittered delays while the world is unreachable', async () => {
    const connector = bareConnector();
    // A clock that stands still: nextRetryAt - now is then exactly the delay the manager chose,
    // not that minus however long this machine took to get here.
    const now = Date.now();
    const manager = new ConnectionManager({
      connector,
      tokens: tokensFor(world.control.url),
      lostAfterMs: 5_000,
      backoff: { initialMs: 40, maxMs: 400, jitter: 0.5 },
      clock: { now: () => now },
    });
    await world.stopHost();
    try {
      const delays: number[] = [];
      manager.onState((state) => {
        if (state.nextRetryAt !== null && state.status === 'connecting') delays.push(state.nextRetryAt - now);
      });
      manager.start();
      await until(() => manager.state.attempt >= 5, 'five failed attempts', 8_000);
      manager.stop();
      // Attempt n waits between half and all of min(400, 40 * 2^n) ms.
      const ceilings = [40, 80, 160, 320, 400];
      delays.slice(0, 5).forEach((delay, n) => {
        expect(delay).toBeLessThanOrEqual(ceilings[n]!);
        expect(delay).toBeGreaterThanOrEqual(ceilings[n]! / 2);
      });
    } finally {
      await world.restartHost();
    }
  });

  it('swaps to a refreshed token before expiry on a new link, closing the old one, without leaving connected', async () => {
    const connector = bareConnector();
    // refreshLeadMs just under the 900 s lifetime: the first swap is due ~300 ms after login.
    const tokens = tokensFor(world.control.url, { refreshLeadMs: 899_700 });
    const manager = new ConnectionManager({ connector, tokens, lostAfterMs: 2_000 });
    const states = record(manager);
    const closedLinks: BareLink[] = [];
    manager.onLinkDown((link) => closedLinks.push(link));
    manager.start();
    await until(() => manager.state.status === 'connected', 'connected');
    const first = manager.link!;
    const firstToken = tokens.current()!.token;

    const firstSession = tokens.current()!.sessionId;
    await until(() => manager.state.tokenSwaps >= 1, 'one token swap', 30_000);
    expect(manager.link).not.toBe(first);
    expect(manager.link!.identity).toBe(first.identity);
    await until(() => !first.conn.isActive, 'the old link closed');
    expect(tokens.current()!.token).not.toBe(firstToken);
    expect(tokens.current()!.sessionId).toBe(firstSession);
    manager.stop();
    const afterConnect = states.slice(states.findIndex((s) => s.status === 'connected'));
    expect(afterConnect.filter((s) => s.status !== 'connected' && s.reason !== 'stopped')).toEqual([]);
    expect(closedLinks).toEqual([]);
  });

  it("swaps the link before the server's own connection token runs out, reusing a control token that is still fresh", async () => {
    const base = bareConnector();
    const opened: number[] = [];
    const firstActiveAtSwap: boolean[] = [];
    const links: BareLink[] = [];
    const expiring: Connector<BareLink & { expiresAtMs: number }> = {
      open: async (token, events) => {
        const link = await base.open(token, events);
        // Was the previous link still open when this one came up (make before break)?
        if (links.length > 0) firstActiveAtSwap.push(links[0]!.conn.isActive);
        links.push(link);
        opened.push(Date.now());
        return { ...link, expiresAtMs: Date.now() + 1_500 };
      },
      close: (link) => base.close(link),
      expiresAtMs: (link) => link.expiresAtMs,
    };
    const tokens = tokensFor(world.control.url);
    const manager = new ConnectionManager({ connector: expiring, tokens });
    manager.start();
    await until(() => manager.state.tokenSwaps >= 1, 'swapped before the link expired', 30_000);
    // Swapped while the first link was still up, and not at once (a slow machine only delays it).
    expect(firstActiveAtSwap[0]).toBe(true);
    expect(opened[1]! - opened[0]!).toBeGreaterThanOrEqual(400);
    const firstToken = tokens.current();
    manager.stop();
    expect(tokens.current()).toBe(firstToken);
  });

  it('drops a link that stops answering probes for lostAfterMs, and reconnects', async () => {
    const base = bareConnector();
    let silent = false;
    const connector: Connector<BareLink> = {
      open: (token, events) => base.open(token, events),
      close: (link) => base.close(link),
      // A link that went quiet: the probe never comes back.
      probe: (link) => (silent ? new Promise<void>(() => undefined) : base.probe(link)),
    };
    const manager = new ConnectionManager({ connector, tokens: tokensFor(world.control.url), lostAfterMs: 300, probeIntervalMs: 100 });
    const rtts: number[] = [];
    manager.onRoundTrip((ms) => rtts.push(ms));
    const reasons: string[] = [];
    manager.onLinkDown((_link, reason) => reasons.push(reason));
    manager.start();
    await until(() => rtts.length >= 2, 'two answered probes');
    expect(rtts.every((ms) => ms >= 0 && ms < 300)).toBe(true);
    silent = true;
    await until(() => manager.state.reconnects === 1, 'reconnected after the silence', 5_000);
    silent = false;
    manager.stop();
    expect(reasons[0]).toBe('no answer from the world for 300 ms');
  });

  it('waits without retrying while the network is down, and connects at once when it is back', async () => {
    const connector = bareConnector();
    const manager = new ConnectionManager({ connector, tokens: tokensFor(world.control.url), backoff: { initialMs: 20, maxMs: 50 } });
    manager.start();
    await until(() => manager.state.status === 'connected', 'connected');
    const first = manager.link!;
    manager.setNetworkAvailable(false);
    expect(manager.state).toMatchObject({ status: 'offline', reason: 'network unavailable' });
    expect(manager.link).toBeUndefined();
    await until(() => !first.conn.isActive, 'the link closed');
    const opened = connector.opened;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connector.opened).toBe(opened);
    manager.setNetworkAvailable(true);
    await until(() => manager.state.status === 'connected', 'connected again');
    expect(manager.state.reconnects).toBe(1);
    manager.stop();
  });

  it('gets a fresh token when the world refuses the current one, and gives up when control refuses the login', async () => {
    const connector = bareConnector();
    const real = tokensFor(world.control.url);
    await real.token();
    let refreshed = 0;
    // A source whose first answer is a token the world cannot verify; refresh() gives a real one.
    const flaky: TokenSource = {
      current: () => real.current(),
      token: async () => ({ ok: true, token: { ...real.current()!, token: `${real.current()!.token.slice(0, -4)}AAAA` } }),
      refresh: async () => {
        refreshed += 1;
        return real.refresh();
      },
      refreshAt: (token) => real.refreshAt(token),
    };
    const manager = new ConnectionManager({ connector, tokens: flaky, backoff: { initialMs: 20, maxMs: 50 } });
    manager.start();
    await until(() => manager.state.status === 'connected', 'connected with a refreshed token');
    expect(refreshed).toBe(1);
    manager.stop();

    const strict = await startTestWorld({ control: { allowedPubkeys: [deriveIdentity(generateMnemonic()).publicKeyHex] } });
    try {
      const refusing = new ConnectionManager({ connector: bareConnector(), tokens: tokensFor(strict.control.url) });
      refusing.start();
      await until(() => refusing.state.status === 'offline', 'gave up');
      expect(refusing.state.reason).toMatch(/pubkey_not_allowed/);
    } finally {
      await strict.close();
    }
  });
});
