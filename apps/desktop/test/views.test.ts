// deriveViews on hand-built snapshots: what the renderer is shown for a given world, with no world.
import { inlineResult } from '@autopilot/world-client';
import { describe, expect, it } from 'vitest';
import { deriveViews, jobPrompt, resultText } from '../src/core/views';
import type { WorldSnapshot } from '../src/core/world/session';

const ME = 'a'.repeat(64);
const THEM = 'b'.repeat(64);
const STRANGER = 'c'.repeat(64);
const PUBKEY = '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917';

function snapshot(parts: Partial<WorldSnapshot>): WorldSnapshot {
  return {
    selfId: ME,
    nodes: [],
    channels: [],
    participants: new Map(),
    messages: [],
    readSeq: new Map(),
    ads: [],
    myRequests: [],
    inbox: [],
    assignments: [],
    workspaces: [],
    members: [],
    outbox: [],
    ...parts,
  };
}

const request = (id: string, requester: string, fields: Partial<WorldSnapshot['myRequests'][number]> = {}): WorldSnapshot['myRequests'][number] => ({
  requestId: id,
  requester,
  targetProvider: null,
  policyClass: 'cpu.small',
  jobEnvelope: JSON.stringify({ kind: 'text.process', input: { text: `job ${id}` } }),
  status: 'open',
  assignmentId: '0',
  createdAtMs: 10,
  updatedAtMs: 20,
  ...fields,
});

describe('deriveViews', () => {
  it('views put outbox messages last, count only others’ unread messages, and resolve names', () => {
    const me = 'a'.repeat(64);
    const them = 'b'.repeat(64);
    const snapshot: WorldSnapshot = {
      selfId: me,
      nodes: [
        { nodeId: me, pubkeyHex: '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917', displayName: 'Me', status: 'online', lastHeartbeatMs: 1 },
        { nodeId: them, pubkeyHex: '17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917', displayName: 'Them', status: 'offline', lastHeartbeatMs: 1 },
      ],
      channels: [{ id: '7', workspaceId: '0', name: 'c', topic: '', kind: 'direct', isPrivate: true, status: 'open', lastSeq: 3, createdBy: me, idempotencyKey: 'k' }],
      participants: new Map([['7', [me, them]]]),
      messages: [
        { channelId: '7', seq: 1, sender: them, kind: 'text', payload: 'a', sentAtMs: 1, idempotencyKey: 'm1' },
        { channelId: '7', seq: 2, sender: me, kind: 'text', payload: 'b', sentAtMs: 2, idempotencyKey: 'm2' },
        { channelId: '7', seq: 3, sender: them, kind: 'text', payload: 'c', sentAtMs: 3, idempotencyKey: 'm3' },
      ],
      readSeq: new Map([['7', 1]]),
      ads: [],
      myRequests: [],
      inbox: [],
      assignments: [],
      workspaces: [{ id: '3', slug: 'team', name: 'Team', owner: them }, { id: '4', slug: 'other', name: 'Other', owner: them }],
      members: [
        { workspaceId: '3', member: them, role: 'owner' },
        { workspaceId: '3', member: me, role: 'editor' },
        { workspaceId: '4', member: them, role: 'owner' },
      ],
      outbox: [{ key: 'o1', channelId: '7', payload: 'queued', createdAt: 4 }],
    };
    const views = deriveViews(snapshot);
    expect(views.channels[0]!.unread).toBe(1);
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
    const node = (nodeId: string, displayName: string, status: string) => ({ nodeId, pubkeyHex: PUBKEY, displayName, status, lastHeartbeatMs: 5 });
    const views = deriveViews(
      snapshot({ nodes: [node(STRANGER, 'Zed', 'online'), node(THEM, 'Amy', 'offline'), node('d'.repeat(64), 'Bob', 'online'), node(ME, 'Me', 'away')] }),
    );
    expect(views.presence.map((p) => p.displayName)).toEqual(['Me', 'Bob', 'Zed', 'Amy']);
    expect(views.presence[0]).toMatchObject({ nodeId: ME, isSelf: true, lastSeenMs: 5, npub: expect.stringMatching(/^npub1/) });
  });

  it('sorts channels by numeric id, not as text', () => {
    const channel = (id: string) => ({ id, workspaceId: '0', name: `c${id}`, topic: '', kind: 'group', isPrivate: false, status: 'open', lastSeq: 0, createdBy: ME, idempotencyKey: `k${id}` });
    expect(deriveViews(snapshot({ channels: [channel('10'), channel('9'), channel('100')] })).channels.map((c) => c.id)).toEqual(['9', '10', '100']);
  });

  it('names unknown senders by a short id, and a nameless node by its short npub', () => {
    const views = deriveViews(
      snapshot({
        nodes: [{ nodeId: THEM, pubkeyHex: PUBKEY, displayName: '', status: 'online', lastHeartbeatMs: 1 }],
        messages: [
          { channelId: '1', seq: 1, sender: THEM, kind: 'text', payload: 'x', sentAtMs: 1, idempotencyKey: 'm1' },
          { channelId: '1', seq: 2, sender: STRANGER, kind: 'text', payload: 'y', sentAtMs: 2, idempotencyKey: 'm2' },
        ],
      }),
    );
    expect(views.messages['1']!.map((m) => m.senderName)).toEqual([expect.stringMatching(/^npub1.{7}…$/), 'cccccccc…']);
    // The presence entry carries the same label the messages use, so the renderer never derives one.
    expect(views.presence[0]!.label).toBe(views.messages['1']![0]!.senderName);
  });

  it('shows own ads even when withdrawn, others only while active, own first', () => {
    const ad = (adId: string, provider: string, active: boolean) => ({
      adId,
      provider,
      workspaceId: '0',
      tools: [],
      models: [],
      computeClasses: ['cpu.small'],
      maxConcurrency: 1,
      priceHints: '{}',
      region: '',
      active,
    });
    const views = deriveViews(
      snapshot({
        nodes: [{ nodeId: THEM, pubkeyHex: PUBKEY, displayName: 'Them', status: 'online', lastHeartbeatMs: 1 }],
        ads: [ad('1', THEM, true), ad('2', STRANGER, false), ad('3', ME, false)],
      }),
    );
    expect(views.ads.map((a) => [a.adId, a.isOwn, a.providerName])).toEqual([
      ['3', true, 'aaaaaaaa…'],
      ['1', false, 'Them'],
    ]);
  });

  it('merges both sides of compute: asked, offered, and served requests that left the inbox', () => {
    const done = inlineResult({ text: 'the answer' });
    if (!done.ok) throw new Error(done.reason);
    const views = deriveViews(
      snapshot({
        nodes: [
          { nodeId: ME, pubkeyHex: PUBKEY, displayName: 'Me', status: 'online', lastHeartbeatMs: 1 },
          { nodeId: THEM, pubkeyHex: PUBKEY, displayName: 'Them', status: 'online', lastHeartbeatMs: 1 },
        ],
        myRequests: [request('5', ME, { targetProvider: THEM, status: 'assigned', assignmentId: '50' })],
        // The same request in both lists (asked of oneself) is shown once, as the requester's.
        inbox: [request('6', THEM), request('5', ME)],
        assignments: [
          { assignmentId: '50', requestId: '5', provider: THEM, status: 'accepted', reason: '', resultRef: '', resultHash: '' },
          { assignmentId: '70', requestId: '7', provider: ME, status: 'completed', reason: '', resultRef: done.resultRef, resultHash: done.resultHash },
          { assignmentId: '80', requestId: '8', provider: THEM, status: 'completed', reason: '', resultRef: '', resultHash: '' },
        ],
      }),
    );
    expect(views.compute.map((r) => [r.requestId, r.role, r.status, r.assignmentStatus, r.result])).toEqual([
      ['7', 'provider', 'completed', 'completed', 'the answer'],
      ['6', 'provider', 'open', null, null],
      ['5', 'requester', 'assigned', 'accepted', null],
    ]);
    expect(views.compute.find((r) => r.requestId === '5')).toMatchObject({ job: 'job 5', requesterName: 'Me', providerName: 'Them' });
    expect(views.compute.find((r) => r.requestId === '6')).toMatchObject({ requesterName: 'Them', providerName: '' });
  });

  it('gives no views of a world without a self node but keeps what it holds', () => {
    const views = deriveViews(snapshot({ selfId: null, outbox: [{ key: 'o1', channelId: '2', payload: 'queued', createdAt: 4 }] }));
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
