import { describe, expect, it } from 'vitest';
import { SqlError } from '../../src/sql/errors';
import { tokenize } from '../../src/sql/lexer';
import { MAX_NESTING, parseSelect } from '../../src/sql/parser';

const sub = (sql: string) => parseSelect(sql, 'subscription');
const query = (sql: string) => parseSelect(sql, 'query');
const subError = (sql: string): string => {
  try {
    sub(sql);
  } catch (e) {
    expect(e).toBeInstanceOf(SqlError);
    return (e as Error).message;
  }
  throw new Error(`expected a parse error for: ${sql}`);
};

describe('tokenizer', () => {
  it('splits words, quoted identifiers, literals, parameters and operators', () => {
    const toks = tokenize(`select "a""b".x, 'it''s', 0xDEADbeef, X'0a', 12.5e-3, :sender <> != <= >= < > = ( ) ; * - +`);
    expect(toks.map((t) => t.kind)).toEqual([
      'word', 'quoted', 'punct', 'word', 'punct', 'string', 'punct', 'hex', 'punct', 'hex', 'punct', 'number', 'punct', 'param',
      'op', 'op', 'op', 'op', 'op', 'op', 'op', 'punct', 'punct', 'punct', 'punct', 'punct', 'punct', 'eof',
    ]);
    expect(toks[1]).toMatchObject({ kind: 'quoted', text: 'a"b' });
    expect(toks[5]).toMatchObject({ kind: 'string', text: "it's" });
    expect(toks[7]).toMatchObject({ kind: 'hex', text: 'DEADbeef' });
    expect(toks[9]).toMatchObject({ kind: 'hex', text: '0a' });
    expect(toks[11]).toMatchObject({ kind: 'number', text: '12.5e-3' });
    expect(toks[13]).toMatchObject({ kind: 'param', name: 'sender' });
  });

  it('skips -- and /* */ comments', () => {
    const toks = tokenize('SELECT -- one\n * /* two\n lines */ FROM t');
    expect(toks.map((t) => (t.kind === 'word' || t.kind === 'punct' ? t.text : t.kind))).toEqual(['SELECT', '*', 'FROM', 't', 'eof']);
  });

  it.each([
    [`SELECT * FROM t WHERE a = 'open`, /unterminated string literal/],
    [`SELECT * FROM "open`, /unterminated quoted identifier/],
    [`SELECT * FROM ""`, /empty quoted identifier/],
    [`SELECT * FROM t WHERE a = 0x`, /invalid hex literal/],
    [`SELECT * FROM t WHERE a = 0xZZ`, /invalid hex literal/],
    [`SELECT * FROM t WHERE a = X'0g'`, /invalid hex literal/],
    [`SELECT * FROM t WHERE a = 12abc`, /invalid number/],
    [`SELECT * FROM t WHERE a = 1 /* open`, /unterminated \/\* comment/],
    [`SELECT * FROM t WHERE a = @x`, /unexpected character "@"/],
    [`SELECT * FROM t WHERE a = :`, /expected a parameter name/],
  ])('rejects %s', (sql, message) => {
    expect(() => tokenize(sql)).toThrow(message);
  });
});

describe('parseSelect: subscription grammar', () => {
  it('parses SELECT * FROM with bare and quoted identifiers, keywords in any case', () => {
    expect(sub('select * from message')).toEqual({
      projection: { kind: 'star' },
      from: { name: 'message', alias: undefined, pos: 14 },
      join: undefined,
      where: undefined,
      limit: undefined,
    });
    expect(sub('SeLeCt * FrOm "Message Log";').from.name).toBe('Message Log');
  });

  it('parses aliases with and without AS', () => {
    expect(sub('SELECT * FROM player AS p').from).toMatchObject({ name: 'player', alias: 'p' });
    expect(sub('SELECT * FROM player p WHERE p.x = 1').from).toMatchObject({ name: 'player', alias: 'p' });
    expect(sub('SELECT * FROM "player" "P"').from).toMatchObject({ name: 'player', alias: 'P' });
  });

  it('parses the exact filter the SDK query builder emits', () => {
    const stmt = sub(`SELECT * FROM "user" WHERE ("user"."online" = TRUE) AND ("user"."name" <> 'x')`);
    expect(stmt.where).toEqual({
      kind: 'and',
      args: [
        {
          kind: 'cmp',
          op: '=',
          left: { kind: 'column', qualifier: 'user', name: 'online', pos: 28 },
          right: { kind: 'literal', lit: { kind: 'bool', value: true }, pos: 46 },
          pos: 44,
        },
        {
          kind: 'cmp',
          op: '!=',
          left: { kind: 'column', qualifier: 'user', name: 'name', pos: 57 },
          right: { kind: 'literal', lit: { kind: 'str', text: 'x' }, pos: 74 },
          pos: 71,
        },
      ],
    });
  });

  it('parses the exact semijoin the SDK query builder emits', () => {
    const stmt = sub(`SELECT "r".* FROM "l" JOIN "r" ON "l"."a" = "r"."b" WHERE ("l"."x" = 1) AND ("r"."y" > -2.5e3)`);
    expect(stmt.projection).toEqual({ kind: 'qualifiedStar', qualifier: 'r', pos: 7 });
    expect(stmt.from).toMatchObject({ name: 'l', alias: undefined });
    expect(stmt.join?.rel).toMatchObject({ name: 'r', alias: undefined });
    expect(stmt.join?.on.left).toMatchObject({ qualifier: 'l', name: 'a' });
    expect(stmt.join?.on.right).toMatchObject({ qualifier: 'r', name: 'b' });
    expect(stmt.where).toMatchObject({
      kind: 'and',
      args: [
        { kind: 'cmp', op: '=', right: { lit: { kind: 'num', text: '1' } } },
        { kind: 'cmp', op: '>', right: { lit: { kind: 'num', text: '-2.5e3' } } },
      ],
    });
  });

  it('parses INNER JOIN, aliases on both sides and a parenthesized ON', () => {
    const stmt = sub('SELECT b.* FROM a AS x INNER JOIN b ON (x.id = b.a_id)');
    expect(stmt.from.alias).toBe('x');
    expect(stmt.join?.on.left).toMatchObject({ qualifier: 'x', name: 'id' });
  });

  it('gives AND precedence over OR and flattens chains', () => {
    const stmt = sub('SELECT * FROM t WHERE a = 1 OR b = 2 AND c = 3 AND d = 4');
    expect(stmt.where).toMatchObject({
      kind: 'or',
      args: [{ kind: 'cmp' }, { kind: 'and', args: [{ kind: 'cmp' }, { kind: 'cmp' }, { kind: 'cmp' }] }],
    });
    const grouped = sub('SELECT * FROM t WHERE (a = 1 OR b = 2) AND c = 3');
    expect(grouped.where).toMatchObject({ kind: 'and', args: [{ kind: 'or' }, { kind: 'cmp' }] });
  });

  it('accepts NOT, which the SDK query builder emits for .not() (upstream rejects it)', () => {
    expect(sub(`SELECT * FROM "user" WHERE NOT ("user"."createdAt" >= '2025-02-17T10:30:45.123456Z')`).where).toMatchObject({
      kind: 'not',
      arg: { kind: 'cmp', op: '>=', right: { lit: { kind: 'str', text: '2025-02-17T10:30:45.123456Z' } } },
    });
    expect(sub('SELECT * FROM t WHERE NOT NOT a').where).toMatchObject({ kind: 'not', arg: { kind: 'not', arg: { kind: 'operand' } } });
  });

  it('parses every comparison operator, literal form and :sender', () => {
    const stmt = sub(`SELECT * FROM t WHERE a = 1 AND b != 2 AND c <> 3 AND d < 4 AND e <= +5 AND f > 6.5 AND g >= 1e+21
      AND h = 'it''s' AND i = 0xc2 AND j = X'ff' AND k = :sender AND l = FALSE AND m = NULL AND TRUE`);
    const where = stmt.where as { kind: 'and'; args: any[] };
    expect(where.args.map((a) => a.op ?? a.kind)).toEqual(['=', '!=', '!=', '<', '<=', '>', '>=', '=', '=', '=', '=', '=', '=', 'operand']);
    expect(where.args.map((a) => a.right?.lit ?? a.right?.kind ?? a.operand.lit)).toEqual([
      { kind: 'num', text: '1' },
      { kind: 'num', text: '2' },
      { kind: 'num', text: '3' },
      { kind: 'num', text: '4' },
      { kind: 'num', text: '5' },
      { kind: 'num', text: '6.5' },
      { kind: 'num', text: '1e+21' },
      { kind: 'str', text: "it's" },
      { kind: 'hex', text: 'c2' },
      { kind: 'hex', text: 'ff' },
      'param',
      { kind: 'bool', value: false },
      { kind: 'null' },
      { kind: 'bool', value: true },
    ]);
  });

  it('parses literal-first comparisons and bare TRUE = TRUE (SDK where(() => true))', () => {
    expect(sub('SELECT * FROM "user" WHERE TRUE = TRUE').where).toMatchObject({ kind: 'cmp', left: { kind: 'literal' }, right: { kind: 'literal' } });
    expect(sub('SELECT * FROM t WHERE 5 < t.a').where).toMatchObject({ kind: 'cmp', op: '<', left: { kind: 'literal' }, right: { kind: 'column' } });
  });

  it('allows keywords as identifiers when quoted, and non-reserved words like user bare', () => {
    expect(sub('SELECT * FROM "select" WHERE "from" = 1').from.name).toBe('select');
    expect(sub('SELECT * FROM user').from.name).toBe('user');
  });

  it.each([
    ['', /^expected SELECT, found end of query$/],
    ['SELECT', /subscriptions must select whole rows of one table: use SELECT \* or SELECT <table>\.\* at end of query/],
    ['SELECT * t', /expected FROM, found identifier t/],
    ['SELECT * FROM', /expected a table name, found end of query/],
    ['SELECT * FROM t WHERE', /expected a column, a literal or :sender, found end of query/],
    ['SELECT a FROM t', /subscriptions must select whole rows/],
    ['SELECT a, b FROM t', /subscriptions must select whole rows/],
    ['SELECT COUNT(*) AS n FROM t', /subscriptions must select whole rows/],
    ['SELECT DISTINCT * FROM t', /DISTINCT is not supported/],
    ['SELECT * FROM t LIMIT 5', /LIMIT is not supported in subscriptions/],
    ['SELECT * FROM t ORDER BY a', /ORDER BY is not supported/],
    ['SELECT * FROM t GROUP BY a', /GROUP BY is not supported/],
    ['SELECT * FROM t UNION SELECT * FROM u', /UNION is not supported/],
    ['SELECT * FROM a, b', /implicit joins/],
    ['SELECT a.* FROM a LEFT JOIN b ON a.x = b.y', /only INNER JOIN is supported, found LEFT/],
    ['SELECT a.* FROM a CROSS JOIN b', /only INNER JOIN is supported, found CROSS/],
    ['SELECT a.* FROM a JOIN b', /expected ON <column> = <column>/],
    ['SELECT a.* FROM a JOIN b USING (x)', /USING is not supported/],
    ['SELECT a.* FROM a JOIN b ON a.x < b.y', /join condition must be an equality/],
    ['SELECT a.* FROM a JOIN b ON a.x = 1', /expected a column name/],
    ['SELECT a.* FROM a JOIN b ON a.x = b.y AND a.z = 1', /single equality/],
    ['SELECT a.* FROM a JOIN b ON a.x = b.y JOIN c ON b.y = c.z', /at most one JOIN/],
    ['SELECT * FROM ns.t', /qualified table names are not supported/],
    ['SELECT * FROM t WHERE a.b.c = 1', /more than two parts/],
    ['SELECT * FROM t WHERE a = 1 = 2', /comparisons cannot be chained/],
    ['SELECT * FROM t WHERE a = :caller', /unknown parameter :caller/],
    ['SELECT * FROM t WHERE (a = 1', /^expected '\)', found end of query$/],
    ['SELECT * FROM t WHERE a = 1)', /expected end of query/],
    ['SELECT * FROM t WHERE a = 1 OR', /expected a column, a literal or :sender/],
    ['SELECT * FROM t WHERE a = - b', /expected a column, a literal or :sender/],
    ['SELECT * FROM t; SELECT * FROM u', /expected end of query/],
    ['DELETE FROM t', /only SELECT statements are supported, found DELETE/],
    ['SELECT * FROM select', /expected a table name, found keyword SELECT/],
  ])('rejects %j', (sql, message) => {
    expect(subError(sql)).toMatch(message);
  });

  it('reports the offset and nearby text of a syntax error', () => {
    expect(subError('SELECT * FROM t WHERE a == 1')).toBe(`expected a column, a literal or :sender, found '=' at offset 25 (near "= 1")`);
  });

  it('rejects SQL longer than 50 000 bytes, counting UTF-8 bytes', () => {
    const base = 'SELECT * FROM t WHERE a = ';
    const fits = `${base}'${'x'.repeat(50_000 - base.length - 2)}'`;
    expect(Buffer.byteLength(fits)).toBe(50_000);
    expect(() => sub(fits)).not.toThrow();
    const tooLong = `${base}'${'é'.repeat(25_000)}'`; // 2 bytes per character
    expect(subError(tooLong)).toMatch(/too long: 50028 bytes exceeds the maximum of 50000 bytes/);
  });

  it('limits nesting depth instead of overflowing the stack', () => {
    const ok = `SELECT * FROM t WHERE ${'('.repeat(MAX_NESTING)}a = 1${')'.repeat(MAX_NESTING)}`;
    expect(() => sub(ok)).not.toThrow();
    const deep = `SELECT * FROM t WHERE ${'('.repeat(MAX_NESTING + 1)}a = 1${')'.repeat(MAX_NESTING + 1)}`;
    expect(subError(deep)).toMatch(/nested too deeply/);
    expect(subError(`SELECT * FROM t WHERE ${'NOT '.repeat(MAX_NESTING + 1)}a`)).toMatch(/nested too deeply/);
  });

  it('keeps long AND chains flat (no deep recursion for 4 000 conjuncts)', () => {
    const stmt = sub(`SELECT * FROM t WHERE ${Array.from({ length: 4000 }, () => 'a = 1').join(' AND ')}`);
    expect(stmt.where).toMatchObject({ kind: 'and' });
    expect((stmt.where as { args: unknown[] }).args).toHaveLength(4000);
  });
});

describe('parseSelect: ad hoc query grammar', () => {
  it('parses column lists with aliases, COUNT(*) and LIMIT', () => {
    expect(query('SELECT a, t.b AS bee, c cee FROM t LIMIT 10')).toMatchObject({
      projection: {
        kind: 'columns',
        items: [
          { column: { qualifier: undefined, name: 'a' }, alias: undefined },
          { column: { qualifier: 't', name: 'b' }, alias: 'bee' },
          { column: { name: 'c' }, alias: 'cee' },
        ],
      },
      limit: { text: '10' },
    });
    expect(query('select count(*) as n from t').projection).toEqual({ kind: 'count', alias: 'n' });
    expect(query('SELECT COUNT(*) FROM t').projection).toEqual({ kind: 'count', alias: undefined });
  });

  it.each([
    ['SELECT a, * FROM t', /\* cannot be mixed/],
    ['SELECT a, t.* FROM t', /cannot be mixed/],
    ['SELECT COUNT(a) FROM t', /only COUNT\(\*\) is supported/],
    ['SELECT * FROM t LIMIT', /expected a non-negative integer after LIMIT/],
    ['SELECT * FROM t LIMIT x', /expected a non-negative integer after LIMIT/],
    ['INSERT INTO t VALUES (1)', /only SELECT statements are supported, found INSERT/],
  ])('rejects %j', (sql, message) => {
    expect(() => query(sql)).toThrow(message);
  });
});
