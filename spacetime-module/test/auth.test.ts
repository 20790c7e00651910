// Authorization through the real host and SDK: the world trusts only the configured control
// issuer, every reducer checks its scope claim, admin reducers check the admin table, and every
// denial is a SenderError that writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModuleCatalog } from '@autopilot/spacetime-host';
import { MODULE_DIR } from '../scripts/bindings';
import { formatWorldError } from '../src/errors';
import { stateHash } from './support/state';
import { ALL_SCOPES, startWorld, subscribe, until, type World, type WorldNode, refused } from './support/world';

describe('an unconfigured world', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ configure: false });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('refuses joins until the admin names a trusted control issuer', async () => {
    const { token } = await world.login();
    const node = await world.connect(token);
    await refused(node.conn.reducers.joinWorld({ displayName: 'n', version: '1', region: '' }), 'not_configured', 'join_world denied: world not configured: no trusted control issuer');
    const configure = {
      trustedIssuers: [world.control.issuer],
      heartbeatIntervalMs: 0,
      presenceTtlMs: 0,
      presenceSweepMs: 0,
      checkpointEveryOps: 0,
      maxMessageBytes: 0,
      maxFileBytes: 0,
    };
    // A node with every scope is still not an admin.
    await refused(node.conn.reducers.configureWorld(configure), 'not_admin', 'configure_world denied: only a world admin may do this');
    await refused(world.admin.conn.reducers.configureWorld({ ...configure, trustedIssuers: [] }), 'invalid_argument', 'at least one control issuer');
    await refused(world.admin.conn.reducers.configureWorld({ ...configure, trustedIssuers: ['not a url'] }), 'invalid_argument', 'must be an http(s) URL');
    await refused(world.admin.conn.reducers.configureWorld({ ...configure, heartbeatIntervalMs: 30_000, presenceTtlMs: 20_000 }), 'invalid_argument', 'presence_ttl_ms must be longer than heartbeat_interval_ms');
    await world.admin.conn.reducers.configureWorld(configure);
    await node.conn.reducers.joinWorld({ displayName: 'n', version: '1', region: '' });
    await subscribe(node.conn, ['SELECT * FROM world_settings', 'SELECT * FROM autopilot_node']);
    const settings = [...node.conn.db.worldSettings.iter()][0]!;
    expect(settings).toMatchObject({ configured: true, trustedIssuers: [world.control.issuer], heartbeatIntervalMs: 15_000, presenceTtlMs: 30_000 });
    expect([...node.conn.db.autopilotNode.iter()].map((n) => n.status)).toEqual(['online']);
  });

  it('lets only admins manage admins, and never removes the last one', async () => {
    const { token } = await world.login();
    const node = await world.connect(token);
    await refused(node.conn.reducers.addWorldAdmin({ admin: node.identity }), 'not_admin', 'add_world_admin denied');
    await refused(world.admin.conn.reducers.removeWorldAdmin({ admin: world.admin.identity }), 'invalid_state', 'the last admin cannot be removed');
    await world.admin.conn.reducers.addWorldAdmin({ admin: node.identity });
    await node.conn.reducers.removeWorldAdmin({ admin: world.admin.identity });
    await refused(world.admin.conn.reducers.addWorldAdmin({ admin: world.admin.identity }), 'not_admin', 'only a world admin');
  });
});

type Call = (node: WorldNode) => Promise<void>;

describe('denial of every reducer without the right claim', () => {
  let world: World;
  let owner: WorldNode;
  let workspaceId: bigint;
  let channelId: bigint;
  const nodesWithout = new Map<string, WorldNode>();

  beforeAll(async () => {
    world = await startWorld();
    owner = await world.node({ name: 'owner' });
    await owner.conn.reducers.createWorkspace({ slug: 'denials', name: 'Denials' });
    await subscribe(owner.conn, ['SELECT * FROM workspace', 'SELECT * FROM my_channels']);
    await owner.conn.reducers.openChannel({
      idempotencyKey: 'open-1',
      workspaceId: 0n,
      name: 'general',
      topic: '',
      kind: '',
      isPrivate: false,
      mirrorToNostr: false,
      participants: [],
    });
    await until(() => owner.conn.db.myChannels.count() === 1n, 'channel');
    workspaceId = [...owner.conn.db.workspace.iter()][0]!.workspaceId;
    channelId = [...owner.conn.db.myChannels.iter()][0]!.channelId;
    for (const scope of ALL_SCOPES) {
      const scopes = ALL_SCOPES.filter((s) => s !== scope);
      nodesWithout.set(scope, await world.node({ scopes, join: scope !== 'world:join', name: `without ${scope}` }));
    }
  });
  afterAll(async () => {
    await world?.close();
  });

  const cases: Record<string, { scope: (typeof ALL_SCOPES)[number]; call: Call }> = {
    join_world: { scope: 'world:join', call: (n) => n.conn.reducers.joinWorld({ displayName: 'x', version: '1', region: '' }) },
    heartbeat: { scope: 'world:join', call: (n) => n.conn.reducers.heartbeat({ status: '' }) },
    leave_world: { scope: 'world:join', call: (n) => n.conn.reducers.leaveWorld({}) },
    request_peer_link: { scope: 'world:join', call: (n) => n.conn.reducers.requestPeerLink({ peer: owner.identity, kind: 'direct' }) },
    accept_peer_link: { scope: 'world:join', call: (n) => n.conn.reducers.acceptPeerLink({ linkId: 1n }) },
    close_peer_link: { scope: 'world:join', call: (n) => n.conn.reducers.closePeerLink({ linkId: 1n }) },
    create_workspace: { scope: 'world:join', call: (n) => n.conn.reducers.createWorkspace({ slug: 'other', name: 'Other' }) },
    invite_member: {
      scope: 'world:join',
      call: (n) => n.conn.reducers.inviteMember({ workspaceId, member: owner.identity, role: 'editor', capabilities: [] }),
    },
    remove_member: { scope: 'world:join', call: (n) => n.conn.reducers.removeMember({ workspaceId, member: owner.identity }) },
    leave_workspace: { scope: 'world:join', call: (n) => n.conn.reducers.leaveWorkspace({ workspaceId }) },
    leave_channel: { scope: 'world:join', call: (n) => n.conn.reducers.leaveChannel({ channelId }) },
    ack_message: { scope: 'world:join', call: (n) => n.conn.reducers.ackMessage({ channelId, seenSeq: 0n, ackedSeq: 0n }) },
    publish_presence: {
      scope: 'world:join',
      call: (n) =>
        n.conn.reducers.publishPresence({ workspaceId, fileId: 0n, kind: 'typing', anchorLine: 0, anchorCol: 0, headLine: 0, headCol: 0 }),
    },
    open_channel: {
      scope: 'comms:write',
      call: (n) =>
        n.conn.reducers.openChannel({
          idempotencyKey: 'denied-open',
          workspaceId: 0n,
          name: 'n',
          topic: '',
          kind: '',
          isPrivate: false,
          mirrorToNostr: false,
          participants: [],
        }),
    },
    join_channel: { scope: 'comms:write', call: (n) => n.conn.reducers.joinChannel({ channelId }) },
    add_channel_participant: { scope: 'comms:write', call: (n) => n.conn.reducers.addChannelParticipant({ channelId, participant: owner.identity }) },
    close_channel: { scope: 'comms:write', call: (n) => n.conn.reducers.closeChannel({ channelId }) },
    publish_message: {
      scope: 'comms:write',
      call: (n) => n.conn.reducers.publishMessage({ channelId, idempotencyKey: 'denied-msg', kind: '', contentType: '', payload: 'x', replyToSeq: 0n }),
    },
    advertise_capabilities: {
      scope: 'compute:provide',
      call: (n) =>
        n.conn.reducers.advertiseCapabilities({
          workspaceId: 0n,
          tools: [],
          models: [],
          computeClasses: ['cpu'],
          maxConcurrency: 1,
          priceHints: '',
          constraints: '',
          region: '',
        }),
    },
    withdraw_capabilities: { scope: 'compute:provide', call: (n) => n.conn.reducers.withdrawCapabilities({ workspaceId: 0n }) },
    accept_compute: { scope: 'compute:provide', call: (n) => n.conn.reducers.acceptCompute({ requestId: 1n }) },
    reject_compute: { scope: 'compute:provide', call: (n) => n.conn.reducers.rejectCompute({ requestId: 1n, reason: '' }) },
    complete_compute: {
      scope: 'compute:provide',
      call: (n) => n.conn.reducers.completeCompute({ requestId: 1n, success: true, resultRef: '', resultHash: '', reason: '' }),
    },
    request_compute: {
      scope: 'compute:request',
      call: (n) =>
        n.conn.reducers.requestCompute({
          idempotencyKey: 'denied-req',
          workspaceId: 0n,
          policyClass: 'cpu',
          jobEnvelope: '{}',
          costHints: '',
          maxPriceMsats: 0n,
          slaMs: 0,
          targetProvider: undefined,
        }),
    },
    cancel_compute: { scope: 'compute:request', call: (n) => n.conn.reducers.cancelCompute({ requestId: 1n }) },
    enqueue_nostr_bridge_event: {
      scope: 'bridge:publish',
      call: (n) => n.conn.reducers.enqueueNostrBridgeEvent({ idempotencyKey: 'denied-bridge', channelId: 0n, nostrKind: 1, content: 'x', tagsJson: '' }),
    },
    // Settling one's own outbox rows needs no bridge:publish (least privilege; see least-privilege.test.ts).
    mark_bridge_event_published: {
      scope: 'world:join',
      call: (n) => n.conn.reducers.markBridgeEventPublished({ outboxId: 1n, nostrEventId: 'a'.repeat(64), relay: '' }),
    },
    mark_bridge_event_failed: { scope: 'world:join', call: (n) => n.conn.reducers.markBridgeEventFailed({ outboxId: 1n, error: 'e' }) },
    apply_file_ops: {
      scope: 'files:write',
      call: (n) =>
        n.conn.reducers.applyFileOps({
          workspaceId,
          path: 'a.txt',
          opId: 'denied-op',
          expectedBaseVersion: 0n,
          ops: [{ start: 0, deleteCount: 1, lines: ['x'] }],
          rangeHashes: [],
        }),
    },
    resolve_conflict: {
      scope: 'files:write',
      call: (n) => n.conn.reducers.resolveConflict({ ticketId: 1n, resolution: 'accept_head', opId: '', expectedBaseVersion: 0n, ops: [] }),
    },
    checkpoint_file: { scope: 'files:write', call: (n) => n.conn.reducers.checkpointFile({ fileId: 1n }) },
  };
  const adminCases: Record<string, Call> = {
    configure_world: (n) =>
      n.conn.reducers.configureWorld({
        trustedIssuers: ['https://evil.example'],
        heartbeatIntervalMs: 0,
        presenceTtlMs: 0,
        presenceSweepMs: 0,
        checkpointEveryOps: 0,
        maxMessageBytes: 0,
        maxFileBytes: 0,
      }),
    add_world_admin: (n) => n.conn.reducers.addWorldAdmin({ admin: n.identity }),
    remove_world_admin: (n) => n.conn.reducers.removeWorldAdmin({ admin: world.admin.identity }),
  };

  it('has a case for every reducer a client can call', async () => {
    const catalog = await loadModuleCatalog(MODULE_DIR);
    const callable = catalog.reducers.filter((r) => r.clientCallable).map((r) => r.name).sort();
    expect([...Object.keys(cases), ...Object.keys(adminCases), 'revoke_sessions'].sort()).toEqual(callable);
  });

  for (const [name, { scope, call }] of Object.entries(cases)) {
    it(`${name} without ${scope} is refused and writes nothing`, async () => {
      const node = nodesWithout.get(scope)!;
      const before = stateHash(world.host.module);
      await refused(call(node), 'missing_scope', `${name} denied: token lacks scope ${scope}`);
      expect(stateHash(world.host.module)).toBe(before);
    });
  }

  it('revoke_sessions by a user with every scope is refused (only control\'s service token or an admin) and writes nothing', async () => {
    const before = stateHash(world.host.module);
    await refused(
      owner.conn.reducers.revokeSessions({ sessionIds: ['x'], pubkey: '', deviceId: '', issuedBeforeMicros: 0n }),
      'missing_scope',
      'revoke_sessions denied: not a control service token',
    );
    expect(stateHash(world.host.module)).toBe(before);
  });

  for (const [name, call] of Object.entries(adminCases)) {
    it(`${name} by a non-admin with every scope is refused and writes nothing`, async () => {
      const before = stateHash(world.host.module);
      await refused(call(owner), 'not_admin', `${name} denied: only a world admin may do this`);
      expect(stateHash(world.host.module)).toBe(before);
    });
  }

  it('refuses tokens the world does not trust (the host\'s own anonymous tokens)', async () => {
    const anonymous = await new Promise<WorldNode>((resolve, reject) => {
      world.bindings.DbConnection.builder()
        .withUri(world.host.url.replace(/^http/, 'ws'))
        .withDatabaseName(world.host.name)
        .onConnect((conn, identity, token) => resolve({ conn, identity, hex: identity.toHexString(), connectionIdentity: identity, token, pubkey: '', close: () => conn.disconnect() }))
        .onConnectError((_ctx, err) => reject(err))
        .build();
    });
    try {
      const before = stateHash(world.host.module);
      await refused(
        anonymous.conn.reducers.joinWorld({ displayName: 'anon', version: '', region: '' }),
        'untrusted_issuer',
        'join_world denied: token issuer "localhost" is not trusted by this world',
      );
      expect(stateHash(world.host.module)).toBe(before);
    } finally {
      anonymous.close();
    }
  });

  it('refuses calls to scheduled reducers from anyone but the scheduler', () => {
    const module = world.host.module;
    const caller = { identity: BigInt(`0x${owner.hex}`), connectionId: 0n };
    // { sweep: { sweep_id: 1, scheduled_at: Interval(1000 µs) } } and { job: { job_id: 1, Time(0), file_id: 1 } } in BSATN.
    const sweepArgs = Buffer.concat([u64le(1n), Buffer.from([0]), u64le(1000n)]);
    const jobArgs = Buffer.concat([u64le(1n), Buffer.from([1]), u64le(0n), u64le(1n)]);
    for (const [name, args] of [['expire_presence', sweepArgs], ['run_checkpoint_job', jobArgs]] as const) {
      const def = module.catalog.reducerByName.get(name)!;
      const before = stateHash(module);
      const outcome = module.runReducer(def, new Uint8Array(args), caller);
      expect(outcome).toMatchObject({ kind: 'user_error', message: formatWorldError('scheduler_only', `${name} denied: runs only on its schedule`) });
      expect(stateHash(module)).toBe(before);
    }
  });
});

function u64le(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(value);
  return buffer;
}
