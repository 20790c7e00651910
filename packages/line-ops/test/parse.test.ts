import { describe, expect, it } from 'vitest';
import { MAX_LINE_INDEX, parseLineOps } from '../src/index';

describe('parseLineOps', () => {
  it('accepts a valid batch and returns copies holding only the op fields', () => {
    const json = JSON.parse('[{"lines":["a",""],"deleteCount":1,"start":0,"kind":"replace"},{"kind":"replace","start":3,"deleteCount":0,"lines":["b"]}]');
    const result = parseLineOps(json);
    expect(result).toEqual({
      ok: true,
      ops: [
        { kind: 'replace', start: 0, deleteCount: 1, lines: ['a', ''] },
        { kind: 'replace', start: 3, deleteCount: 0, lines: ['b'] },
      ],
    });
    if (result.ok) expect(result.ops[0]!.lines).not.toBe(json[0].lines);
    expect(parseLineOps([])).toEqual({ ok: true, ops: [] });
  });

  const op = (fields: Record<string, unknown>) => ({ kind: 'replace', start: 0, deleteCount: 1, lines: ['x'], ...fields });
  const rejected: Array<[string, unknown, string]> = [
    ['an object instead of an array', { kind: 'replace' }, 'not_array'],
    ['null instead of an array', null, 'not_array'],
    ['a string op', ['replace'], 'not_object'],
    ['a null op', [null], 'not_object'],
    ['an array op', [[0, 1, ['x']]], 'not_object'],
    ['an extra field', [op({ author: 'me' })], 'unknown_field'],
    ['kind "insert"', [op({ kind: 'insert' })], 'bad_kind'],
    ['a missing kind', [{ start: 0, deleteCount: 1, lines: [] }], 'bad_kind'],
    ['a negative start', [op({ start: -1 })], 'bad_start'],
    ['a fractional start', [op({ start: 1.5 })], 'bad_start'],
    ['a string start', [op({ start: '1' })], 'bad_start'],
    ['a start above u32', [op({ start: MAX_LINE_INDEX + 1 })], 'bad_start'],
    ['a negative deleteCount', [op({ deleteCount: -2 })], 'bad_delete_count'],
    ['NaN deleteCount', [op({ deleteCount: Number.NaN })], 'bad_delete_count'],
    ['start + deleteCount above u32', [op({ start: MAX_LINE_INDEX, deleteCount: 1 })], 'bad_delete_count'],
    ['lines as a string', [op({ lines: 'x' })], 'bad_lines'],
    ['a number line', [op({ lines: ['a', 3] })], 'bad_lines'],
    ['a line holding \\n', [op({ lines: ['a\nb'] })], 'bad_line_text'],
    ['a lone high surrogate', [op({ lines: ['a\uD83D'] })], 'bad_line_text'],
    ['a lone low surrogate', [op({ lines: ['\uDE00b'] })], 'bad_line_text'],
    ['an op that does nothing', [op({ deleteCount: 0, lines: [] })], 'empty_op'],
    ['ops out of order', [op({ start: 2 }), op({ start: 0 })], 'overlapping'],
    ['overlapping ops', [op({ start: 0, deleteCount: 2 }), op({ start: 1 })], 'overlapping'],
  ];
  it.each(rejected)('rejects %s', (_what, json, code) => {
    const result = parseLineOps(json);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.message.length).toBeGreaterThan(10);
    }
  });

  it('accepts a surrogate pair (an astral character) and touching ops', () => {
    expect(parseLineOps([op({ lines: ['😀'] }), op({ start: 1, deleteCount: 0 })]).ok).toBe(true);
  });

  it('names the offending op in the message', () => {
    const result = parseLineOps([op({}), op({ start: 5, lines: [7] })]);
    expect(result).toMatchObject({ ok: false, code: 'bad_lines' });
    if (!result.ok) expect(result.message).toContain('ops[1].lines[0]');
  });
});
