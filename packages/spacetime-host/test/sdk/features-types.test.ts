// Every column type round-trips: client args → reducer → insert → subscription (live update to the
// caller and to another client, and the initial rows of a later subscription); then WHERE filters
// with a literal of each comparable type select the expected rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionId, Identity, ScheduleAt, TimeDuration, Timestamp, Uuid } from 'spacetimedb';
import type { RunningHost } from '../../src/index';
import type { EveryType } from '../fixtures/features/module_bindings/types';
import { connect, startFeaturesHost, subscribe, subscriptionError, type Client } from './features-helpers';
import { until } from './helpers';

let host: RunningHost;
let a: Client;
let b: Client;

const U64_MAX = (1n << 64n) - 1n;

function rows(owner: Identity): EveryType[] {
  const maxima: EveryType = {
    id: 1,
    flag: true,
    tinyU: 255,
    tinyI: -128,
    smallU: 65535,
    smallI: -32768,
    midU: 4294967295,
    midI: -2147483648,
    bigU: U64_MAX,
    bigI: -(1n << 63n),
    hugeU: (1n << 128n) - 1n,
    hugeI: -(1n << 127n),
    giantU: (1n << 256n) - 1n,
    giantI: -(1n << 255n),
    single: -3.25,
    double: 1e300,
    text: "héllo 😀 it's\u0000",
    blob: new Uint8Array([0, 1, 254, 255]),
    numbers: [-1, 0, 2147483647],
    matrix: [new Uint8Array([1, 2]), new Uint8Array([])],
    maybeText: 'present',
    maybeNumber: U64_MAX,
    listOfMaybe: ['a', undefined, 'c'],
    outer: { inner: { tag: 'in', values: [-5, 7] }, maybeInner: { tag: 'maybe', values: [] }, depth: 3 },
    shape: { tag: 'Rect', value: { w: 3, h: 4 } },
    color: { tag: 'Blue' },
    owner,
    connection: new ConnectionId(0x0123456789abcdef0123456789abcdefn),
    at: new Timestamp(1_700_000_000_123_456n),
    span: new TimeDuration(-5_000_000n),
    uid: Uuid.parse('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'),
    when: ScheduleAt.interval(1_000_000n),
  };
  const minima: EveryType = {
    id: 2,
    flag: false,
    tinyU: 0,
    tinyI: 127,
    smallU: 0,
    smallI: 32767,
    midU: 0,
    midI: 2147483647,
    bigU: 0n,
    bigI: (1n << 63n) - 1n,
    hugeU: 0n,
    hugeI: (1n << 127n) - 1n,
    giantU: 0n,
    giantI: (1n << 255n) - 1n,
    single: Number.NaN,
    double: -Infinity,
    text: '',
    blob: new Uint8Array([]),
    numbers: [],
    matrix: [],
    maybeText: undefined,
    maybeNumber: undefined,
    listOfMaybe: [],
    outer: { inner: { tag: '', values: [] }, maybeInner: undefined, depth: 0 },
    shape: { tag: 'Circle', value: -0.5 },
    color: { tag: 'Red' },
    owner: new Identity(0n),
    connection: new ConnectionId(0n),
    at: new Timestamp(-1n),
    span: new TimeDuration(0n),
    uid: Uuid.NIL,
    when: ScheduleAt.time(0n),
  };
  const middle: EveryType = {
    ...minima,
    id: 3,
    flag: true,
    tinyU: 7,
    bigU: 42n,
    single: 0.5,
    double: 2.75,
    text: 'middle',
    shape: { tag: 'Empty' },
    color: { tag: 'Green' },
    owner,
    at: new Timestamp(1_600_000_000_000_000n),
    uid: Uuid.MAX,
    when: ScheduleAt.time(1_600_000_000_000_000n),
  };
  return [maxima, minima, middle];
}

const byId = (list: Iterable<EveryType>) => [...list].sort((x, y) => x.id - y.id);

beforeAll(async () => {
  host = await startFeaturesHost();
  a = await connect(host);
  b = await connect(host);
});
afterAll(async () => {
  a?.conn.disconnect();
  b?.conn.disconnect();
  await host?.close();
});

describe('every column type through a reducer and a subscription', () => {
  it('arrives unchanged at the caller, at another subscriber and in a later subscription', async () => {
    await subscribe(a.conn, ['SELECT * FROM every_type']);
    await subscribe(b.conn, ['SELECT * FROM every_type']);
    const sent = rows(a.identity);
    for (const row of sent) await a.conn.reducers.putEveryType({ row });

    // The caller's rows come inside its ReducerResults, so they are there once the calls resolve.
    // (toMatchObject: the SDK decodes unit variants as `{tag, value: {}}`, which its own types omit.)
    expect(byId(a.conn.db.everyType.iter())).toMatchObject(sent);
    await until(() => b.conn.db.everyType.count() === 3n, 'b receives the three rows');
    expect(byId(b.conn.db.everyType.iter())).toMatchObject(sent);

    const late = await connect(host);
    await subscribe(late.conn, ['SELECT * FROM every_type']);
    expect(byId(late.conn.db.everyType.iter())).toMatchObject(sent);
    late.conn.disconnect();
  });

  it('filters with a literal of each comparable type', async () => {
    const c = await connect(host);
    const cases: [string, number[]][] = [
      ['flag = TRUE', [1, 3]],
      ['flag = false', [2]],
      ['tiny_u = 255', [1]],
      ['tiny_i = -128', [1]],
      ['tiny_i > 0', [2, 3]],
      ['mid_u >= 4294967295', [1]],
      ['big_u = 18446744073709551615', [1]],
      ['big_u < 100', [2, 3]],
      ['big_i = -9223372036854775808', [1]],
      ['huge_u = 340282366920938463463374607431768211455', [1]],
      ['huge_i = -170141183460469231731687303715884105728', [1]],
      ['giant_u > 0', [1]],
      ['giant_i < 0', [1]],
      ['double > 2.5', [1, 3]],
      ['double <= 2.75', [2, 3]],
      ['single = 0.5', [3]],
      ["text = 'héllo 😀 it''s\u0000'", [1]],
      ["text <> ''", [1, 3]],
      ['blob = 0x0001feff', [1]],
      [`owner = 0x${a.identity.toHexString()}`, [1, 3]],
      ['connection = 0x0123456789abcdef0123456789abcdef', [1]],
      ["at > '2021-01-01T00:00:00Z'", [1]],
      ["at < '1970-01-01T00:00:00Z'", [2]],
      ["uid = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'", [1]],
      ['flag = TRUE AND tiny_u < 10', [3]],
      ['(id = 1 OR id = 2) AND flag = FALSE', [2]],
    ];
    for (const [where, expected] of cases) {
      const handle = await subscribe(c.conn, [`SELECT * FROM every_type WHERE ${where}`]).catch((e: Error) => {
        throw new Error(`WHERE ${where}: ${e.message}`);
      });
      const ids = [...c.conn.db.everyType.iter()].map((r) => r.id).sort();
      expect({ where, ids }).toEqual({ where, ids: expected });
      await new Promise<void>((resolve) => handle.unsubscribeThen(() => resolve()));
      expect(c.conn.db.everyType.count()).toBe(0n);
    }
    c.conn.disconnect();
  });

  it('refuses comparisons the engine cannot type', async () => {
    const c = await connect(host);
    for (const where of ["tiny_u = 256", "tiny_u = 'x'", 'shape = 1', 'numbers = 1', 'no_such_column = 1', "at > 'yesterday'"]) {
      const err = await subscriptionError(c.conn, [`SELECT * FROM every_type WHERE ${where}`]);
      expect(err.message.length, `WHERE ${where} should be refused with a message`).toBeGreaterThan(0);
    }
    c.conn.disconnect();
  });
});
