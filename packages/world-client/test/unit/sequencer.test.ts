import { describe, expect, it } from 'vitest';
import { ChannelSequencer } from '../../src/index';

type Message = { channelId: string; seq: number; text: string };
const m = (channelId: string, seq: number): Message => ({ channelId, seq, text: `${channelId}#${seq}` });

function collect() {
  const out: string[] = [];
  const sequencer = new ChannelSequencer<Message>((batch) => out.push(...batch.map((message) => message.text)));
  return { out, sequencer };
}

describe('ChannelSequencer', () => {
  it('hands out each message once, in seq order, holding early ones until the gap closes', () => {
    const { out, sequencer } = collect();
    sequencer.offer([m('1', 1), m('1', 3), m('1', 4)]);
    expect(out).toEqual(['1#1']);
    expect(sequencer.gaps()).toEqual([{ channelId: '1', deliveredThrough: 1, nextBuffered: 3 }]);
    sequencer.offer([m('1', 2), m('1', 3)]);
    expect(out).toEqual(['1#1', '1#2', '1#3', '1#4']);
    expect(sequencer.gaps()).toEqual([]);
    sequencer.offer([m('1', 1), m('1', 4), m('1', 2)]);
    expect(out).toHaveLength(4);
    expect(sequencer.deliveredThrough('1')).toBe(4);
  });

  it('keeps channels independent (batches list channels in the order they first appear)', () => {
    const { out, sequencer } = collect();
    sequencer.offer([m('2', 2), m('1', 1), m('2', 1)]);
    expect(out).toEqual(['2#1', '2#2', '1#1']);
  });

  it('starts after a floor (a checkpoint) and never lowers it', () => {
    const { out, sequencer } = collect();
    sequencer.raiseFloor('7', 3);
    sequencer.offer([1, 2, 3, 4, 5].map((seq) => m('7', seq)));
    expect(out).toEqual(['7#4', '7#5']);
    sequencer.raiseFloor('7', 2);
    expect(sequencer.deliveredThrough('7')).toBe(5);
  });

  it('a floor over a gap releases what waited behind it', () => {
    const { out, sequencer } = collect();
    sequencer.offer([m('1', 5), m('1', 6)]);
    expect(out).toEqual([]);
    sequencer.raiseFloor('1', 4);
    expect(out).toEqual(['1#5', '1#6']);
  });

  it('refuses a seq that is not a safe non-negative integer', () => {
    const { sequencer } = collect();
    expect(() => sequencer.offer([m('1', 1.5)])).toThrow('seq must be a non-negative safe integer, got 1.5');
    expect(() => sequencer.raiseFloor('1', -1)).toThrow('got -1');
  });
});
