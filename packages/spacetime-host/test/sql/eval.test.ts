import { describe, expect, it } from 'vitest';
import { compileSubscription, delta, evaluate, type CompiledQuery, type Row } from '../../src/sql/index';
import { MemorySource, T, changeMap, ctxFor, makeCatalog, makeRow, multiset, relOf } from './helpers';
import { catalog } from './fixtures';

const alice = 0xa11cen;
const bob = 0xb0bn;
const ctx = ctxFor(catalog, { sender: alice });

function compile(sql: string, c = ctx): CompiledQuery {
  const r = compileSubscription(sql, c);
  if (!r.ok) throw new Error(r.error);
  return r.queries[0]!;
}

const user = (identity: bigint, name: string, online: boolean, extra: Partial<{ ownerId: bigint; created: bigint; score: number; avatar: Uint8Array }> = {}) => [
  [identity],
  name,
  online,
  extra.ownerId ?? 0n,
  [extra.created ?? 0n],
  extra.score ?? 0,
  [],
  { tag: 1, value: [] },
  [0, 0],
  extra.avatar ?? new Uint8Array(),
];
const message = (id: bigint, sender: bigint, text: string, sent = 0n) => [id, [sender], text, [sent]];
const names = (rows: Row[]) => rows.map((r) => r.value[1]).sort();
const texts = (rows: Row[]) => rows.map((r) => r.value[2] as string).sort();

describe('evaluate: single-table filters', () => {
  const src = new MemorySource(catalog);
  src.insert('user', user(alice, 'alice', true, { ownerId: 5n, created: 100n, score: 1.5, avatar: new Uint8Array([1, 2]) }));
  src.insert('user', user(bob, 'bob', false, { ownerId: 7n, created: 200n, score: -2 }));
  src.insert('user', user(0xcafen, '😀', true, { ownerId: 5n, created: 300n, score: Number.NaN }));
  src.insert('user', user(0xbeefn, '\uffff', false, { ownerId: 9n, created: 400n, score: 0 }));

  it.each([
    ['SELECT * FROM "user"', ['alice', 'bob', '\uffff', '😀']],
    ['SELECT * FROM "user" WHERE online', ['alice', '😀']],
    ['SELECT * FROM "user" WHERE NOT online', ['bob', '\uffff']],
    ['SELECT * FROM "user" WHERE owner_id = 5', ['alice', '😀']],
    ['SELECT * FROM "user" WHERE owner_id <> 5', ['bob', '\uffff']],
    ['SELECT * FROM "user" WHERE owner_id >= 7 AND owner_id < 9', ['bob']],
    ['SELECT * FROM "user" WHERE owner_id = 5 OR name = \'bob\'', ['alice', 'bob', '😀']],
    ["SELECT * FROM \"user\" WHERE created_at > '1970-01-01T00:00:00.000200Z'", ['\uffff', '😀']],
    ['SELECT * FROM "user" WHERE score > 0', ['alice', '😀']], // NaN sorts after every number
    ['SELECT * FROM "user" WHERE score <= 0', ['bob', '\uffff']],
    ['SELECT * FROM "user" WHERE avatar = 0x0102', ['alice']],
    ['SELECT * FROM "user" WHERE identity = :sender', ['alice']],
    [`SELECT * FROM "user" WHERE identity = 0x${bob.toString(16).padStart(64, '0')}`, ['bob']],
    ['SELECT * FROM "user" WHERE identity < :sender', ['bob', '\uffff', '😀']],
    ['SELECT * FROM "user" WHERE identity >= :sender', ['alice']],
    ['SELECT * FROM "user" WHERE FALSE', []],
  ])('%s', (sql, expected) => {
    expect(names(evaluate(compile(sql), src))).toEqual([...expected].sort());
  });

  it('orders strings by UTF-8 bytes, not UTF-16 units (U+1F600 > U+FFFF)', () => {
    expect(names(evaluate(compile("SELECT * FROM \"user\" WHERE name > '\uffff'"), src))).toEqual(['😀']);
    expect(names(evaluate(compile("SELECT * FROM \"user\" WHERE name < '😀' AND name > 'z'"), src))).toEqual(['\uffff']);
  });

  it('uses the index for an equality on an indexed column instead of scanning', () => {
    const before = { scans: src.scans, lookups: src.lookups };
    expect(names(evaluate(compile('SELECT * FROM "user" WHERE owner_id = 5 AND online = TRUE'), src))).toEqual(['alice', '😀']);
    expect(src.lookups - before.lookups).toBe(1);
    expect(src.scans - before.scans).toBe(0);
  });

  it('returns the source rows themselves (bytes and values)', () => {
    const rows = evaluate(compile('SELECT * FROM "user" WHERE name = \'bob\''), src);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual(makeRow(relOf(catalog, 'user'), user(bob, 'bob', false, { ownerId: 7n, created: 200n, score: -2 })));
  });
});

describe('evaluate: semijoins have bag semantics', () => {
  const src = new MemorySource(catalog);
  src.insert('user', user(alice, 'alice', true));
  src.insert('user', user(bob, 'bob', false));
  src.insert('message', message(1n, alice, 'a1'));
  src.insert('message', message(2n, alice, 'a2'));
  src.insert('message', message(3n, bob, 'b1'));
  src.insert('message', message(4n, 0xdeadn, 'orphan'));

  it('yields the returned side once per matching partner', () => {
    const q = compile('SELECT "user".* FROM message JOIN "user" ON message.sender = "user".identity');
    expect(names(evaluate(q, src))).toEqual(['alice', 'alice', 'bob']);
  });

  it('filters the scanned side and probes the other through its index', () => {
    const q = compile('SELECT message.* FROM "user" JOIN message ON "user".identity = message.sender WHERE "user".online = TRUE');
    const before = src.lookups;
    expect(texts(evaluate(q, src))).toEqual(['a1', 'a2']);
    expect(src.lookups - before).toBe(1); // one probe for the one online user
  });

  it('applies cross-side conditions to each pair', () => {
    const q = compile("SELECT message.* FROM \"user\" JOIN message ON \"user\".identity = message.sender WHERE \"user\".name = 'alice' AND message.text <> 'a1'");
    expect(texts(evaluate(q, src))).toEqual(['a2']);
  });

  it('evaluates aliased self-joins', () => {
    const q = compile('SELECT b.* FROM message a JOIN message b ON a.sender = b.sender WHERE a.id = 1');
    expect(texts(evaluate(q, src))).toEqual(['a1', 'a2']);
  });
});

describe('delta: single-table queries filter the change', () => {
  it('keeps matching inserts and deletes and drops the rest', () => {
    const q = compile('SELECT * FROM message WHERE sender = :sender');
    const src = new MemorySource(catalog);
    const kept = src.insert('message', message(1n, alice, 'new'));
    src.insert('message', message(2n, bob, 'other'));
    const gone = makeRow(relOf(catalog, 'message'), message(3n, alice, 'old'));
    const d = delta(q, changeMap([['message', { inserts: [kept, makeRow(relOf(catalog, 'message'), message(2n, bob, 'other'))], deletes: [gone] }]]), src);
    expect(d).toEqual({ inserts: [kept], deletes: [gone] });
  });

  it('is empty when the read relation did not change', () => {
    const q = compile('SELECT * FROM message');
    expect(delta(q, changeMap([['user', { inserts: [], deletes: [] }]]), new MemorySource(catalog))).toEqual({ inserts: [], deletes: [] });
  });

  it('passes event-table inserts through as inserts', () => {
    const q = compile('SELECT * FROM ping WHERE who = :sender');
    const ping = relOf(catalog, 'ping');
    const mine = makeRow(ping, [1, [alice]]);
    const d = delta(q, changeMap([['ping', { inserts: [mine, makeRow(ping, [2, [bob]])], deletes: [] }]]), new MemorySource(catalog));
    expect(d).toEqual({ inserts: [mine], deletes: [] });
  });
});

describe('delta: semijoins', () => {
  const q = compile('SELECT message.* FROM "user" JOIN message ON "user".identity = message.sender WHERE "user".online = TRUE');

  it('inserts a partnerless row when its partner appears, and deletes it when the partner goes', () => {
    const src = new MemorySource(catalog);
    const m1 = src.insert('message', message(1n, alice, 'hello'));
    expect(evaluate(q, src)).toEqual([]);
    const u = src.insert('user', user(alice, 'alice', true));
    expect(delta(q, changeMap([['user', { inserts: [u], deletes: [] }]]), src)).toEqual({ inserts: [m1], deletes: [] });
    src.delete('user', u);
    expect(delta(q, changeMap([['user', { inserts: [], deletes: [u] }]]), src)).toEqual({ inserts: [], deletes: [m1] });
  });

  it('turns a partner update that flips the filter into deletes of the joined rows', () => {
    const src = new MemorySource(catalog);
    const on = src.insert('user', user(alice, 'alice', true));
    const m1 = src.insert('message', message(1n, alice, 'one'));
    const m2 = src.insert('message', message(2n, alice, 'two'));
    src.delete('user', on);
    const off = src.insert('user', user(alice, 'alice', false));
    const d = delta(q, changeMap([['user', { inserts: [off], deletes: [on] }]]), src);
    expect(d.inserts).toEqual([]);
    expect(multiset(d.deletes)).toEqual(multiset([m1, m2]));
  });

  it('handles changes to both sides in one transaction exactly', () => {
    const src = new MemorySource(catalog);
    const u = src.insert('user', user(alice, 'alice', true));
    const mOld = src.insert('message', message(1n, alice, 'old'));
    // Transaction: delete mOld, insert mNew, and replace the user by an identical-key online row.
    src.delete('message', mOld);
    const mNew = src.insert('message', message(2n, alice, 'new'));
    src.delete('user', u);
    const u2 = src.insert('user', user(alice, 'alice2', true));
    const d = delta(q, changeMap([['user', { inserts: [u2], deletes: [u] }], ['message', { inserts: [mNew], deletes: [mOld] }]]), src);
    expect(d).toEqual({ inserts: [mNew], deletes: [mOld] });
  });

  it('counts multiplicities when the returned side has several partners', () => {
    const q2 = compile('SELECT "user".* FROM message JOIN "user" ON message.sender = "user".identity');
    const src = new MemorySource(catalog);
    const u = src.insert('user', user(alice, 'alice', true));
    const m1 = src.insert('message', message(1n, alice, 'a'));
    const m2 = src.insert('message', message(2n, alice, 'b'));
    expect(evaluate(q2, src)).toEqual([u, u]);
    src.delete('message', m1);
    src.delete('message', m2);
    const d = delta(q2, changeMap([['message', { inserts: [], deletes: [m1, m2] }]]), src);
    expect(d).toEqual({ inserts: [], deletes: [u, u] });
  });

  it('nets out a row that loses one partner and gains another in the same transaction', () => {
    const q2 = compile('SELECT "user".* FROM message JOIN "user" ON message.sender = "user".identity');
    const src = new MemorySource(catalog);
    const u = src.insert('user', user(alice, 'alice', true));
    const m1 = src.insert('message', message(1n, alice, 'a'));
    src.delete('message', m1);
    const m2 = src.insert('message', message(2n, alice, 'b'));
    expect(delta(q2, changeMap([['message', { inserts: [m2], deletes: [m1] }]]), src)).toEqual({ inserts: [], deletes: [] });
    expect(evaluate(q2, src)).toEqual([u]);
  });

  it('joins event-table inserts (scanned side) with the committed partner rows', () => {
    const q3 = compile('SELECT "user".* FROM ping JOIN "user" ON ping.who = "user".identity');
    const src = new MemorySource(catalog);
    const u = src.insert('user', user(alice, 'alice', true));
    const ping = relOf(catalog, 'ping');
    const p1 = makeRow(ping, [1, [alice]]);
    const p2 = makeRow(ping, [2, [alice]]);
    // Event rows are not in the committed state (`src`), only in the change.
    expect(delta(q3, changeMap([['ping', { inserts: [p1, p2, makeRow(ping, [3, [bob]])], deletes: [] }]]), src)).toEqual({ inserts: [u, u], deletes: [] });
    // A change to the partner table alone yields nothing: no event rows exist outside their transaction.
    src.delete('user', u);
    expect(delta(q3, changeMap([['user', { inserts: [], deletes: [u] }]]), src)).toEqual({ inserts: [], deletes: [] });
  });

  it('returns event rows of a semijoin whose partner changes in the same transaction', () => {
    const q4 = compile('SELECT ping.* FROM ping JOIN "user" ON ping.who = "user".identity WHERE ping.id > 0');
    const src = new MemorySource(catalog);
    const u = src.insert('user', user(alice, 'alice', true));
    const p = makeRow(relOf(catalog, 'ping'), [1, [alice]]);
    expect(delta(q4, changeMap([['ping', { inserts: [p], deletes: [] }], ['user', { inserts: [u], deletes: [] }]]), src)).toEqual({ inserts: [p], deletes: [] });
  });

  it('scans an unindexed side when a probed-side change needs its partners', () => {
    const q5 = compile("SELECT note.* FROM note JOIN \"user\" ON note.owner = \"user\".identity WHERE note.body = 'x'");
    const src = new MemorySource(catalog);
    const n1 = src.insert('note', [[alice], 'x', 'n1']);
    src.insert('note', [[alice], 'y', 'n2']);
    const u = src.insert('user', user(alice, 'alice', true));
    expect(delta(q5, changeMap([['user', { inserts: [u], deletes: [] }]]), src)).toEqual({ inserts: [n1], deletes: [] });
  });

  it('handles self-join changes on both sides at once', () => {
    const q6 = compile('SELECT b.* FROM message a JOIN message b ON a.sender = b.sender');
    const src = new MemorySource(catalog);
    const m1 = src.insert('message', message(1n, alice, 'a'));
    // Insert m2 (same sender): pairs go from {(1,1)} to {(1,1),(1,2),(2,1),(2,2)}.
    const m2 = src.insert('message', message(2n, alice, 'b'));
    const d = delta(q6, changeMap([['message', { inserts: [m2], deletes: [] }]]), src);
    expect(d.deletes).toEqual([]);
    expect(multiset(d.inserts)).toEqual(multiset([m1, m2, m2]));
  });
});

describe('delta over views', () => {
  it('treats a view like a table keyed by its canonical name', () => {
    const q = compile("SELECT * FROM myStuff WHERE label = 'a'");
    const view = relOf(catalog, 'my_stuff');
    const a = makeRow(view, [1, 'a']);
    const d = delta(q, changeMap([['my_stuff', { inserts: [a, makeRow(view, [2, 'b'])], deletes: [] }]]), new MemorySource(catalog));
    expect(d).toEqual({ inserts: [a], deletes: [] });
  });

  it('joins a scanned view with an indexed table', () => {
    const cat = makeCatalog(
      [{ name: 'item', columns: [['id', T.u32], ['owner', T.u32]], indexes: [[1]] }],
      [{ name: 'mine', columns: [['id', T.u32]] }],
    );
    const c = ctxFor(cat);
    const r = compileSubscription('SELECT item.* FROM mine JOIN item ON mine.id = item.owner', c);
    if (!r.ok) throw new Error(r.error);
    const src = new MemorySource(cat);
    src.insert('mine', [7]);
    const i1 = src.insert('item', [1, 7]);
    src.insert('item', [2, 8]);
    expect(evaluate(r.queries[0]!, src)).toEqual([i1]);
  });
});
