// Tokenizer for SpacetimeDB's SQL subset. Keywords are not decided here: bare words stay words
// and the parser matches them case-insensitively, so quoted identifiers never act as keywords.
import { SqlError } from './errors';

export type Token =
  | { kind: 'word'; text: string; upper: string; pos: number } // bare identifier or keyword
  | { kind: 'quoted'; text: string; pos: number } // "double-quoted identifier"
  | { kind: 'number'; text: string; pos: number } // unsigned decimal, maybe fraction/exponent
  | { kind: 'string'; text: string; pos: number } // 'single-quoted', '' unescaped
  | { kind: 'hex'; text: string; pos: number } // 0xABC or X'ABC': the digits only
  | { kind: 'param'; name: string; pos: number } // :sender
  | { kind: 'op'; text: '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='; pos: number }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.' | '*' | ';' | '-' | '+'; pos: number }
  | { kind: 'eof'; pos: number };

const WORD = /[\p{L}_][\p{L}\p{N}_$]*/uy;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const HEX_0X = /0[xX]([0-9a-zA-Z]*)/y;
const HEX_X_QUOTE = /[xX]'([^']*)'/y;
const PARAM = /:([\p{L}_][\p{L}\p{N}_]*)/uy;
const IDENT_CONTINUE = /[\p{L}\p{N}_$]/u;
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/** A short excerpt of the SQL at `pos`, for error messages. */
export function near(sql: string, pos: number): string {
  if (pos >= sql.length) return 'at end of query';
  const excerpt = sql.slice(pos, pos + 24);
  return `at offset ${pos} (near ${JSON.stringify(excerpt)})`;
}

function matchAt(re: RegExp, sql: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(sql);
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlError(`unterminated /* comment ${near(sql, i)}`);
      i = end + 2;
      continue;
    }
    const pos = i;
    if (c === "'") {
      let text = '';
      let j = i + 1;
      for (;;) {
        const q = sql.indexOf("'", j);
        if (q < 0) throw new SqlError(`unterminated string literal ${near(sql, pos)}`);
        text += sql.slice(j, q);
        if (sql[q + 1] === "'") {
          text += "'";
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      tokens.push({ kind: 'string', text, pos });
      i = j;
      continue;
    }
    if (c === '"') {
      let text = '';
      let j = i + 1;
      for (;;) {
        const q = sql.indexOf('"', j);
        if (q < 0) throw new SqlError(`unterminated quoted identifier ${near(sql, pos)}`);
        text += sql.slice(j, q);
        if (sql[q + 1] === '"') {
          text += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      if (!text) throw new SqlError(`empty quoted identifier ${near(sql, pos)}`);
      tokens.push({ kind: 'quoted', text, pos });
      i = j;
      continue;
    }
    const hex = matchAt(HEX_0X, sql, i);
    if (hex) {
      const digits = hex[1]!;
      if (!digits || !HEX_DIGITS.test(digits) || IDENT_CONTINUE.test(sql[i + hex[0].length] ?? '')) {
        throw new SqlError(`invalid hex literal ${near(sql, pos)}: expected 0x followed by hex digits`);
      }
      tokens.push({ kind: 'hex', text: digits, pos });
      i += hex[0].length;
      continue;
    }
    const xquote = matchAt(HEX_X_QUOTE, sql, i);
    if (xquote) {
      if (!HEX_DIGITS.test(xquote[1]!)) throw new SqlError(`invalid hex literal ${near(sql, pos)}: X'...' must contain only hex digits`);
      tokens.push({ kind: 'hex', text: xquote[1]!, pos });
      i += xquote[0].length;
      continue;
    }
    const num = matchAt(NUMBER, sql, i);
    if (num) {
      if (IDENT_CONTINUE.test(sql[i + num[0].length] ?? '')) throw new SqlError(`invalid number ${near(sql, pos)}`);
      tokens.push({ kind: 'number', text: num[0], pos });
      i += num[0].length;
      continue;
    }
    const word = matchAt(WORD, sql, i);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], upper: word[0].toUpperCase(), pos });
      i += word[0].length;
      continue;
    }
    if (c === ':') {
      const param = matchAt(PARAM, sql, i);
      if (!param) throw new SqlError(`expected a parameter name after ':' ${near(sql, pos)}`);
      tokens.push({ kind: 'param', name: param[1]!, pos });
      i += param[0].length;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '<>' || two === '!=') {
      tokens.push({ kind: 'op', text: two, pos });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, pos });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.' || c === '*' || c === ';' || c === '-' || c === '+') {
      tokens.push({ kind: 'punct', text: c, pos });
      i++;
      continue;
    }
    throw new SqlError(`unexpected character ${JSON.stringify(c)} ${near(sql, pos)}`);
  }
  tokens.push({ kind: 'eof', pos: n });
  return tokens;
}
