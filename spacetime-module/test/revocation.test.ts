// Revocation in the world through the real host, its HTTP API and the real SDK: control's service
// token (scope world:revoke) calls revoke_sessions over HTTP as control does; afterwards the
// revoked session's reducers refuse (session_revoked), its views are empty, my_session_status says
// revoked and a reconnect is refused, while another session of the same user carries on.
import { pino } from 'pino';
import { getPublicKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '@autopilot/spacetime-host';
import { parseWorldError } from '../src/errors';
import { MODULE_DIR } from '../scripts/bindings';
import * as bindings from '../../packages/world-client/src/module_bindings/index';
import { startIssuer, type TestIssuer } from './support/issuer';
import { refused, until } from './support/world';

type Connection = InstanceType<typeof bindings.DbConnection>;
const VIEWS = ['SELECT * FROM my_session_status', 'SELECT * FROM my_channels', 'SELECT * FROM my_sessions'];

describe('revoke_sessions', () => {
  let issuer: TestIssuer;
  let host: RunningHost;
  const open: Connection[] = [];
  const pubkey = getPublicKey(Uint8Array.from({ length: 32 }, (_, i) => 7 + i));

  const connect = (token: string): Promise<Connection> =>
    new Promise((resolve, reject) => {
      bindings.DbConnection.builder()
        .withUri(host.url.replace(/^http/, 'ws'))
        .withDatabaseName(host.name)
        .withToken(token)
        .onConnect((conn) => {
          open.push(conn);
          resolve(conn);
        })
        .onConnectError((_ctx, err) => reject(err))
        .build();
    });
  const subscribe = (conn: Connection): Promise<void> =>
    new Promise((resolve, reject) => {
      conn
        .subscriptionBuilder()
        .onApplied(() => resolve())
        .onError((ctx) => reject(ctx.event ?? new Error('subscription error')))
        .subscribe(VIEWS);
    });
  /** POST /v1/database/<db>/call/revoke_sessions, as control calls it. */
  const revokeOverHttp = async (
    token: string,
    args: { session_ids: string[]; pubkey: string; device_id: string; issued_before_micros: number },
  ) => {
    const response = await fetch(`${host.url}/v1/database/${host.name}/call/revoke_sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(args),
    });
    return { status: response.status, text: await response.text() };
  };
  const statusOf = (conn: Connection) => [...conn.db.mySessionStatus.iter()].map((row) => row.status);
  const publish = (conn: Connection, channelId: bigint, key: string) =>
    conn.reducers.publishMessage({ channelId, idempotencyKey: key, kind: '', contentType: '', payload: key, replyToSeq: 0n });

  beforeAll(async () => {
    issuer = await startIssuer();
    host = await startHost({
      module: MODULE_DIR,
      name: `revocation-${process.pid}`,
      port: 0,
      trustedIssuers: [issuer.issuer],
      logger: pino({ level: 'silent' }),
    });
    const admin = await connect(host.ownerToken!);
    await admin.reducers.configureWorld({
      trustedIssuers: [issuer.issuer],
      heartbeatIntervalMs: 0,
      presenceTtlMs: 0,
      presenceSweepMs: 0,
      checkpointEveryOps: 0,
      maxMessageBytes: 0,
      maxFileBytes: 0,
    });
  });
  afterAll(async () => {
    for (const conn of open) conn.disconnect();
    await host?.close();
    await issuer?.close();
  });

  it("cuts off one session and leaves the user's other session alone; a watermark cuts off every older token", async () => {
    const tokenA = await issuer.user(pubkey, 'session-a', { device: 'laptop' });
    const tokenB = await issuer.user(pubkey, 'session-b', { device: 'phone' });
    const [a, b] = await Promise.all([connect(tokenA), connect(tokenB)]);
    await a.reducers.joinWorld({ displayName: 'laptop', version: '1', region: '' });
    await b.reducers.joinWorld({ displayName: 'phone', version: '1', region: '' });
    await Promise.all([subscribe(a), subscribe(b)]);
    await a.reducers.openChannel({
      idempotencyKey: 'rv-1',
      workspaceId: 0n,
      name: 'general',
      topic: '',
      kind: '',
      isPrivate: false,
      mirrorToNostr: false,
      participants: [],
    });
    await until(() => a.db.myChannels.count() === 1n && b.db.myChannels.count() === 1n, 'both sessions see the channel');
    const channelId = [...a.db.myChannels.iter()][0]!.channelId;
    expect(statusOf(a)).toEqual(['active']);

    // Only control's service token (or an admin) may revoke: a user's own token is refused.
    const asUser = await revokeOverHttp(tokenB, { session_ids: ['session-a'], pubkey: '', device_id: '', issued_before_micros: 0 });
    expect(asUser.status).toBe(530);
    expect(parseWorldError(asUser.text).code).toBe('missing_scope');
    const wrongScope = await issuer.mint({ sub: 'control:k1', scopes: ['world:join'] });
    expect(
      parseWorldError(
        (await revokeOverHttp(wrongScope, { session_ids: ['session-a'], pubkey: '', device_id: '', issued_before_micros: 0 })).text,
      ).code,
    ).toBe('missing_scope');
    await refused(
      b.reducers.revokeSessions({ sessionIds: ['session-a'], pubkey: '', deviceId: '', issuedBeforeMicros: 0n }),
      'missing_scope',
      'revoke_sessions denied',
    );
    expect(statusOf(a)).toEqual(['active']);

    const service = await issuer.mint({ sub: 'control:k1', scopes: ['world:revoke'] });
    expect(await revokeOverHttp(service, { session_ids: ['session-a'], pubkey: '', device_id: '', issued_before_micros: 0 })).toEqual({
      status: 200,
      text: '',
    });

    await until(() => statusOf(a)[0] === 'revoked', 'session a learns it was revoked');
    await until(() => a.db.myChannels.count() === 0n && a.db.mySessions.count() === 0n, 'session a sees nothing');
    await refused(publish(a, channelId, 'rv-a-late'), 'session_revoked', 'publish_message denied: session session-a was revoked');
    await refused(a.reducers.heartbeat({ status: '' }), 'session_revoked', 'was revoked');

    // The other session carries on.
    expect(statusOf(b)).toEqual(['active']);
    expect(b.db.myChannels.count()).toBe(1n);
    await publish(b, channelId, 'rv-b-1');
    await until(
      () => [...b.db.mySessions.iter()].some((s) => s.sessionId === 'session-a' && s.status === 'revoked'),
      'session a marked revoked',
    );

    // Reconnecting with the revoked session's token is refused.
    await expect(connect(tokenA)).rejects.toBeTruthy();

    // A watermark: every token of this user issued before now is refused, a newer login is not.
    const nowMicros = Date.now() * 1000 + 1_000_000;
    expect((await revokeOverHttp(service, { session_ids: [], pubkey, device_id: '', issued_before_micros: nowMicros })).status).toBe(200);
    await until(() => statusOf(b)[0] === 'revoked', 'session b revoked by the watermark');
    await refused(publish(b, channelId, 'rv-b-2'), 'session_revoked', 'was revoked');
    const fresh = await connect(await issuer.user(pubkey, 'session-c', { iat: Math.ceil(nowMicros / 1_000_000) + 1 }));
    await subscribe(fresh);
    await until(() => statusOf(fresh)[0] === 'active' && fresh.db.myChannels.count() === 1n, 'a newer login sees its channels');
    await publish(fresh, channelId, 'rv-c-1');
  });
});
