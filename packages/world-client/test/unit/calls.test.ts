// One spec per reducer: the spec checks the input, builds the stored entry, and its kind is a
// literal union, so a misspelt kind is a compile error (checked by tsc over this file).
import { describe, expect, it } from 'vitest';
import { CALL_SPECS, InvalidArgument, type CallArgs, type CallInput, type OutboxKind } from '../../src/index';

describe('CALL_SPECS', () => {
  it('names every kind as a literal, so a typo does not compile', () => {
    const kind: OutboxKind = 'ack_message';
    // @ts-expect-error 'ack_mesage' is not a reducer the outbox can carry
    const typo: OutboxKind = 'ack_mesage';
    // @ts-expect-error a spec's input is typed by its kind: ack_message needs a seq
    const input: CallInput<'ack_message'> = { channelId: '1' };
    // @ts-expect-error stored args are typed by kind too
    const args: CallArgs<'join_channel'> = { requestId: '1' };
    expect([kind, typo, input, args]).toHaveLength(4);
    expect(Object.keys(CALL_SPECS)).toContain(kind);
    expect(Object.keys(CALL_SPECS)).not.toContain(typo);
  });

  it('checks the input before anything is stored', () => {
    expect(() => CALL_SPECS.join_channel.build('abc')).toThrow(InvalidArgument);
    expect(() => CALL_SPECS.publish_message.build({ channelId: '1', payload: 'hi', idempotencyKey: 'bad key' })).toThrow(/idempotencyKey/);
    expect(() => CALL_SPECS.complete_compute.build({ requestId: '2', success: true, resultHash: 'XYZ' })).toThrow(/resultHash/);
  });

  it('builds the entry the outbox stores: key, JSON args, coalesce group', () => {
    const ack = CALL_SPECS.ack_message.build({ channelId: '7', seq: 5 });
    expect(ack.coalesce).toBe('ack:7');
    expect(ack.args).toEqual({ channelId: '7', seenSeq: 5, ackedSeq: 5 });
    const seen = CALL_SPECS.ack_message.build({ channelId: '7', seq: 5, seenOnly: true });
    expect(seen.coalesce).toBe('seen:7');
    expect(seen.args).toEqual({ channelId: '7', seenSeq: 5, ackedSeq: 0 });
    const message = CALL_SPECS.publish_message.build({ channelId: '3', payload: 'hi', idempotencyKey: 'k-1' });
    expect(message).toEqual({ key: 'k-1', args: { channelId: '3', payload: 'hi', kind: 'text', contentType: 'text/plain', replyToSeq: 0 } });
    expect(JSON.parse(JSON.stringify(message.args))).toEqual(message.args);
  });
});
