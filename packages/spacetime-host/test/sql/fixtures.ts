// A small schema shared by the compile/eval/ad hoc tests.
import { T, makeCatalog } from './helpers';

export const catalog = makeCatalog(
  [
    {
      name: 'user',
      columns: [
        ['identity', T.identity],
        ['name', T.string],
        ['online', T.bool],
        ['owner_id', T.u64, 'ownerId'],
        ['created_at', T.timestamp, 'createdAt'],
        ['score', T.f64],
        ['tags', T.u32s],
        ['maybe', T.optionU32],
        ['pos', T.point],
        ['avatar', T.bytes],
      ],
      primaryKey: 0,
      indexes: [[0], [3]],
    },
    {
      name: 'message',
      columns: [
        ['id', T.u64],
        ['sender', T.identity],
        ['text', T.string],
        ['sent', T.timestamp],
      ],
      primaryKey: 0,
      indexes: [[0], [1]],
    },
    { name: 'secret', columns: [['id', T.u32], ['data', T.string]], indexes: [[0]], isPublic: false },
    // No index at all: can only be the scanned side of a join.
    { name: 'note', columns: [['owner', T.identity], ['body', T.string], ['name', T.string]] },
    // Event table, indexed on `who` so that only the event rule (not the index rule) can refuse it.
    { name: 'ping', columns: [['id', T.u32], ['who', T.identity]], indexes: [[1]], isEvent: true },
    { name: 'player_state', sourceName: 'playerState', columns: [['player_id', T.u32, 'playerId'], ['hp', T.i32]], indexes: [[0]] },
    // Multi-column index only: not usable for a join lookup on `a`.
    { name: 'pair', columns: [['a', T.u32], ['b', T.u32]], indexes: [[0, 1]] },
  ],
  [
    { name: 'my_stuff', sourceName: 'myStuff', columns: [['id', T.u32], ['label', T.string]] },
    { name: 'hidden_view', columns: [['id', T.u32]], isPublic: false },
  ],
);
