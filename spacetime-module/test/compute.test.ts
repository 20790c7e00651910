// Compute coordination through the real host and SDK: ads, provider-scoped inboxes, accept /
// complete, reject and release, targeted requests, cancel, SLA expiry and idempotent requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, subscribe, until, type World, type WorldNode, refused } from './support/world';

const VIEWS = ['SELECT * FROM compute_inbox', 'SELECT * FROM my_compute_requests', 'SELECT * FROM my_compute_assignments', 'SELECT * FROM capability_ad'];

describe('compute coordination', () => {
  let world: World;
  let requester: WorldNode;
  let cpu: WorldNode;
  let cpu2: WorldNode;
  let gpu: WorldNode;
  let keys = 0;

  beforeAll(async () => {
    world = await startWorld({ configure: { presenceSweepMs: 100 } });
    [requester, cpu, cpu2, gpu] = (await Promise.all(['requester', 'cpu', 'cpu2', 'gpu'].map((name) => world.node({ name })))) as [
      WorldNode,
      WorldNode,
      WorldNode,
      WorldNode,
    ];
    await Promise.all([requester, cpu, cpu2, gpu].map((n) => subscribe(n.conn, VIEWS)));
    const ad = { workspaceId: 0n, tools: ['shell'], models: ['llama-3'], maxConcurrency: 2, priceHints: '{"msats_per_minute":10}', constraints: '', region: 'eu' };
    await cpu.conn.reducers.advertiseCapabilities({ ...ad, computeClasses: ['cpu-small'] });
    await cpu2.conn.reducers.advertiseCapabilities({ ...ad, computeClasses: ['cpu-small', 'cpu-large'] });
    await gpu.conn.reducers.advertiseCapabilities({ ...ad, computeClasses: ['gpu'] });
    await until(() => requester.conn.db.capabilityAd.count() === 3n, 'ads are public');
  });
  afterAll(async () => {
    await world?.close();
  });

  async function request(opts: { policyClass?: string; target?: WorldNode; slaMs?: number; key?: string; workspaceId?: bigint } = {}) {
    const idempotencyKey = opts.key ?? `req-${++keys}`;
    await requester.conn.reducers.requestCompute({
      idempotencyKey,
      workspaceId: opts.workspaceId ?? 0n,
      policyClass: opts.policyClass ?? 'cpu-small',
      jobEnvelope: JSON.stringify({ cmd: 'echo', n: keys }),
      costHints: '',
      maxPriceMsats: 1000n,
      slaMs: opts.slaMs ?? 0,
      targetProvider: opts.target?.identity,
    });
    await until(() => [...requester.conn.db.myComputeRequests.iter()].some((r) => r.idempotencyKey === idempotencyKey), 'request row');
    return [...requester.conn.db.myComputeRequests.iter()].find((r) => r.idempotencyKey === idempotencyKey)!.requestId;
  }
  const inbox = (node: WorldNode) => [...node.conn.db.computeInbox.iter()].map((r) => r.requestId);
  const requestRow = (id: bigint) => [...requester.conn.db.myComputeRequests.iter()].find((r) => r.requestId === id)!;

  it('offers a request to matching providers only; one accepts and completes it', async () => {
    const id = await request();
    await until(() => inbox(cpu).includes(id) && inbox(cpu2).includes(id), 'both cpu providers see it');
    expect(inbox(gpu)).not.toContain(id);
    await refused(gpu.conn.reducers.acceptCompute({ requestId: id }), 'not_found', `request ${id} is not offered to you`);

    await cpu.conn.reducers.acceptCompute({ requestId: id });
    await cpu.conn.reducers.acceptCompute({ requestId: id });
    await until(() => requestRow(id).status === 'assigned', 'assigned');
    await until(() => !inbox(cpu2).includes(id), 'gone from the other inbox');
    expect(inbox(cpu)).toContain(id);
    await refused(cpu2.conn.reducers.acceptCompute({ requestId: id }), 'invalid_state', `request ${id} is assigned`);
    await refused(cpu2.conn.reducers.completeCompute({ requestId: id, success: true, resultRef: 'x', resultHash: '', reason: '' }), 'not_owner', 'is not assigned to you');

    const result = { requestId: id, success: true, resultRef: 'blob://result/1', resultHash: 'ef'.repeat(32), reason: '' };
    await cpu.conn.reducers.completeCompute(result);
    await cpu.conn.reducers.completeCompute(result);
    await refused(cpu.conn.reducers.completeCompute({ ...result, resultRef: 'blob://other' }), 'invalid_state', 'already reported as completed');
    await until(() => requestRow(id).status === 'completed', 'completed');
    const assignments = [...requester.conn.db.myComputeAssignments.iter()].filter((a) => a.requestId === id);
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toMatchObject({ status: 'completed', resultRef: 'blob://result/1' });
    expect(assignments[0]!.provider.toHexString()).toBe(cpu.hex);
  });

  it('lets a provider decline (hidden from it) or release after accepting (open again)', async () => {
    const id = await request();
    await until(() => inbox(cpu2).includes(id), 'offered');
    await cpu2.conn.reducers.rejectCompute({ requestId: id, reason: 'busy' });
    await cpu2.conn.reducers.rejectCompute({ requestId: id, reason: 'busy' });
    await until(() => !inbox(cpu2).includes(id), 'hidden from the decliner');
    expect(requestRow(id).status).toBe('open');

    await cpu.conn.reducers.acceptCompute({ requestId: id });
    await until(() => requestRow(id).status === 'assigned', 'assigned');
    await cpu.conn.reducers.rejectCompute({ requestId: id, reason: 'out of memory' });
    await until(() => requestRow(id).status === 'open', 'released back to open');
    const released = [...requester.conn.db.myComputeAssignments.iter()].find((a) => a.requestId === id && a.provider.toHexString() === cpu.hex)!;
    expect(released).toMatchObject({ status: 'released', reason: 'out of memory' });
    expect(inbox(cpu)).toContain(id);
  });

  it('offers a targeted request to its target only; its rejection ends it', async () => {
    const id = await request({ target: cpu2, policyClass: 'anything' });
    await until(() => inbox(cpu2).includes(id), 'target sees it');
    expect(inbox(cpu)).not.toContain(id);
    await refused(cpu.conn.reducers.acceptCompute({ requestId: id }), 'not_found', 'not offered to you');
    await cpu2.conn.reducers.rejectCompute({ requestId: id, reason: 'no' });
    await until(() => requestRow(id).status === 'rejected', 'rejected');
  });

  it('lets the requester cancel, and expires requests past their SLA', async () => {
    const cancelled = await request();
    await refused(cpu.conn.reducers.cancelCompute({ requestId: cancelled }), 'not_owner', 'no request');
    await requester.conn.reducers.cancelCompute({ requestId: cancelled });
    await until(() => requestRow(cancelled).status === 'cancelled', 'cancelled');
    await refused(cpu.conn.reducers.acceptCompute({ requestId: cancelled }), 'invalid_state', 'is cancelled');

    const slow = await request({ slaMs: 200 });
    await cpu.conn.reducers.acceptCompute({ requestId: slow });
    await until(() => requestRow(slow).status === 'expired', 'expired by the sweep', 3000);
    const assignment = [...cpu.conn.db.myComputeAssignments.iter()].find((a) => a.requestId === slow)!;
    expect(assignment).toMatchObject({ status: 'cancelled', reason: 'sla expired' });
  });

  it('creates one request per idempotency key and scopes workspace requests to members', async () => {
    await Promise.all(Array.from({ length: 5 }, () => request({ key: 'same-request' })));
    expect([...requester.conn.db.myComputeRequests.iter()].filter((r) => r.idempotencyKey === 'same-request')).toHaveLength(1);

    await requester.conn.reducers.createWorkspace({ slug: 'lab', name: 'Lab' });
    await subscribe(requester.conn, ['SELECT * FROM workspace']);
    await until(() => requester.conn.db.workspace.count() >= 1n, 'workspace');
    const workspaceId = [...requester.conn.db.workspace.iter()].find((w) => w.slug === 'lab')!.workspaceId;
    await requester.conn.reducers.inviteMember({ workspaceId, member: cpu2.identity, role: 'viewer', capabilities: [] });
    const id = await request({ workspaceId });
    await until(() => inbox(cpu2).includes(id), 'member provider sees it');
    expect(inbox(cpu)).not.toContain(id);
    await refused(requester.conn.reducers.requestCompute({
      idempotencyKey: 'bad-envelope',
      workspaceId: 0n,
      policyClass: 'cpu-small',
      jobEnvelope: 'not json',
      costHints: '',
      maxPriceMsats: 0n,
      slaMs: 0,
      targetProvider: undefined,
    }), 'invalid_argument', 'job_envelope must be valid JSON');
  });
});
