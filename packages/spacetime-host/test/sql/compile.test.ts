import { describe, expect, it } from 'vitest';
import { compileSubscription, type CompiledQuery } from '../../src/sql/index';
import { T, ctxFor, makeCatalog } from './helpers';
import { catalog } from './fixtures';

const sender = 0xc2000000000000000000000000000000000000000000000000000000000000abn;
const ctx = ctxFor(catalog, { sender });
const owner = ctxFor(catalog, { sender, isOwner: true });

function ok(sql: string, c = ctx): CompiledQuery {
  const r = compileSubscription(sql, c);
  if (!r.ok) throw new Error(`expected ${sql} to compile, got: ${r.error}`);
  expect(r.queries).toHaveLength(1);
  return r.queries[0]!;
}

function err(sql: string, c = ctx): string {
  const r = compileSubscription(sql, c);
  if (r.ok) throw new Error(`expected ${sql} to be rejected`);
  return r.error;
}

describe('compileSubscription: name resolution and visibility', () => {
  it('compiles a plain table subscription', () => {
    const q = ok('SELECT * FROM message');
    expect(q.text).toBe('SELECT * FROM message');
    expect(q.returns).toEqual({ kind: 'table', def: catalog.tableByName.get('message') });
    expect(q.reads).toEqual([q.returns]);
    expect(q.usesSender).toBe(false);
    expect(q.plan).toMatchObject({ kind: 'single', probe: undefined });
  });

  it('resolves tables and columns by canonical or source name', () => {
    expect(ok('SELECT * FROM playerState WHERE playerId = 3').returns.def.name).toBe('player_state');
    expect(ok('SELECT * FROM "player_state" WHERE "player_state"."player_id" = 3').returns.def.name).toBe('player_state');
    expect(ok('SELECT * FROM "user" WHERE "user"."createdAt" > \'2025-01-01T00:00:00Z\'').plan).toMatchObject({
      kind: 'single',
      filter: { k: 'cmp', op: '>', l: { k: 'col', side: 0, col: 4 }, r: { k: 'val', v: [1735689600000000n] } },
    });
  });

  it('matches identifiers exactly (no case folding)', () => {
    expect(err('SELECT * FROM Message')).toMatch(/no such table: "Message"/);
    expect(err('SELECT * FROM message WHERE Text = \'x\'')).toMatch(/no such column "Text" in "message"/);
  });

  it('hides private tables from non-owners behind the unknown-table error, and shows them to the owner', () => {
    const unknown = err('SELECT * FROM nope');
    const hidden = err('SELECT * FROM secret');
    expect(unknown).toMatch(/^no such table: "nope" \(if the table exists, it may be private\)/);
    expect(hidden).toMatch(/^no such table: "secret" \(if the table exists, it may be private\)/);
    expect(ok('SELECT * FROM secret', owner).returns.def.name).toBe('secret');
    expect(err('SELECT * FROM hidden_view')).toMatch(/^no such table: "hidden_view"/);
    expect(ok('SELECT * FROM hidden_view', owner).returns.kind).toBe('view');
  });

  it('resolves views by canonical and source name', () => {
    const q = ok('SELECT * FROM myStuff WHERE label = \'a\'');
    expect(q.returns).toEqual({ kind: 'view', def: catalog.viewByName.get('my_stuff') });
  });

  it('rejects unknown columns and qualifiers', () => {
    expect(err('SELECT * FROM message WHERE message.nope = 1')).toMatch(/no such column "nope" in "message" at offset 28/);
    expect(err('SELECT * FROM message WHERE m.id = 1')).toMatch(/unknown table or alias "m" in column reference/);
    expect(err('SELECT x.* FROM message')).toMatch(/"x" in SELECT x\.\* is not a table or alias of this query/);
  });

  it('replaces the table name by its alias', () => {
    expect(ok('SELECT m.* FROM message AS m WHERE m.id = 1').returns.def.name).toBe('message');
    expect(err('SELECT * FROM message m WHERE message.id = 1')).toMatch(/unknown table or alias "message"/);
  });

  it('expands SELECT * FROM * to every public non-event table (owner: private ones too)', () => {
    const all = compileSubscription('select  *  from  * ', ctx);
    if (!all.ok) throw new Error(all.error);
    expect(all.queries.map((q) => q.text)).toEqual([
      'SELECT * FROM user',
      'SELECT * FROM message',
      'SELECT * FROM note',
      'SELECT * FROM player_state',
      'SELECT * FROM pair',
    ]);
    const mine = compileSubscription('SELECT * FROM *', owner);
    if (!mine.ok) throw new Error(mine.error);
    expect(mine.queries.map((q) => q.returns.def.name)).toEqual(['user', 'message', 'secret', 'note', 'player_state', 'pair']);
  });

  it('quotes expanded table names that are keywords or not plain identifiers', () => {
    const odd = makeCatalog([
      { name: 'order', columns: [['id', T.u32]] },
      { name: 'Weird Name', columns: [['id', T.u32]] },
    ]);
    const all = compileSubscription('SELECT * FROM *', ctxFor(odd));
    if (!all.ok) throw new Error(all.error);
    expect(all.queries.map((q) => q.text)).toEqual(['SELECT * FROM "order"', 'SELECT * FROM "Weird Name"']);
  });

  it('rejects queries longer than 50 000 bytes', () => {
    expect(err(`SELECT * FROM message WHERE text = '${'x'.repeat(50_000)}'`)).toMatch(/too long/);
  });

  it('reports syntax errors as results, not exceptions', () => {
    expect(err('SELEC * FROM message')).toMatch(/expected SELECT, found identifier SELEC at offset 0/);
  });
});

describe('compileSubscription: typing', () => {
  it('types literals by the compared column, on either side of the operator', () => {
    const q = ok('SELECT * FROM message WHERE 5 <= id AND text != \'hi\'');
    expect(q.plan).toMatchObject({
      filter: {
        k: 'and',
        args: [
          { k: 'cmp', op: '<=', l: { k: 'val', v: 5n }, r: { k: 'col', col: 0 } },
          { k: 'cmp', op: '!=', l: { k: 'col', col: 2 }, r: { k: 'val', v: 'hi' } },
        ],
      },
    });
  });

  it('uses an index probe for an equality on a single-column-indexed column', () => {
    expect(ok('SELECT * FROM message WHERE text = \'a\' AND id = 7').plan).toMatchObject({ kind: 'single', probe: { col: 0, value: 7n } });
    expect(ok('SELECT * FROM message WHERE id = 7 OR id = 8').plan).toMatchObject({ probe: undefined });
    expect(ok('SELECT * FROM pair WHERE a = 1').plan).toMatchObject({ probe: undefined });
  });

  it('binds :sender to the subscriber identity for Identity and bytes columns', () => {
    const q = ok('SELECT * FROM message WHERE sender = :sender');
    expect(q.usesSender).toBe(true);
    expect(q.plan).toMatchObject({ filter: { r: { k: 'val', v: [sender] } }, probe: { col: 1, value: [sender] } });
    const bytes = ok('SELECT * FROM user WHERE avatar = :sender');
    const expected = new Uint8Array(32);
    expected[0] = 0xc2;
    expected[31] = 0xab;
    expect(bytes.plan).toMatchObject({ filter: { r: { k: 'val', v: expected } } });
  });

  it('rejects :sender against other column types and without a column', () => {
    expect(err('SELECT * FROM message WHERE text = :sender')).toMatch(/:sender can only be compared with an Identity \(or bytes\) column, not column "message"\."text" of type String/);
    expect(err('SELECT * FROM message WHERE :sender = :sender')).toMatch(/:sender must be compared with an Identity column/);
  });

  it('requires equal types for column-to-column comparisons', () => {
    expect(ok('SELECT * FROM message WHERE message.text = message.text').plan.kind).toBe('single');
    expect(err('SELECT * FROM "user" WHERE name = online')).toMatch(/cannot compare column "user"\."name" of type String with column "user"\."online" of type Bool: the types differ/);
    expect(err('SELECT * FROM message WHERE id = sent')).toMatch(/types differ/);
  });

  it('rejects comparisons of sum, array and plain product columns', () => {
    expect(err('SELECT * FROM "user" WHERE tags = 0x00')).toMatch(/column "user"\."tags" of type Array<U32> cannot be compared in SQL/);
    expect(err('SELECT * FROM "user" WHERE maybe = 1')).toMatch(/column "user"\."maybe" of type Option<U32> cannot be compared/);
    expect(err('SELECT * FROM "user" WHERE pos = pos')).toMatch(/column "user"\."pos" of type \(x: I32, y: I32\) cannot be compared/);
  });

  it('reports literal errors with the column, the type and the position', () => {
    expect(err('SELECT * FROM message WHERE id = -1')).toMatch(/invalid literal -1 for column "message"\."id" of type U64: out of range \(0 to 18446744073709551615\) at offset 33/);
    expect(err('SELECT * FROM message WHERE sender = 0x1234')).toMatch(/expected 64 hex digits, got 4/);
    expect(err("SELECT * FROM message WHERE sent < 'yesterday'")).toMatch(/not an RFC 3339 timestamp/);
  });

  it('rejects NULL with a clear message', () => {
    expect(err('SELECT * FROM "user" WHERE "user"."name" = NULL')).toMatch(/NULL is not supported \(compared with column "user"\."name" of type String\): SpacetimeDB SQL has no NULL values/);
  });

  it('folds TRUE/FALSE constants and rejects other literal-only comparisons', () => {
    expect(ok('SELECT * FROM message WHERE TRUE = TRUE').plan).toMatchObject({ filter: { k: 'const', v: true } });
    expect(ok('SELECT * FROM message WHERE FALSE').plan).toMatchObject({ filter: { k: 'const', v: false } });
    expect(ok('SELECT * FROM message WHERE TRUE > FALSE').plan).toMatchObject({ filter: { k: 'const', v: true } });
    expect(err('SELECT * FROM message WHERE 1 = 1')).toMatch(/cannot compare two literals \(1 and 1\)/);
    expect(err("SELECT * FROM message WHERE 'a' = :sender")).toMatch(/:sender must be compared/);
  });

  it('accepts a Bool column as a condition and rejects other bare operands', () => {
    expect(ok('SELECT * FROM "user" WHERE online AND NOT "user"."online"').plan.kind).toBe('single');
    expect(err('SELECT * FROM "user" WHERE name')).toMatch(/column "user"\."name" of type String is not a condition/);
    expect(err('SELECT * FROM "user" WHERE 1')).toMatch(/expected a condition, found literal 1/);
    expect(err('SELECT * FROM "user" WHERE :sender')).toMatch(/expected a condition, found :sender/);
  });
});

describe('compileSubscription: joins', () => {
  it('compiles an SDK-style semijoin, probing the unfiltered indexed side', () => {
    const q = ok('SELECT "message".* FROM "user" JOIN "message" ON "user"."identity" = "message"."sender" WHERE "user"."online" = TRUE');
    expect(q.returns.def.name).toBe('message');
    expect(q.reads.map((r) => r.def.name)).toEqual(['user', 'message']);
    expect(q.plan).toMatchObject({ kind: 'join', joinCols: [0, 1], ret: 1, lookup: 1, scanFilter: { k: 'cmp' }, pairFilter: { k: 'const', v: true } });
  });

  it('scans the filtered side and probes the other, as upstream plans it', () => {
    // Filter only on the joined side: it is scanned, the FROM side is probed (user.identity is indexed).
    expect(ok('SELECT message.* FROM "user" JOIN message ON "user".identity = message.sender WHERE message.id = 3').plan).toMatchObject({ lookup: 0 });
    // No filter: the joined side is probed.
    expect(ok('SELECT "user".* FROM note JOIN "user" ON note.owner = "user".identity').plan).toMatchObject({ lookup: 1, ret: 1 });
  });

  it('requires an index on the join column of the probed side', () => {
    expect(err('SELECT note.* FROM "user" JOIN note ON "user".identity = note.owner')).toBe(
      'Subscriptions require indexes on join columns: "note"."owner" has no single-column index',
    );
    // The filter is on "user", so note (unindexed) would be probed.
    expect(err("SELECT note.* FROM note JOIN \"user\" ON note.owner = \"user\".identity WHERE \"user\".name = 'a'")).toMatch(
      /^Subscriptions require indexes on join columns: "note"\."owner"/,
    );
    expect(ok("SELECT note.* FROM note JOIN \"user\" ON note.owner = \"user\".identity WHERE note.body = 'a'").plan).toMatchObject({ lookup: 1 });
    // A multi-column index whose first column is the join column does not count.
    expect(err('SELECT pair.* FROM player_state JOIN pair ON player_state.player_id = pair.a')).toMatch(/^Subscriptions require indexes on join columns/);
    // Views have no indexes.
    expect(err('SELECT my_stuff.* FROM player_state JOIN my_stuff ON player_state.player_id = my_stuff.id')).toMatch(/^Subscriptions require indexes on join columns/);
  });

  it('with filters on both sides, probes whichever side is indexed', () => {
    expect(ok("SELECT note.* FROM note JOIN \"user\" ON note.owner = \"user\".identity WHERE note.body = 'a' AND \"user\".online = TRUE").plan).toMatchObject({ lookup: 1 });
    expect(ok("SELECT note.* FROM \"user\" JOIN note ON note.owner = \"user\".identity WHERE note.body = 'a' AND \"user\".online = TRUE").plan).toMatchObject({ lookup: 0 });
  });

  it('never probes an event table, but may scan one', () => {
    expect(err('SELECT "user".* FROM "user" JOIN ping ON "user".identity = ping.who')).toMatch(/event table "ping" cannot be the looked-up side of a join/);
    expect(ok('SELECT ping.* FROM ping JOIN "user" ON ping.who = "user".identity').plan).toMatchObject({ lookup: 1, ret: 0 });
  });

  it('rejects SELECT * over a join', () => {
    expect(err('SELECT * FROM "user" JOIN message ON "user".identity = message.sender')).toMatch(/SELECT \* over a join is not supported: a subscription must be typed to a single table/);
  });

  it('rejects join conditions within one side or across types', () => {
    expect(err('SELECT message.* FROM "user" JOIN message ON message.id = message.id')).toMatch(/must compare a column of each side/);
    expect(err('SELECT message.* FROM "user" JOIN message ON "user".identity = message.id')).toMatch(/cannot join "user"\."identity" of type Identity with "message"\."id" of type U64: the types differ/);
    expect(err('SELECT "user".* FROM "user" JOIN "user" ON "user".identity = "user".identity')).toMatch(/relation name "user" is used twice/);
  });

  it('resolves unqualified columns across both sides and rejects ambiguous ones', () => {
    expect(ok("SELECT note.* FROM note JOIN \"user\" ON owner = identity WHERE body = 'x'").plan).toMatchObject({ joinCols: [0, 0] });
    expect(err("SELECT note.* FROM note JOIN \"user\" ON note.owner = \"user\".identity WHERE name = 'x'")).toMatch(/column "name" is ambiguous/);
  });

  it('supports aliased self-joins', () => {
    const q = ok('SELECT b.* FROM message a JOIN message b ON a.sender = b.sender WHERE a.id = 1');
    expect(q.reads.map((r) => r.def.name)).toEqual(['message']);
    expect(q.plan).toMatchObject({ kind: 'join', ret: 1, lookup: 1, joinCols: [1, 1] });
  });

  it('puts cross-side conditions into the pair filter', () => {
    const q = ok("SELECT message.* FROM \"user\" JOIN message ON \"user\".identity = message.sender WHERE \"user\".name = 'a' AND (\"user\".created_at < message.sent OR message.text = 'x')");
    expect(q.plan).toMatchObject({ lookup: 1, scanFilter: { k: 'cmp', op: '=' }, pairFilter: { k: 'or' } });
  });
});
