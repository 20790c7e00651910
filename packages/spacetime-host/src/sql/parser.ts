// Recursive-descent parser for the SELECT subset SpacetimeDB accepts (spec §5.1):
//   SELECT * | SELECT <alias>.* | (ad hoc only) SELECT <col> [AS a], ... | SELECT COUNT(*) [AS a]
//   FROM <rel> [[AS] alias] [[INNER] JOIN <rel> [[AS] alias] ON <col> = <col>]
//   [WHERE <pred>] [LIMIT n (ad hoc only)] [;]
// Predicates: comparisons (= != <> < <= > >=) between columns, literals and :sender, AND, OR,
// parentheses, TRUE/FALSE, and NOT — which upstream rejects but the SDK query builder emits
// (`.not()`), so we accept it.
import type { ColumnRef, CmpOp, JoinClause, Operand, Pred, Projection, RelRef, SelectStmt } from './ast';
import { SqlError } from './errors';
import { near, tokenize, type Token } from './lexer';

export type ParseMode = 'subscription' | 'query';

export const MAX_SQL_BYTES = 50_000;
/** Parenthesis/NOT nesting limit: keeps the recursive parser and evaluator far from the stack limit. */
export const MAX_NESTING = 256;

export const RESERVED = new Set([
  'SELECT', 'FROM', 'WHERE', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'OUTER', 'CROSS', 'NATURAL', 'ON', 'AS',
  'AND', 'OR', 'NOT', 'TRUE', 'FALSE', 'NULL', 'LIMIT', 'OFFSET', 'ORDER', 'GROUP', 'BY', 'HAVING', 'UNION',
  'EXCEPT', 'INTERSECT', 'DISTINCT', 'USING',
]);

const UNSUPPORTED_CLAUSES: Record<string, string> = {
  ORDER: 'ORDER BY',
  GROUP: 'GROUP BY',
  HAVING: 'HAVING',
  UNION: 'UNION',
  EXCEPT: 'EXCEPT',
  INTERSECT: 'INTERSECT',
  OFFSET: 'OFFSET',
};

export function checkLength(sql: string): void {
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > MAX_SQL_BYTES) throw new SqlError(`SQL query is too long: ${bytes} bytes exceeds the maximum of ${MAX_SQL_BYTES} bytes`);
}

export function parseSelect(sql: string, mode: ParseMode): SelectStmt {
  checkLength(sql);
  return new Parser(sql, tokenize(sql), mode).statement();
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
    private readonly mode: ParseMode,
  ) {}

  private get tok(): Token {
    return this.tokens[this.i]!;
  }
  private peek(k = 1): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!;
  }
  private advance(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of query';
      case 'word':
        return RESERVED.has(t.upper) ? `keyword ${t.upper}` : `identifier ${t.text}`;
      case 'quoted':
        return `identifier "${t.text}"`;
      case 'string':
        return 'string literal';
      case 'param':
        return `:${t.name}`;
      default:
        return `'${this.sql.slice(t.pos, this.peekEnd(t)).trim()}'`;
    }
  }
  private peekEnd(t: Token): number {
    const next = this.tokens[this.tokens.indexOf(t) + 1];
    return next ? Math.min(next.pos, t.pos + 40) : t.pos + 1;
  }
  private fail(what: string, t: Token = this.tok): never {
    const where = t.kind === 'eof' ? '' : ` ${near(this.sql, t.pos)}`;
    throw new SqlError(`${what}, found ${this.describe(t)}${where}`);
  }
  private isKeyword(kw: string, t: Token = this.tok): boolean {
    return t.kind === 'word' && t.upper === kw;
  }
  private acceptKeyword(kw: string): boolean {
    if (!this.isKeyword(kw)) return false;
    this.i++;
    return true;
  }
  private expectKeyword(kw: string, hint = ''): void {
    if (!this.acceptKeyword(kw)) this.fail(`expected ${kw}${hint}`);
  }
  private isPunct(p: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === p;
  }
  private acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.i++;
    return true;
  }
  private isIdent(t: Token = this.tok): boolean {
    return t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper));
  }
  private ident(what: string): { name: string; pos: number } {
    const t = this.tok;
    if (t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper))) {
      this.i++;
      return { name: t.text, pos: t.pos };
    }
    return this.fail(`expected ${what}`);
  }

  statement(): SelectStmt {
    const first = this.tok;
    if (first.kind === 'word' && ['INSERT', 'UPDATE', 'DELETE', 'SET', 'SHOW', 'CREATE', 'DROP', 'ALTER'].includes(first.upper)) {
      throw new SqlError(`only SELECT statements are supported, found ${first.upper} ${near(this.sql, first.pos)}`);
    }
    this.expectKeyword('SELECT');
    if (this.isKeyword('DISTINCT')) throw new SqlError(`DISTINCT is not supported ${near(this.sql, this.tok.pos)}`);
    const projection = this.projection();
    this.expectKeyword('FROM');
    const from = this.relation();
    let join: JoinClause | undefined;
    for (;;) {
      const t = this.tok;
      if (t.kind === 'word' && ['LEFT', 'RIGHT', 'FULL', 'OUTER', 'CROSS', 'NATURAL'].includes(t.upper)) {
        throw new SqlError(`only INNER JOIN is supported, found ${t.upper} ${near(this.sql, t.pos)}`);
      }
      if (this.isPunct(',')) throw new SqlError(`implicit joins (FROM a, b) are not supported; use JOIN ... ON ${near(this.sql, t.pos)}`);
      if (!this.isKeyword('JOIN') && !this.isKeyword('INNER')) break;
      if (join) throw new SqlError(`at most one JOIN is supported (a query reads at most two relations) ${near(this.sql, t.pos)}`);
      if (this.acceptKeyword('INNER')) this.expectKeyword('JOIN', ' after INNER');
      else this.advance();
      join = this.joinClause();
    }
    let where: Pred | undefined;
    if (this.acceptKeyword('WHERE')) where = this.predicate();
    let limit: SelectStmt['limit'];
    if (this.isKeyword('LIMIT')) {
      const at = this.tok.pos;
      if (this.mode === 'subscription') throw new SqlError(`LIMIT is not supported in subscriptions ${near(this.sql, at)}`);
      this.advance();
      const n = this.tok;
      if (n.kind !== 'number') this.fail('expected a non-negative integer after LIMIT');
      this.advance();
      limit = { text: n.text, pos: n.pos };
    }
    const t = this.tok;
    if (t.kind === 'word' && UNSUPPORTED_CLAUSES[t.upper]) {
      throw new SqlError(`${UNSUPPORTED_CLAUSES[t.upper]} is not supported ${near(this.sql, t.pos)}`);
    }
    this.acceptPunct(';');
    if (this.tok.kind !== 'eof') this.fail('expected end of query');
    return { projection, from, join, where, limit };
  }

  private projection(): Projection {
    if (this.acceptPunct('*')) return { kind: 'star' };
    // alias.*
    if (this.isIdent() && this.isPunct('.', this.peek()) && this.isPunct('*', this.peek(2))) {
      const q = this.ident('a table name or alias');
      this.advance();
      this.advance();
      return { kind: 'qualifiedStar', qualifier: q.name, pos: q.pos };
    }
    const at = this.tok;
    if (this.mode === 'subscription') {
      throw new SqlError(`subscriptions must select whole rows of one table: use SELECT * or SELECT <table>.* ${near(this.sql, at.pos)}`);
    }
    if (at.kind === 'word' && at.upper === 'COUNT' && this.isPunct('(', this.peek())) {
      this.advance();
      this.advance();
      if (!this.acceptPunct('*')) this.fail('only COUNT(*) is supported: expected *');
      if (!this.acceptPunct(')')) this.fail("expected ')'");
      const alias = this.acceptKeyword('AS') ? this.ident('an alias after AS').name : this.isIdent() ? this.ident('an alias').name : undefined;
      return { kind: 'count', alias };
    }
    const items: { column: ColumnRef; alias: string | undefined }[] = [];
    do {
      if (this.isPunct('*')) throw new SqlError(`* cannot be mixed with other columns ${near(this.sql, this.tok.pos)}`);
      if (this.isIdent() && this.isPunct('.', this.peek()) && this.isPunct('*', this.peek(2))) {
        throw new SqlError(`<table>.* cannot be mixed with other columns ${near(this.sql, this.tok.pos)}`);
      }
      const column = this.columnRef();
      const alias = this.acceptKeyword('AS') ? this.ident('an alias after AS').name : this.isIdent() ? this.ident('an alias').name : undefined;
      items.push({ column, alias });
    } while (this.acceptPunct(','));
    return { kind: 'columns', items };
  }

  private relation(): RelRef {
    const name = this.ident('a table name');
    if (this.isPunct('.')) {
      throw new SqlError(`qualified table names are not supported ${near(this.sql, name.pos)}`);
    }
    let alias: string | undefined;
    if (this.acceptKeyword('AS')) alias = this.ident('an alias after AS').name;
    else if (this.isIdent()) alias = this.ident('an alias').name;
    return { name: name.name, alias, pos: name.pos };
  }

  private joinClause(): JoinClause {
    const rel = this.relation();
    if (!this.acceptKeyword('ON')) {
      if (this.isKeyword('USING')) throw new SqlError(`JOIN ... USING is not supported; write ON <column> = <column> ${near(this.sql, this.tok.pos)}`);
      this.fail('expected ON <column> = <column> after the joined table');
    }
    const pos = this.tok.pos;
    let parens = 0;
    while (this.acceptPunct('(')) parens++;
    const left = this.columnRef();
    if (!(this.tok.kind === 'op' && this.tok.text === '=')) {
      this.fail('a join condition must be an equality between two columns: expected =');
    }
    this.advance();
    const right = this.columnRef();
    while (parens-- > 0) if (!this.acceptPunct(')')) this.fail("expected ')'");
    if (this.isKeyword('AND') || this.isKeyword('OR')) {
      throw new SqlError(`a join condition must be a single equality between two columns; put other conditions in WHERE ${near(this.sql, this.tok.pos)}`);
    }
    return { rel, on: { left, right, pos } };
  }

  private columnRef(): ColumnRef {
    const t = this.tok;
    if (!this.isIdent()) this.fail('expected a column name');
    const first = this.ident('a column name');
    if (!this.acceptPunct('.')) return { kind: 'column', qualifier: undefined, name: first.name, pos: t.pos };
    const second = this.ident('a column name after "."');
    if (this.isPunct('.')) throw new SqlError(`names with more than two parts are not supported ${near(this.sql, t.pos)}`);
    return { kind: 'column', qualifier: first.name, name: second.name, pos: t.pos };
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING) throw new SqlError(`expression is nested too deeply (more than ${MAX_NESTING} levels) ${near(this.sql, this.tok.pos)}`);
  }

  predicate(): Pred {
    const args = [this.conjunction()];
    while (this.acceptKeyword('OR')) args.push(this.conjunction());
    return args.length === 1 ? args[0]! : { kind: 'or', args };
  }

  private conjunction(): Pred {
    const args = [this.negation()];
    while (this.acceptKeyword('AND')) args.push(this.negation());
    return args.length === 1 ? args[0]! : { kind: 'and', args };
  }

  private negation(): Pred {
    if (!this.acceptKeyword('NOT')) return this.primary();
    this.enter();
    const arg = this.negation();
    this.depth--;
    return { kind: 'not', arg };
  }

  private primary(): Pred {
    if (this.acceptPunct('(')) {
      this.enter();
      const inner = this.predicate();
      this.depth--;
      if (!this.acceptPunct(')')) this.fail("expected ')'");
      return inner;
    }
    const left = this.operand();
    const t = this.tok;
    if (t.kind !== 'op') return { kind: 'operand', operand: left };
    this.advance();
    const right = this.operand();
    const op: CmpOp = t.text === '<>' ? '!=' : t.text;
    if (this.tok.kind === 'op') this.fail('comparisons cannot be chained; combine them with AND');
    return { kind: 'cmp', op, left, right, pos: t.pos };
  }

  private operand(): Operand {
    const t = this.tok;
    switch (t.kind) {
      case 'number':
        this.advance();
        return { kind: 'literal', lit: { kind: 'num', text: t.text }, pos: t.pos };
      case 'string':
        this.advance();
        return { kind: 'literal', lit: { kind: 'str', text: t.text }, pos: t.pos };
      case 'hex':
        this.advance();
        return { kind: 'literal', lit: { kind: 'hex', text: t.text }, pos: t.pos };
      case 'param':
        if (t.name !== 'sender') throw new SqlError(`unknown parameter :${t.name}; only :sender is supported ${near(this.sql, t.pos)}`);
        this.advance();
        return { kind: 'param', name: t.name, pos: t.pos };
      case 'punct': {
        const next = this.peek();
        if ((t.text === '-' || t.text === '+') && next.kind === 'number') {
          this.advance();
          this.advance();
          return { kind: 'literal', lit: { kind: 'num', text: t.text === '-' ? `-${next.text}` : next.text }, pos: t.pos };
        }
        break;
      }
      case 'word':
        if (t.upper === 'TRUE' || t.upper === 'FALSE') {
          this.advance();
          return { kind: 'literal', lit: { kind: 'bool', value: t.upper === 'TRUE' }, pos: t.pos };
        }
        if (t.upper === 'NULL') {
          this.advance();
          return { kind: 'literal', lit: { kind: 'null' }, pos: t.pos };
        }
        break;
      default:
        break;
    }
    if (this.isIdent()) return this.columnRef();
    return this.fail('expected a column, a literal or :sender');
  }
}
