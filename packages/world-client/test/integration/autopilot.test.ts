// The headless autopilot node in a real world: it advertises, answers messages, and serves
// compute requests — request → accept → complete, and request → reject with a reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutopilotNode, readInlineResult, REPLY_KIND, type DeliveredMessage } from '../../src/index';
import { startTestWorld, until, type TestClient, type TestWorld } from '../support/world';

let world: TestWorld;
let node: AutopilotNode;
let user: TestClient;
let nodeId: string;

beforeAll(async () => {
  world = await startTestWorld();
  const provider = world.client({ name: 'helper-node' });
  node = new AutopilotNode({ client: provider.client, name: 'helper-node', config: { computeClasses: ['cpu.small'], maxConcurrency: 2, region: 'local' } });
  await node.start(10_000);
  nodeId = provider.client.identity!;
  user = world.client({ name: 'user' });
  await user.client.start();
  await user.client.whenConnected(10_000);
});
afterAll(async () => {
  await node?.stop();
  await world?.close();
});

describe('capability ad', () => {
  it('the node advertises its compute classes and job kinds', async () => {
    const adOf = () => Object.values(user.client.stores.capabilities.getState().ads).find((ad) => ad.provider === nodeId);
    await until(() => adOf() !== undefined, 'the ad is visible');
    expect(adOf()).toMatchObject({
      computeClasses: ['cpu.small'],
      tools: ['hash.sha256', 'lines.diff', 'lines.apply'],
      maxConcurrency: 2,
      region: 'local',
      active: true,
    });
  });
});

describe('messages', () => {
  it('answers text messages in a direct channel, replying to each one', async () => {
    const opened = await user.client.openChannel({ name: 'help', kind: 'direct', participants: [nodeId] });
    if (!opened.ok || !opened.channelId) throw new Error('open_channel failed');
    const replies: DeliveredMessage[] = [];
    user.client.onMessage((message) => {
      if (message.channelId === opened.channelId && !message.own) replies.push(message);
    });
    await user.client.publishMessage({ channelId: opened.channelId, payload: 'ping' });
    await user.client.publishMessage({ channelId: opened.channelId, payload: 'hash abc' });
    await user.client.publishMessage({ channelId: opened.channelId, payload: 'not a command' });
    await until(() => replies.length === 3, 'three answers');
    const history = user.client.stores.messages.getState().byChannel[opened.channelId]!;
    const seqOf = (payload: string) => history.find((m) => m.payload === payload)!.seq;
    expect(replies.map(({ kind, replyToSeq, payload }) => ({ kind, replyToSeq, payload }))).toEqual([
      { kind: REPLY_KIND, replyToSeq: seqOf('ping'), payload: 'pong' },
      { kind: REPLY_KIND, replyToSeq: seqOf('hash abc'), payload: 'sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
      { kind: REPLY_KIND, replyToSeq: seqOf('not a command'), payload: 'helper-node received "not a command". Say "help" to see what I can do.' },
    ]);
    // The node acknowledged what it answered.
    const last = seqOf('not a command');
    await until(() => (node.client.stores.channels.getState().checkpoints[opened.channelId!]?.lastAckedSeq ?? 0) >= last, 'node acked the last question');
  });
});

describe('compute', () => {
  const requestOf = (key: string) => Object.values(user.client.stores.compute.getState().requests).find((r) => r.idempotencyKey === key);

  it('request → accept → complete, with a result the requester can verify', async () => {
    const requested = await user.client.requestCompute({ policyClass: 'cpu.small', job: { kind: 'hash.sha256', input: { text: 'abc' } }, slaMs: 60_000 });
    if (!requested.ok || !requested.requestId) throw new Error(`request_compute failed: ${requested.ok ? 'no id' : requested.message}`);
    await until(() => requestOf(requested.key)?.status === 'completed', 'completed');
    const request = requestOf(requested.key)!;
    const assignment = user.client.stores.compute.getState().assignments[request.assignmentId]!;
    expect(assignment).toMatchObject({ provider: nodeId, status: 'completed', reason: '' });
    expect(readInlineResult(assignment.resultRef, assignment.resultHash)).toEqual({
      ok: true,
      result: { sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', bytes: 3 },
    });
    expect(node.stats.completed).toBeGreaterThanOrEqual(1);
  });

  it('request → reject, with the reason, for a job kind the node does not run', async () => {
    const requested = await user.client.requestCompute({ policyClass: 'cpu.small', job: { kind: 'gpu.train', input: {} }, targetProvider: nodeId });
    if (!requested.ok) throw new Error(requested.message);
    await until(() => requestOf(requested.key)?.status === 'rejected', 'rejected');
    const assignments = Object.values(user.client.stores.compute.getState().assignments).filter((a) => a.requestId === requestOf(requested.key)!.id);
    expect(assignments).toEqual([
      expect.objectContaining({
        provider: nodeId,
        status: 'rejected',
        reason: 'unsupported job kind "gpu.train"; this node runs hash.sha256, lines.diff, lines.apply',
      }),
    ]);
  });

  it('a job whose result cannot be carried is completed as failed, with the reason', async () => {
    const requested = await user.client.requestCompute({
      policyClass: 'cpu.small',
      job: { kind: 'lines.diff', input: { before: '', after: Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n') } },
    });
    if (!requested.ok) throw new Error(requested.message);
    await until(() => requestOf(requested.key)?.status === 'failed', 'failed');
    const assignment = user.client.stores.compute.getState().assignments[requestOf(requested.key)!.assignmentId]!;
    expect(assignment.reason).toMatch(/^the result is \d+ bytes; inline results are limited to 1024$/);
  });
});
