// The renderer store's channel selection: a channel we open is selected by the key `channels.open`
// answered, whether its row arrived before that answer or after, and never by a look-alike name.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AppState, Channel } from '../src/shared/contract';
import { useStore } from '../src/renderer/store';

const channel = (id: string, name: string, idempotencyKey: string): Channel => ({
  id,
  name,
  topic: '',
  kind: 'group',
  isPrivate: true,
  workspaceId: '0',
  status: 'open',
  participants: [],
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  idempotencyKey,
});

beforeEach(() => {
  useStore.setState({ app: { channels: [channel('1', 'ops', 'c:old')] } as unknown as AppState, selectedChannelId: null, pendingChannelKey: null });
});

describe('renderer store', () => {
  it('selects an opened channel when its row arrives after the answer, by key not by name', () => {
    useStore.getState().expectChannel('c:new');
    expect(useStore.getState().selectedChannelId).toBeNull();
    // Someone else's channel with the same name shows up first: not ours.
    useStore.getState().apply({ slice: 'channels', value: [channel('1', 'ops', 'c:old'), channel('2', 'ops', 'c:theirs')] });
    expect(useStore.getState().selectedChannelId).toBeNull();
    useStore.getState().apply({ slice: 'channels', value: [channel('1', 'ops', 'c:old'), channel('2', 'ops', 'c:theirs'), channel('3', 'ops', 'c:new')] });
    expect(useStore.getState()).toMatchObject({ selectedChannelId: '3', pendingChannelKey: null });
  });

  it('selects it at once when its row arrived before the answer', () => {
    useStore.getState().expectChannel('c:old');
    expect(useStore.getState()).toMatchObject({ selectedChannelId: '1', pendingChannelKey: null });
  });
});
