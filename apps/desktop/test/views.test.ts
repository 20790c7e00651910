// deriveViews on hand-built snapshots: what the renderer is shown for a given world, with no world.
import {
  inlineResult,
  type AssignmentView,
  type CapabilityAdView,
  type ChannelView,
  type CheckpointView,
  type ComputeRequestView,
  type MemberView,
  type MessageView,
  type NodeView,
  type ParticipantView,
  type PendingMessage,
  type WorkspaceView,
} from '@autopilot/world-client';
import { describe, expect, it } from 'vitest';
import { deriveViews, jobPrompt, resultText } from '../src/core/views';
import type { WorldSnapshot } from '../src/core/world/session';

const ME = 'a'.repeat(64);
const THEM = 'b'.repeat(64);
const STRANGER = 'c'.repeat(64);
const PUBKEY = '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917';

// World-client views with only the fields a test cares about given; the rest are fixed fillers.
const node = (id: string, displayName: string, status: string, heartbeatMs = 1): NodeView => ({
  id,
  pubkey: PUBKEY,
  deviceId: 'd',
  displayName,
  status,
  lastHeartbeatAtMs: heartbeatMs,
  joinedAtMs: 0,
  version: '',
  region: '',
  org: '',
});
const channel = (id: string, fields: Partial<ChannelView> = {}): ChannelView => ({
  id,
  workspaceId: '0',
  name: `c${id}`,
  topic: '',
  kind: 'group',
  isPrivate: false,
  mirrorToNostr: false,
  status: 'open',
  createdBy: ME,
  createdAtMs: 0,
  closedAtMs: null,
  lastSeq: 0,
  lastHash: '',
  participantCount: 0,
  idempotencyKey: `k${id}`,
  ...fields,
});
const message = (channelId: string, seq: number, sender: string, payload: string, sentAtMs: number, idempotencyKey: string): MessageView => ({
  id: `${channelId}${seq}`,
  channelId,
  seq,
  sender,
  senderPubkey: PUBKEY,
  kind: 'text',
  contentType: 'text/plain',
  payload,
  replyToSeq: 0,
  idempotencyKey,
  prevHash: '',
  hash: '',
  sentAtMs,
});
const ad = (id: string, provider: string, active: boolean): CapabilityAdView => ({
  id,
  provider,
  workspaceId: '0',
  tools: [],
  models: [],
  computeClasses: ['cpu.small'],
  maxConcurrency: 1,
  priceHints: '{}',
  constraints: '{}',
  region: '',
  active,
  updatedAtMs: 0,
});
const request = (id: string, requester: string, fields: Partial<ComputeRequestView> = {}): ComputeRequestView => ({
  id,
  requester,
  workspaceId: '0',
  targetProvider: null,
  policyClass: 'cpu.small',
  jobEnvelope: JSON.stringify({ kind: 'text.process', input: { text: `job ${id}` } }),
  costHints: '{}',
  maxPriceMsats: '0',
  slaMs: 0,
  status: 'open',
  assignmentId: '0',
  idempotencyKey: `r${id}`,
  createdAtMs: 10,
  updatedAtMs: 20,
  ...fields,
});
const assignment = (id: string, requestId: string, provider: string, status: string, result: { resultRef: string; resultHash: string } = { resultRef: '', resultHash: '' }): AssignmentView => ({
  id,
  requestId,
  provider,
  status,
  reason: '',
  ...result,
  createdAtMs: 0,
  updatedAtMs: 0,
  completedAtMs: null,
});
const workspace = (id: string, slug: string, name: string, owner: string): WorkspaceView => ({ id, slug, name, owner, createdAtMs: 0 });
const member = (workspaceId: string, who: string, role: string): MemberView => ({ id: `${workspaceId}:${who}`, workspaceId, member: who, role, capabilities: [] });
const pending = (key: string, channelId: string, payload: string, enqueuedAtMs: number): PendingMessage => ({ key, channelId, payload, enqueuedAtMs, attempts: 0 });

const byId = <T extends { id: string }>(list: readonly T[]) => Object.fromEntries(list.map((v) => [v.id, v]));

/** A world snapshot (the client's store states) from flat lists. */
function snapshot(parts: {
  selfId?: string | null;
  nodes?: NodeView[];
  channels?: ChannelView[];
  participants?: Record<string, string[]>;
  messages?: MessageView[];
  readSeq?: Record<string, number>;
  ads?: CapabilityAdView[];
  myRequests?: ComputeRequestView[];
  inbox?: ComputeRequestView[];
  assignments?: AssignmentView[];
  workspaces?: WorkspaceView[];
  members?: MemberView[];
  outbox?: PendingMessage[];
}): WorldSnapshot {
  const byChannel: Record<string, MessageView[]> = {};
  for (const m of parts.messages ?? []) (byChannel[m.channelId] ??= []).push(m);
  return {
    presence: { nodes: byId(parts.nodes ?? []), self: parts.selfId === undefined ? ME : parts.selfId, sessions: {}, events: [] },
    channels: {
      mine: byId(parts.channels ?? []),
      public: {},
      participants: Object.fromEntries(
        Object.entries(parts.participants ?? {}).map(([channelId, seats]) => [
          channelId,
          seats.map((participant, i): ParticipantView => ({ id: `${channelId}.${i}`, channelId, participant, role: 'member', joinedAtMs: 0 })),
        ]),
      ),
      checkpoints: Object.fromEntries(
        Object.entries(parts.readSeq ?? {}).map(([channelId, seq]): [string, CheckpointView] => [channelId, { channelId, lastSeenSeq: seq, lastAckedSeq: seq, updatedAtMs: 0 }]),
      ),
    },
    messages: { byChannel, pending: parts.outbox ?? [] },
    capabilities: { ads: byId(parts.ads ?? []) },
    compute: { requests: byId(parts.myRequests ?? []), inbox: byId(parts.inbox ?? []), assignments: byId(parts.assignments ?? []) },
    files: { files: {}, workspaces: byId(parts.workspaces ?? []), members: byId(parts.members ?? []) },
  };
}

describe('deriveViews', () => {
  it('views put outbox messages last, count only others’ unread messages, and resolve names', () => {
    const me = ME;
    const them = THEM;
    const views = deriveViews(
      snapshot({
        selfId: me,
        nodes: [node(me, 'Me', 'online'), node(them, 'Them', 'offline')],
        channels: [channel('7', { name: 'c', kind: 'direct', isPrivate: true, lastSeq: 3, idempotencyKey: 'k' })],
        participants: { '7': [me, them] },
        messages: [message('7', 1, them, 'a', 1, 'm1'), message('7', 2, me, 'b', 2, 'm2'), message('7', 3, them, 'c', 3, 'm3')],
        readSeq: { '7': 1 },
        workspaces: [workspace('3', 'team', 'Team', them), workspace('4', 'other', 'Other', them)],
        members: [member('3', them, 'owner'), member('3', me, 'editor'), member('4', them, 'owner')],
        outbox: [pending('o1', '7', 'queued', 4)],
      }),
    );
    expect(views.channels[0]!.unread).toBe(1);
    expect(views.channels[0]).toMatchObject({ participants: [me, them], readSeq: 1, idempotencyKey: 'k' });
    expect(views.messages['7']!.map((m) => [m.payload, m.pending, m.senderName])).toEqual([
      ['a', false, 'Them'],
      ['b', false, 'Me'],
      ['c', false, 'Them'],
      ['queued', true, 'Me'],
    ]);
    // Only workspaces this node belongs to, with its role.
    expect(views.workspaces).toEqual([{ id: '3', slug: 'team', name: 'Team', role: 'editor', members: [them, me] }]);
    expect(views.presence.map((p) => [p.displayName, p.isSelf])).toEqual([
      ['Me', true],
      ['Them', false],
    ]);
  });

  it('orders presence self first, then by status, then by name', () => {
    const views = deriveViews(
      snapshot({ nodes: [node(STRANGER, 'Zed', 'online', 5), node(THEM, 'Amy', 'offline', 5), node('d'.repeat(64), 'Bob', 'online', 5), node(ME, 'Me', 'away', 5)] }),
    );
    expect(views.presence.map((p) => p.displayName)).toEqual(['Me', 'Bob', 'Zed', 'Amy']);
    expect(views.presence[0]).toMatchObject({ id: ME, pubkey: PUBKEY, isSelf: true, lastHeartbeatAtMs: 5, npub: expect.stringMatching(/^npub1/) });
  });

  it('sorts channels by numeric id, not as text', () => {
    expect(deriveViews(snapshot({ channels: [channel('10'), channel('9'), channel('100')] })).channels.map((c) => c.id)).toEqual(['9', '10', '100']);
  });

  it('names unknown senders by a short id, and a nameless node by its short npub', () => {
    const views = deriveViews(
      snapshot({
        nodes: [node(THEM, '', 'online')],
        messages: [message('1', 1, THEM, 'x', 1, 'm1'), message('1', 2, STRANGER, 'y', 2, 'm2')],
      }),
    );
    expect(views.messages['1']!.map((m) => m.senderName)).toEqual([expect.stringMatching(/^npub1.{7}…$/), 'cccccccc…']);
    // The presence entry carries the same label the messages use, so the renderer never derives one.
    expect(views.presence[0]!.label).toBe(views.messages['1']![0]!.senderName);
  });

  it('shows own ads even when withdrawn, others only while active, own first', () => {
    const views = deriveViews(snapshot({ nodes: [node(THEM, 'Them', 'online')], ads: [ad('1', THEM, true), ad('2', STRANGER, false), ad('3', ME, false)] }));
    expect(views.ads.map((a) => [a.id, a.isOwn, a.providerName])).toEqual([
      ['3', true, 'aaaaaaaa…'],
      ['1', false, 'Them'],
    ]);
  });

  it('merges both sides of compute: asked, offered, and served requests that left the inbox', () => {
    const done = inlineResult({ text: 'the answer' });
    if (!done.ok) throw new Error(done.reason);
    const views = deriveViews(
      snapshot({
        nodes: [node(ME, 'Me', 'online'), node(THEM, 'Them', 'online')],
        myRequests: [request('5', ME, { targetProvider: THEM, status: 'assigned', assignmentId: '50' })],
        // The same request in both lists (asked of oneself) is shown once, as the requester's.
        inbox: [request('6', THEM), request('5', ME)],
        assignments: [
          assignment('50', '5', THEM, 'accepted'),
          assignment('70', '7', ME, 'completed', done),
          assignment('80', '8', THEM, 'completed'),
        ],
      }),
    );
    expect(views.compute.map((r) => [r.id, r.role, r.status, r.assignmentStatus, r.result])).toEqual([
      ['7', 'provider', 'completed', 'completed', 'the answer'],
      ['6', 'provider', 'open', null, null],
      ['5', 'requester', 'assigned', 'accepted', null],
    ]);
    expect(views.compute.find((r) => r.id === '5')).toMatchObject({ job: 'job 5', requesterName: 'Me', providerName: 'Them', createdAtMs: 10, updatedAtMs: 20 });
    expect(views.compute.find((r) => r.id === '6')).toMatchObject({ requesterName: 'Them', providerName: '' });
  });

  it('gives no views of a world without a self node but keeps what it holds', () => {
    const views = deriveViews(snapshot({ selfId: null, outbox: [pending('o1', '2', 'queued', 4)] }));
    expect(views.messages['2']).toEqual([{ channelId: '2', seq: 0, sender: null, senderName: '', payload: 'queued', sentAtMs: 4, idempotencyKey: 'o1', pending: true }]);
    expect(views.workspaces).toEqual([]);
  });
});

describe('job and result text', () => {
  it('shows the envelope input text, else its kind and input', () => {
    expect(jobPrompt(JSON.stringify({ kind: 'text.process', input: { text: 'hello' } }))).toBe('hello');
    expect(jobPrompt(JSON.stringify({ kind: 'sum', input: { a: 1 } }))).toBe('sum: {"a":1}');
    expect(jobPrompt('not json')).toBe('not json');
  });

  it('shows a result only when it matches its hash', () => {
    const made = inlineResult({ text: 'ok' });
    if (!made.ok) throw new Error(made.reason);
    expect(resultText(made.resultRef, made.resultHash)).toBe('ok');
    expect(resultText(made.resultRef, '0'.repeat(64))).toBe('(unverified result: the result does not match its hash)');
    expect(resultText('', '')).toBeNull();
    const other = inlineResult({ n: 2 });
    if (!other.ok) throw new Error(other.reason);
    expect(resultText(other.resultRef, other.resultHash)).toBe('{"n":2}');
  });
});
