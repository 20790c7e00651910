// Presence through the real host and SDK, with short tunables so expiry happens within a second:
// silent nodes go offline on the sweep schedule, heartbeats keep nodes online or bring them back,
// disconnect and leave_world take a node offline at once. Also peer links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startWorld, subscribe, until, type World, type WorldNode, refused } from './support/world';

const TUNABLES = { heartbeatIntervalMs: 150, presenceTtlMs: 800, presenceSweepMs: 100 };

describe('presence', () => {
  let world: World;
  let observer: WorldNode;

  beforeAll(async () => {
    world = await startWorld({ configure: TUNABLES });
    observer = await world.node({ name: 'observer' });
    await subscribe(observer.conn, ['SELECT * FROM autopilot_node']);
  });
  afterAll(async () => {
    await world?.close();
  });

  const statusOf = (node: WorldNode) => [...observer.conn.db.autopilotNode.iter()].find((n) => n.nodeId.toHexString() === node.hex)?.status;

  it('marks a node offline when its heartbeats stop, and a heartbeat brings it back', async () => {
    const quiet = await world.node({ name: 'quiet' });
    await subscribe(quiet.conn, ['SELECT * FROM my_sessions']);
    const steady = await world.node({ name: 'steady' });
    await until(() => statusOf(quiet) === 'online' && statusOf(steady) === 'online', 'both online');

    // steady heartbeats every interval; quiet says nothing.
    let beating = true;
    const beats = (async () => {
      while (beating) {
        await steady.conn.reducers.heartbeat({ status: '' });
        await sleep(TUNABLES.heartbeatIntervalMs);
      }
    })();
    await until(() => statusOf(quiet) === 'offline', 'quiet expires', 3000);
    expect([...quiet.conn.db.mySessions.iter()].map((s) => s.status)).toEqual(['expired']);
    await sleep(TUNABLES.presenceTtlMs);
    expect(statusOf(steady)).toBe('online');
    beating = false;
    await beats;

    await quiet.conn.reducers.heartbeat({ status: 'away' });
    await until(() => statusOf(quiet) === 'away', 'quiet is back (away)');
    expect([...quiet.conn.db.mySessions.iter()].map((s) => s.status)).toEqual(['active']);
    await refused(quiet.conn.reducers.heartbeat({ status: 'sleeping' }), 'invalid_argument', 'status must be one of online, away, busy');
  });

  it('takes a node offline on disconnect and on leave_world', async () => {
    const leaver = await world.node({ name: 'leaver' });
    const dropper = await world.node({ name: 'dropper' });
    await until(() => statusOf(leaver) === 'online' && statusOf(dropper) === 'online', 'both online');
    await leaver.conn.reducers.leaveWorld({});
    await until(() => statusOf(leaver) === 'offline', 'leaver offline');
    dropper.close();
    await until(() => statusOf(dropper) === 'offline', 'dropper offline after disconnect', 1000);
  });

  it('serves workspace presence as a semijoin of members and nodes', async () => {
    const [lead, member, stranger] = await Promise.all([world.node({ name: 'lead' }), world.node({ name: 'member' }), world.node({ name: 'stranger' })]);
    await subscribe(lead.conn, ['SELECT * FROM workspace']);
    await lead.conn.reducers.createWorkspace({ slug: 'presence-ws', name: 'Presence' });
    await until(() => [...lead.conn.db.workspace.iter()].some((w) => w.slug === 'presence-ws'), 'workspace');
    const workspaceId = [...lead.conn.db.workspace.iter()].find((w) => w.slug === 'presence-ws')!.workspaceId;
    await lead.conn.reducers.inviteMember({ workspaceId, member: member.identity, role: 'editor', capabilities: [] });
    const watcher = await world.node({ name: 'watcher' });
    await subscribe(watcher.conn, [
      `SELECT autopilot_node.* FROM workspace_member JOIN autopilot_node ON workspace_member.member = autopilot_node.node_id WHERE workspace_member.workspace_id = ${workspaceId}`,
    ]);
    const shown = () => new Set([...watcher.conn.db.autopilotNode.iter()].map((n) => n.nodeId.toHexString()));
    await until(() => shown().size === 2, 'two members shown');
    expect(shown()).toEqual(new Set([lead.hex, member.hex]));
    expect(shown().has(stranger.hex)).toBe(false);
    await member.conn.reducers.heartbeat({ status: 'busy' });
    await until(() => [...watcher.conn.db.autopilotNode.iter()].some((n) => n.nodeId.toHexString() === member.hex && n.status === 'busy'), 'status update');
  });

  it('links peers: request, accept, close; visible only to the two ends', async () => {
    const [a, b, c] = await Promise.all([world.node({ name: 'a' }), world.node({ name: 'b' }), world.node({ name: 'c' })]);
    await Promise.all([a, b, c].map((n) => subscribe(n.conn, ['SELECT * FROM my_peer_links'])));
    await a.conn.reducers.requestPeerLink({ peer: b.identity, kind: 'direct' });
    await a.conn.reducers.requestPeerLink({ peer: b.identity, kind: 'direct' });
    await until(() => b.conn.db.myPeerLinks.count() === 1n, 'b sees the request');
    const link = [...b.conn.db.myPeerLinks.iter()][0]!;
    expect(link).toMatchObject({ status: 'requested', kind: 'direct' });
    await refused(a.conn.reducers.acceptPeerLink({ linkId: link.linkId }), 'not_owner', 'no link');
    await refused(c.conn.reducers.closePeerLink({ linkId: link.linkId }), 'not_owner', 'no link');
    await refused(a.conn.reducers.requestPeerLink({ peer: a.identity, kind: 'direct' }), 'invalid_argument', 'cannot link a node to itself');
    await b.conn.reducers.acceptPeerLink({ linkId: link.linkId });
    await until(() => [...a.conn.db.myPeerLinks.iter()][0]?.status === 'active', 'a sees it active');
    await a.conn.reducers.closePeerLink({ linkId: link.linkId });
    await until(() => [...b.conn.db.myPeerLinks.iter()][0]?.status === 'closed', 'b sees it closed');
    expect(c.conn.db.myPeerLinks.count()).toBe(0n);
  });
});
