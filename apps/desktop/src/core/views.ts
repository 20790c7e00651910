// The world as the renderer sees it: a pure mapping from the world-client's store states onto the
// bridge contract's slices, keeping the client views' field names (README "Conventions"). Names are resolved here (once, by one label rule), unread messages counted,
// outbox entries shown as pending, and compute requests merged from both sides. No I/O, no clock:
// the same snapshot always gives the same views, which is what the unit tests rely on.
import { hexToNpub } from '@autopilot/nip06';
import { readInlineResult } from '@autopilot/world-client';
import type { AppState, Channel, ComputeRequest, Message, Peer } from '../shared/contract';
import type { WorldSnapshot } from './world/session';

export type WorldViews = Pick<AppState, 'presence' | 'channels' | 'messages' | 'ads' | 'compute' | 'workspaces'>;

/**
 * Maps the world-client's store states onto the contract's slices (names resolved, unread counted).
 * Fields keep the client views' names; only what the renderer needs besides is added here.
 */
export function deriveViews(world: WorldSnapshot): WorldViews {
  const selfId = world.presence.self;
  const nodes = Object.values(world.presence.nodes);
  const names = new Map(nodes.map((n) => [n.id, peerLabel(n.displayName, n.pubkey)]));
  const nameOf = (id: string | null) => (id === null ? '' : (names.get(id) ?? `${id.slice(0, 8)}…`));

  const presence: Peer[] = nodes
    .map((n) => ({
      id: n.id,
      pubkey: n.pubkey,
      npub: safeNpub(n.pubkey),
      displayName: n.displayName,
      label: peerLabel(n.displayName, n.pubkey),
      status: n.status,
      lastHeartbeatAtMs: n.lastHeartbeatAtMs,
      isSelf: n.id === selfId,
    }))
    .sort((a, b) => Number(b.isSelf) - Number(a.isSelf) || statusRank(a.status) - statusRank(b.status) || a.displayName.localeCompare(b.displayName));

  const messages: Record<string, Message[]> = {};
  for (const list of Object.values(world.messages.byChannel)) {
    for (const m of list) {
      (messages[m.channelId] ??= []).push({
        channelId: m.channelId,
        seq: m.seq,
        sender: m.sender,
        senderName: nameOf(m.sender),
        payload: m.payload,
        sentAtMs: m.sentAtMs,
        idempotencyKey: m.idempotencyKey,
        pending: false,
      });
    }
  }
  for (const e of world.messages.pending) {
    (messages[e.channelId] ??= []).push({
      channelId: e.channelId,
      seq: 0,
      sender: selfId,
      senderName: nameOf(selfId),
      payload: e.payload,
      sentAtMs: e.enqueuedAtMs,
      idempotencyKey: e.key,
      pending: true,
    });
  }

  const channels: Channel[] = Object.values(world.channels.mine)
    .map((c) => {
      const readSeq = world.channels.checkpoints[c.id]?.lastAckedSeq ?? 0;
      const unread = (messages[c.id] ?? []).filter((m) => !m.pending && m.seq > readSeq && m.sender !== selfId).length;
      return {
        id: c.id,
        name: c.name,
        topic: c.topic,
        kind: c.kind,
        isPrivate: c.isPrivate,
        workspaceId: c.workspaceId,
        status: c.status,
        participants: (world.channels.participants[c.id] ?? []).map((seat) => seat.participant),
        lastSeq: c.lastSeq,
        readSeq,
        unread,
        idempotencyKey: c.idempotencyKey,
      };
    })
    .sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));

  const ads = Object.values(world.capabilities.ads)
    .filter((a) => a.active || a.provider === selfId)
    .map((a) => ({
      id: a.id,
      provider: a.provider,
      providerName: nameOf(a.provider),
      tools: [...a.tools],
      models: [...a.models],
      computeClasses: [...a.computeClasses],
      maxConcurrency: a.maxConcurrency,
      priceHints: a.priceHints,
      region: a.region,
      active: a.active,
      isOwn: a.provider === selfId,
    }))
    .sort((a, b) => Number(b.isOwn) - Number(a.isOwn) || a.providerName.localeCompare(b.providerName));

  const assignments = Object.values(world.compute.assignments);
  const latestAssignment = (requestId: string) => {
    let found: (typeof assignments)[number] | undefined;
    for (const a of assignments) if (a.requestId === requestId && (!found || BigInt(a.id) > BigInt(found.id))) found = a;
    return found;
  };
  const compute: ComputeRequest[] = [];
  const seen = new Set<string>();
  for (const [role, list] of [
    ['requester', Object.values(world.compute.requests)],
    ['provider', Object.values(world.compute.inbox)],
  ] as const) {
    for (const r of list) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const assignment = world.compute.assignments[r.assignmentId] ?? latestAssignment(r.id);
      const provider = r.targetProvider ?? assignment?.provider ?? null;
      compute.push({
        id: r.id,
        requester: r.requester,
        requesterName: nameOf(r.requester),
        targetProvider: r.targetProvider,
        providerName: nameOf(provider),
        policyClass: r.policyClass,
        job: jobPrompt(r.jobEnvelope),
        status: r.status,
        role,
        assignmentStatus: assignment?.status ?? null,
        reason: assignment?.reason ?? '',
        result: assignment ? resultText(assignment.resultRef, assignment.resultHash) : null,
        resultHash: assignment?.resultHash ?? '',
        createdAtMs: r.createdAtMs,
        updatedAtMs: r.updatedAtMs,
      });
    }
  }
  // Requests this node served that have left its inbox (completed): keep showing them.
  for (const a of assignments) {
    if (a.provider !== selfId || seen.has(a.requestId)) continue;
    if (a.status !== 'completed' && a.status !== 'failed') continue;
    seen.add(a.requestId);
    compute.push({
      id: a.requestId,
      requester: selfId ?? '0'.repeat(64),
      requesterName: '',
      targetProvider: selfId,
      providerName: nameOf(selfId),
      policyClass: '',
      job: '',
      status: a.status,
      role: 'provider',
      assignmentStatus: a.status,
      reason: a.reason,
      result: resultText(a.resultRef, a.resultHash),
      resultHash: a.resultHash,
      createdAtMs: 0,
      updatedAtMs: 0,
    });
  }
  compute.sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));

  const members = Object.values(world.files.members);
  const workspaces = Object.values(world.files.workspaces)
    .flatMap((w) => {
      const seated = members.filter((m) => m.workspaceId === w.id);
      const mine = seated.find((m) => m.member === selfId);
      return mine ? [{ id: w.id, slug: w.slug, name: w.name, role: mine.role, members: seated.map((m) => m.member) }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { presence, channels, messages, ads, compute, workspaces };
}

/** The job as a person reads it: the envelope's input text, else its kind and input as JSON. */
export function jobPrompt(envelope: string): string {
  try {
    const parsed = JSON.parse(envelope) as { kind?: unknown; input?: { text?: unknown } };
    if (typeof parsed.input?.text === 'string') return parsed.input.text;
    return `${String(parsed.kind ?? 'job')}: ${JSON.stringify(parsed.input ?? {})}`;
  } catch {
    return envelope;
  }
}

/** An inline result checked against its hash; its text when it has one, else its JSON. */
export function resultText(resultRef: string, resultHash: string): string | null {
  if (resultRef === '') return null;
  const read = readInlineResult(resultRef, resultHash);
  if (!read.ok) return `(unverified result: ${read.reason})`;
  const value = read.result as { text?: unknown };
  return typeof value?.text === 'string' ? value.text : JSON.stringify(read.result);
}

function statusRank(status: string): number {
  return ({ online: 0, busy: 1, away: 2, offline: 3 } as Record<string, number>)[status] ?? 4;
}

function safeNpub(hex: string): string {
  try {
    return hexToNpub(hex);
  } catch {
    return '';
  }
}

/** The one rule for what a node is called: its display name, else a short npub, else a short key. */
export function peerLabel(displayName: string, pubkey: string): string {
  if (displayName !== '') return displayName;
  const npub = safeNpub(pubkey);
  return npub ? `${npub.slice(0, 12)}…` : `${pubkey.slice(0, 8)}…`;
}

