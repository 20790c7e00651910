// The Nostr bridge outbox. Rows are enqueued by publish_message (channels with mirror_to_nostr)
// or directly; the mirror worker (a node whose token carries bridge:publish) reads pending rows
// through the bridge_pending view, publishes them, and marks them published (or failed, to retry).
// Least privilege: a node may settle its own rows; only a mirror worker or an admin settles others'.
import { t } from 'spacetimedb/server';
import { authorizeNode, isWorldAdmin, type Caller, type Ctx } from './auth';
import { seatOf } from './comms';
import { BridgeSource, BridgeState, Limits, Scope } from './constants';
import { enqueueBridgeEvent } from './outbox';
import spacetimedb from './schema';
import { checkHex64, checkJson, checkKey, checkText } from './validate';
import { refuse } from './refuse';
import { me } from './identity';

/** channel_id 0 = not tied to a channel; otherwise the caller must sit in that mirrored channel. */
export const enqueue_nostr_bridge_event = spacetimedb.reducer(
  { idempotency_key: t.string(), channel_id: t.u64(), nostr_kind: t.u32(), content: t.string(), tags_json: t.string() },
  (ctx, args) => {
    const { config } = authorizeNode(ctx, 'enqueue_nostr_bridge_event', Scope.bridgePublish);
    checkKey(args.idempotency_key, 'idempotency_key', Limits.idempotencyKey);
    if (args.nostr_kind > 65_535) throw refuse('invalid_argument', 'enqueue_nostr_bridge_event: nostr_kind must be at most 65535');
    checkText(args.content, 'content', config.max_message_bytes, { allowEmpty: true });
    const tags = checkJson(args.tags_json, 'tags_json', 'tag_list', Limits.jsonText);
    for (const prior of ctx.db.bridge_outbox.idempotency_key.filter(args.idempotency_key)) {
      if (!prior.enqueued_by.isEqual(me(ctx))) throw refuse('duplicate_key', 'enqueue_nostr_bridge_event: idempotency_key was already used by another node');
      if (prior.channel_id === args.channel_id && prior.nostr_kind === args.nostr_kind && prior.content === args.content && prior.tags_json === tags) return;
      throw refuse('duplicate_key', `enqueue_nostr_bridge_event: idempotency_key was already used for a different event (${prior.outbox_id})`);
    }
    if (args.channel_id !== 0n) {
      const channel = ctx.db.comms_channel.channel_id.find(args.channel_id);
      if (!channel || !seatOf(ctx, args.channel_id, me(ctx))) {
        throw refuse('not_member', `enqueue_nostr_bridge_event denied: not a participant of channel ${args.channel_id}`);
      }
      if (!channel.mirror_to_nostr) throw refuse('invalid_state', `enqueue_nostr_bridge_event: channel ${args.channel_id} is not mirrored to Nostr`);
    }
    enqueueBridgeEvent(ctx, {
      source: BridgeSource.direct,
      channel_id: args.channel_id,
      message_event_id: 0n,
      nostr_kind: args.nostr_kind,
      content: args.content,
      tags_json: tags,
      idempotency_key: args.idempotency_key,
    });
  },
);

/** Marking the same event id again is a no-op; a different event id for a published row is refused. */
export const mark_bridge_event_published = spacetimedb.reducer(
  { outbox_id: t.u64(), nostr_event_id: t.string(), relay: t.string() },
  (ctx, { outbox_id, nostr_event_id, relay }) => {
    const caller = authorizeNode(ctx, 'mark_bridge_event_published');
    checkHex64(nostr_event_id, 'nostr_event_id');
    checkText(relay, 'relay', Limits.shortText, { allowEmpty: true });
    const row = requireRow(ctx, 'mark_bridge_event_published', outbox_id, caller);
    if (row.state === BridgeState.published) {
      if (row.nostr_event_id === nostr_event_id) return;
      throw refuse('invalid_state', `mark_bridge_event_published: outbox ${outbox_id} was already published as ${row.nostr_event_id}`);
    }
    ctx.db.bridge_outbox.outbox_id.update({
      ...row,
      state: BridgeState.published,
      nostr_event_id,
      relay,
      attempts: row.attempts + 1,
      last_error: '',
      updated_at: ctx.timestamp,
      published_at: ctx.timestamp,
    });
  },
);

/** Records a failed publish attempt; the row stays in bridge_pending for another try. */
export const mark_bridge_event_failed = spacetimedb.reducer({ outbox_id: t.u64(), error: t.string() }, (ctx, { outbox_id, error }) => {
  const caller = authorizeNode(ctx, 'mark_bridge_event_failed');
  checkText(error, 'error', Limits.shortText);
  const row = requireRow(ctx, 'mark_bridge_event_failed', outbox_id, caller);
  if (row.state === BridgeState.published) throw refuse('invalid_state', `mark_bridge_event_failed: outbox ${outbox_id} is already published`);
  ctx.db.bridge_outbox.outbox_id.update({ ...row, state: BridgeState.failed, attempts: row.attempts + 1, last_error: error, updated_at: ctx.timestamp });
});

/**
 * The outbox row, if the caller may settle it: its own row (it enqueued it), or any row for a
 * mirror worker (bridge:publish) or a world admin. Anyone else gets not_owner.
 */
function requireRow(ctx: Ctx, action: string, outboxId: bigint, caller: Caller) {
  const row = ctx.db.bridge_outbox.outbox_id.find(outboxId);
  if (!row) throw refuse('not_found', `${action}: no outbox row ${outboxId}`);
  const own = row.enqueued_by.isEqual(me(ctx));
  if (!own && !caller.claims.scopes.includes(Scope.bridgePublish) && !isWorldAdmin(ctx, ctx.sender) && !isWorldAdmin(ctx, me(ctx))) {
    throw refuse('not_owner', `${action} denied: outbox row ${outboxId} is not yours and your token lacks scope ${Scope.bridgePublish}`);
  }
  return row;
}
