// Channels, messages and transport checkpoints. Messages are append-only, numbered per channel
// without gaps (seq 1, 2, ...) and hash-chained (src/canonical.ts). Reducers run one at a time,
// so last_seq + 1 read and written in one transaction is gapless under any number of writers.
import type { Identity } from 'spacetimedb';
import { t } from 'spacetimedb/server';
import { authorizeNode, membershipOf, requireMember, type Ctx } from './auth';
import { GENESIS_HASH, messageHash } from './canonical';
import { BridgeSource, Capability, ChannelKind, ChannelRole, ChannelStatus, Limits, Scope } from './constants';
import { enqueueBridgeEvent } from './outbox';
import spacetimedb from './schema';
import { checkKey, checkOneOf, checkText, checkToken } from './validate';
import { refuse } from './refuse';
import { me } from './identity';

/** Nostr kind used for mirrored channel messages (a plain text note). */
export const MIRROR_NOSTR_KIND = 1;

export const open_channel = spacetimedb.reducer(
  {
    idempotency_key: t.string(),
    workspace_id: t.u64(),
    name: t.string(),
    topic: t.string(),
    kind: t.string(),
    is_private: t.bool(),
    mirror_to_nostr: t.bool(),
    participants: t.array(t.identity()),
  },
  (ctx, args) => {
    const { claims } = authorizeNode(ctx, 'open_channel', Scope.commsWrite);
    checkKey(args.idempotency_key, 'idempotency_key', Limits.idempotencyKey);
    for (const prior of ctx.db.comms_channel.idempotency_key.filter(args.idempotency_key)) {
      if (prior.created_by.isEqual(me(ctx))) return;
      throw refuse('duplicate_key', 'open_channel: idempotency_key was already used by another node');
    }
    checkText(args.name, 'name', Limits.name);
    checkText(args.topic, 'topic', Limits.topic, { allowEmpty: true });
    const kind = args.kind === '' ? ChannelKind.group : checkOneOf(args.kind, 'kind', [ChannelKind.group, ChannelKind.direct]);
    if (args.mirror_to_nostr) {
      if (!claims.scopes.includes(Scope.bridgePublish)) throw refuse('missing_scope', `open_channel denied: mirror_to_nostr needs scope ${Scope.bridgePublish}`);
      if (args.is_private) throw refuse('invalid_argument', 'open_channel: a private channel cannot be mirrored to Nostr');
    }
    if (args.workspace_id !== 0n) requireMember(ctx, 'open_channel', args.workspace_id, Capability.commsWrite);
    const others = distinctOthers(ctx, args.participants);
    if (others.length > Limits.participants) throw refuse('limit_exceeded', `open_channel: at most ${Limits.participants} participants`);
    if (kind === ChannelKind.direct && (!args.is_private || others.length !== 1)) {
      throw refuse('invalid_argument', 'open_channel: a direct channel is private and has exactly one other participant');
    }
    for (const participant of others) checkEligible(ctx, 'open_channel', args.workspace_id, participant);
    const channel = ctx.db.comms_channel.insert({
      channel_id: 0n,
      workspace_id: args.workspace_id,
      name: args.name,
      topic: args.topic,
      kind,
      is_private: args.is_private,
      mirror_to_nostr: args.mirror_to_nostr,
      status: ChannelStatus.open,
      created_by: me(ctx),
      created_at: ctx.timestamp,
      closed_at: undefined,
      closed_by: undefined,
      last_seq: 0n,
      last_hash: GENESIS_HASH,
      participant_count: 1 + others.length,
      idempotency_key: args.idempotency_key,
    });
    addSeat(ctx, channel.channel_id, me(ctx), ChannelRole.owner);
    for (const participant of others) addSeat(ctx, channel.channel_id, participant, ChannelRole.member);
  },
);

/** Take a seat in a public (non-private) channel. */
export const join_channel = spacetimedb.reducer({ channel_id: t.u64() }, (ctx, { channel_id }) => {
  authorizeNode(ctx, 'join_channel', Scope.commsWrite);
  const channel = ctx.db.comms_channel.channel_id.find(channel_id);
  // Private and missing channels answer alike, so ids of private channels are not confirmed.
  if (!channel || channel.is_private) throw refuse('not_found', `join_channel denied: no public channel ${channel_id}`);
  if (seatOf(ctx, channel_id, me(ctx))) return;
  if (channel.status !== ChannelStatus.open) throw refuse('invalid_state', `join_channel: channel ${channel_id} is closed`);
  if (channel.workspace_id !== 0n) requireMember(ctx, 'join_channel', channel.workspace_id);
  addSeat(ctx, channel_id, me(ctx), ChannelRole.member);
  ctx.db.comms_channel.channel_id.update({ ...channel, participant_count: channel.participant_count + 1 });
});

/** Private channels: only their owner (or a workspace channel manager) adds people. */
export const add_channel_participant = spacetimedb.reducer(
  { channel_id: t.u64(), participant: t.identity() },
  (ctx, { channel_id, participant }) => {
    authorizeNode(ctx, 'add_channel_participant', Scope.commsWrite);
    const { channel, seat } = requireSeat(ctx, 'add_channel_participant', channel_id);
    if (channel.kind === ChannelKind.direct) throw refuse('invalid_state', 'add_channel_participant: a direct channel has fixed participants');
    if (channel.is_private && seat.role !== ChannelRole.owner && !managesChannels(ctx, channel.workspace_id)) {
      throw refuse('not_owner', 'add_channel_participant denied: only the channel owner may add people to a private channel');
    }
    if (seatOf(ctx, channel_id, participant)) return;
    if (channel.status !== ChannelStatus.open) throw refuse('invalid_state', `add_channel_participant: channel ${channel_id} is closed`);
    if (channel.participant_count >= Limits.participants + 1) throw refuse('limit_exceeded', `add_channel_participant: channel ${channel_id} is full`);
    checkEligible(ctx, 'add_channel_participant', channel.workspace_id, participant);
    addSeat(ctx, channel_id, participant, ChannelRole.member);
    ctx.db.comms_channel.channel_id.update({ ...channel, participant_count: channel.participant_count + 1 });
  },
);

export const leave_channel = spacetimedb.reducer({ channel_id: t.u64() }, (ctx, { channel_id }) => {
  authorizeNode(ctx, 'leave_channel');
  const seat = seatOf(ctx, channel_id, me(ctx));
  const channel = ctx.db.comms_channel.channel_id.find(channel_id);
  if (!seat || !channel) return;
  ctx.db.channel_participant.participation_id.delete(seat.participation_id);
  ctx.db.comms_channel.channel_id.update({ ...channel, participant_count: channel.participant_count - 1 });
});

export const close_channel = spacetimedb.reducer({ channel_id: t.u64() }, (ctx, { channel_id }) => {
  authorizeNode(ctx, 'close_channel', Scope.commsWrite);
  const channel = ctx.db.comms_channel.channel_id.find(channel_id);
  const seat = channel ? seatOf(ctx, channel_id, me(ctx)) : undefined;
  const allowed = channel && ((seat && seat.role === ChannelRole.owner) || managesChannels(ctx, channel.workspace_id));
  if (!channel || !allowed) throw refuse('not_owner', `close_channel denied: channel ${channel_id} is not yours to close`);
  if (channel.status === ChannelStatus.closed) return;
  ctx.db.comms_channel.channel_id.update({ ...channel, status: ChannelStatus.closed, closed_at: ctx.timestamp, closed_by: me(ctx) });
});

/**
 * Appends one message. A retry with the same idempotency_key (same sender, same content) writes
 * nothing and succeeds; the original row can be read from my_messages by that key.
 */
export const publish_message = spacetimedb.reducer(
  {
    channel_id: t.u64(),
    idempotency_key: t.string(),
    kind: t.string(),
    content_type: t.string(),
    payload: t.string(),
    reply_to_seq: t.u64(),
  },
  (ctx, args) => {
    const { config, node } = authorizeNode(ctx, 'publish_message', Scope.commsWrite);
    checkKey(args.idempotency_key, 'idempotency_key', Limits.idempotencyKey);
    const kind = args.kind === '' ? 'text' : checkToken(args.kind, 'kind', Limits.kind);
    const contentType = args.content_type === '' ? 'text/plain' : checkText(args.content_type, 'content_type', Limits.name);
    for (const prior of ctx.db.message_event.idempotency_key.filter(args.idempotency_key)) {
      if (!prior.sender.isEqual(me(ctx))) throw refuse('duplicate_key', 'publish_message: idempotency_key was already used by another sender');
      const same =
        prior.channel_id === args.channel_id &&
        prior.kind === kind &&
        prior.content_type === contentType &&
        prior.payload === args.payload &&
        prior.reply_to_seq === args.reply_to_seq;
      if (same) return;
      throw refuse('duplicate_key', `publish_message: idempotency_key was already used for a different message (channel ${prior.channel_id}, seq ${prior.seq})`);
    }
    const { channel } = requireSeat(ctx, 'publish_message', args.channel_id);
    if (channel.status !== ChannelStatus.open) throw refuse('invalid_state', `publish_message: channel ${args.channel_id} is closed`);
    if (channel.workspace_id !== 0n) requireMember(ctx, 'publish_message', channel.workspace_id, Capability.commsWrite);
    checkText(args.payload, 'payload', config.max_message_bytes);
    if (args.reply_to_seq > channel.last_seq) throw refuse('invalid_argument', `publish_message: reply_to_seq ${args.reply_to_seq} does not exist yet`);

    const seq = channel.last_seq + 1n;
    const hash = messageHash({
      prevHash: channel.last_hash,
      channelId: channel.channel_id,
      seq,
      senderHex: me(ctx).toHexString(),
      senderPubkey: node.nostr_pubkey,
      sentAtMicros: ctx.timestamp.microsSinceUnixEpoch,
      kind,
      contentType,
      payload: args.payload,
      replyToSeq: args.reply_to_seq,
      idempotencyKey: args.idempotency_key,
    });
    const event = ctx.db.message_event.insert({
      event_id: 0n,
      channel_id: channel.channel_id,
      seq,
      sender: me(ctx),
      sender_pubkey: node.nostr_pubkey,
      kind,
      content_type: contentType,
      payload: args.payload,
      reply_to_seq: args.reply_to_seq,
      idempotency_key: args.idempotency_key,
      prev_hash: channel.last_hash,
      hash,
      sent_at: ctx.timestamp,
    });
    ctx.db.comms_channel.channel_id.update({ ...channel, last_seq: seq, last_hash: hash });
    if (channel.mirror_to_nostr) {
      enqueueBridgeEvent(ctx, {
        source: BridgeSource.message,
        channel_id: channel.channel_id,
        message_event_id: event.event_id,
        nostr_kind: MIRROR_NOSTR_KIND,
        content: args.payload,
        tags_json: JSON.stringify([
          ['autopilot-channel', String(channel.channel_id)],
          ['autopilot-seq', String(seq)],
          ['autopilot-hash', hash],
        ]),
        idempotency_key: `message:${event.event_id}`,
      });
    }
  },
);

/** Moves the caller's checkpoint forward (never back): seen >= acked, both <= the channel's last seq. */
export const ack_message = spacetimedb.reducer(
  { channel_id: t.u64(), seen_seq: t.u64(), acked_seq: t.u64() },
  (ctx, { channel_id, seen_seq, acked_seq }) => {
    authorizeNode(ctx, 'ack_message');
    const { channel } = requireSeat(ctx, 'ack_message', channel_id);
    const highest = seen_seq > acked_seq ? seen_seq : acked_seq;
    if (highest > channel.last_seq) throw refuse('invalid_argument', `ack_message: channel ${channel_id} has no seq ${highest} yet (last is ${channel.last_seq})`);
    let existing;
    for (const row of ctx.db.transport_checkpoint.by_node_channel.filter([me(ctx), channel_id])) existing = row;
    const seen = max(existing?.last_seen_seq ?? 0n, highest);
    const acked = max(existing?.last_acked_seq ?? 0n, acked_seq);
    if (existing) {
      if (existing.last_seen_seq === seen && existing.last_acked_seq === acked) return;
      ctx.db.transport_checkpoint.checkpoint_id.update({ ...existing, last_seen_seq: seen, last_acked_seq: acked, updated_at: ctx.timestamp });
    } else {
      ctx.db.transport_checkpoint.insert({
        checkpoint_id: 0n,
        node_id: me(ctx),
        channel_id,
        last_seen_seq: seen,
        last_acked_seq: acked,
        updated_at: ctx.timestamp,
      });
    }
  },
);

// ---- helpers ----

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function seatOf(ctx: Ctx, channelId: bigint, who: Identity) {
  for (const seat of ctx.db.channel_participant.by_channel_participant.filter([channelId, who])) return seat;
  return undefined;
}

function requireSeat(ctx: Ctx, action: string, channelId: bigint) {
  const channel = ctx.db.comms_channel.channel_id.find(channelId);
  const seat = channel ? seatOf(ctx, channelId, me(ctx)) : undefined;
  if (!channel || !seat) throw refuse('not_member', `${action} denied: not a participant of channel ${channelId}`);
  return { channel, seat };
}

function addSeat(ctx: Ctx, channelId: bigint, who: Identity, role: string): void {
  ctx.db.channel_participant.insert({
    participation_id: 0n,
    channel_id: channelId,
    participant: who,
    role,
    added_by: me(ctx),
    joined_at: ctx.timestamp,
  });
}

function managesChannels(ctx: Ctx, workspaceId: bigint): boolean {
  if (workspaceId === 0n) return false;
  return membershipOf(ctx, workspaceId, me(ctx))?.capabilities.includes(Capability.channelsManage) ?? false;
}

/** Workspace channels seat only members; world channels only nodes that have joined. */
function checkEligible(ctx: Ctx, action: string, workspaceId: bigint, who: Identity): void {
  if (workspaceId !== 0n) {
    if (!membershipOf(ctx, workspaceId, who)) throw refuse('invalid_argument', `${action}: ${who.toHexString()} is not a member of workspace ${workspaceId}`);
  } else if (!ctx.db.autopilot_node.node_id.find(who)) {
    throw refuse('not_found', `${action}: ${who.toHexString()} has never joined this world`);
  }
}

/** Participants without the caller and without repeats, in the order given. */
function distinctOthers(ctx: Ctx, participants: readonly Identity[]): Identity[] {
  const seen = new Set<string>([me(ctx).toHexString()]);
  const out: Identity[] = [];
  for (const participant of participants) {
    const hex = participant.toHexString();
    if (seen.has(hex)) continue;
    seen.add(hex);
    out.push(participant);
  }
  return out;
}
