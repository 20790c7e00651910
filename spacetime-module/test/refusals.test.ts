// Every refusal the module raises goes through refuse(), so it carries a code from errors.ts:
// a bare SenderError would reach clients without a code they can branch on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWorldError, parseWorldError, WORLD_ERROR_CODES } from '../src/errors';

const SRC = join(import.meta.dirname, '..', 'src');

describe('refusal codes', () => {
  it('are raised only through refuse() outside refuse.ts', () => {
    const bare = readdirSync(SRC)
      .filter((file) => file.endsWith('.ts') && file !== 'refuse.ts')
      .flatMap((file) =>
        readFileSync(join(SRC, file), 'utf8')
          .split('\n')
          .flatMap((line, i) => (/new SenderError\(/.test(line) ? [`${file}:${i + 1}`] : [])),
      );
    expect(bare).toEqual([]);
  });

  it('round-trip through the wire form, and unknown codes are not invented', () => {
    for (const code of WORLD_ERROR_CODES) {
      expect(parseWorldError(formatWorldError(code, 'x denied: y'))).toEqual({ code, message: 'x denied: y' });
    }
    expect(parseWorldError('[made_up] text')).toEqual({ code: undefined, message: '[made_up] text' });
    expect(parseWorldError('join_world denied: old module')).toEqual({ code: undefined, message: 'join_world denied: old module' });
  });
});
