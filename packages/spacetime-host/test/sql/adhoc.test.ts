import { describe, expect, it } from 'vitest';
import { runAdhocQuery, type AdhocResult } from '../../src/sql/index';
import { MemorySource, T, ctxFor } from './helpers';
import { catalog } from './fixtures';

const alice = 0xa11cen;
const bob = 0xb0bn;
const ctx = ctxFor(catalog, { sender: alice });
const owner = ctxFor(catalog, { sender: alice, isOwner: true });

const src = new MemorySource(catalog);
for (let i = 1n; i <= 5n; i++) src.insert('message', [i, [i % 2n ? alice : bob], `m${i}`, [i * 10n]]);
src.insert('secret', [1, 'top']);
src.insert('note', [[alice], 'n-alice', 'x']);
src.insert('note', [[bob], 'n-bob', 'y']);

function ok(sql: string, c = ctx): Extract<AdhocResult, { ok: true }> {
  const r = runAdhocQuery(sql, c, src);
  if (!r.ok) throw new Error(`${sql}: ${r.error}`);
  return r;
}
function err(sql: string, c = ctx): string {
  const r = runAdhocQuery(sql, c, src);
  if (r.ok) throw new Error(`expected ${sql} to fail`);
  return r.error;
}

describe('runAdhocQuery', () => {
  it('returns whole rows with the relation columns for SELECT *', () => {
    const r = ok('SELECT * FROM message WHERE id = 2');
    expect(r.columns).toEqual([
      { name: 'id', ty: T.u64 },
      { name: 'sender', ty: T.identity },
      { name: 'text', ty: T.string },
      { name: 'sent', ty: T.timestamp },
    ]);
    expect(r.rows).toEqual([[2n, [bob], 'm2', [20n]]]);
  });

  it('projects a column list with aliases', () => {
    const r = ok('SELECT text, message.id AS n FROM message WHERE sender = :sender');
    expect(r.columns).toEqual([
      { name: 'text', ty: T.string },
      { name: 'n', ty: T.u64 },
    ]);
    expect(r.rows).toEqual([
      ['m1', 1n],
      ['m3', 3n],
      ['m5', 5n],
    ]);
  });

  it('applies LIMIT after filtering', () => {
    expect(ok('SELECT id FROM message WHERE id > 1 LIMIT 2').rows).toEqual([[2n], [3n]]);
    expect(ok('SELECT * FROM message LIMIT 0').rows).toEqual([]);
  });

  it('counts rows with COUNT(*)', () => {
    expect(ok('SELECT COUNT(*) AS n FROM message WHERE id >= 2')).toEqual({ ok: true, columns: [{ name: 'n', ty: T.u64 }], rows: [[4n]] });
    expect(ok('SELECT COUNT(*) FROM message').columns).toEqual([{ name: 'count', ty: T.u64 }]);
  });

  it('joins without requiring an index, projecting columns of both sides', () => {
    const r = ok('SELECT note.body, m.text FROM note JOIN message m ON note.owner = m.sender WHERE m.id < 3');
    expect(r.rows.sort()).toEqual([
      ['n-alice', 'm1'],
      ['n-bob', 'm2'],
    ]);
    expect(ok("SELECT note.* FROM message JOIN note ON message.sender = note.owner WHERE message.text = 'm4'").rows).toEqual([[[bob], 'n-bob', 'y']]);
  });

  it('lets only the owner read private tables', () => {
    expect(err('SELECT * FROM secret')).toMatch(/^no such table: "secret"/);
    expect(ok('SELECT * FROM secret', owner).rows).toEqual([[1, 'top']]);
  });

  it.each([
    ['SELECT * FROM note JOIN message ON note.owner = message.sender', /SELECT \* over a join is not supported/],
    ['SELECT id, id FROM message', /duplicate column name "id" in the SELECT list/],
    ['SELECT nope FROM message', /no such column "nope" in "message"/],
    ['SELECT * FROM message LIMIT 1.5', /invalid LIMIT 1\.5/],
    ["UPDATE message SET text = 'x'", /only SELECT statements are supported, found UPDATE/],
    ['SELECT * FROM message WHERE id = NULL', /NULL is not supported/],
  ])('rejects %j', (sql, message) => {
    expect(err(sql)).toMatch(message);
  });
});
