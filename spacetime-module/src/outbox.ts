// The one place that writes a pending bridge_outbox row (direct enqueues and mirrored messages).
import type { Ctx } from './auth';
import { BridgeState, type BridgeSource } from './constants';
import { me } from './identity';

export interface PendingBridgeEvent {
  source: (typeof BridgeSource)[keyof typeof BridgeSource];
  channel_id: bigint;
  message_event_id: bigint;
  nostr_kind: number;
  content: string;
  tags_json: string;
  idempotency_key: string;
}

export function enqueueBridgeEvent(ctx: Ctx, event: PendingBridgeEvent): void {
  ctx.db.bridge_outbox.insert({
    outbox_id: 0n,
    ...event,
    state: BridgeState.pending,
    nostr_event_id: '',
    relay: '',
    attempts: 0,
    last_error: '',
    enqueued_by: me(ctx),
    enqueued_at: ctx.timestamp,
    updated_at: ctx.timestamp,
    published_at: undefined,
  });
}
