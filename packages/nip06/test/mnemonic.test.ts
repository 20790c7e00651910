import { generateMnemonic as generateInLanguage } from '@scure/bip39';
import { wordlist as frenchWords } from '@scure/bip39/wordlists/french.js';
import { wordlist as italianWords } from '@scure/bip39/wordlists/italian.js';
import { wordlist as japaneseWords } from '@scure/bip39/wordlists/japanese.js';
import { wordlist as koreanWords } from '@scure/bip39/wordlists/korean.js';
import { wordlist as chineseWords } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as spanishWords } from '@scure/bip39/wordlists/spanish.js';
import { describe, expect, it } from 'vitest';
import {
  Nip06Error,
  generateMnemonic,
  normalizeMnemonic,
  validateMnemonic,
  type MnemonicStrength,
} from '../src/index';
import { NIP06_VECTORS, VECTOR_1, thrown } from './vectors';

const words = (mnemonic: string) => mnemonic.split(' ');

describe('generateMnemonic', () => {
  it('defaults to 12 English words that validate', () => {
    const mnemonic = generateMnemonic();
    expect(words(mnemonic)).toHaveLength(12);
    expect(validateMnemonic(mnemonic)).toEqual({ ok: true });
  });

  it.each([
    [128, 12],
    [160, 15],
    [192, 18],
    [224, 21],
    [256, 24],
  ] as const)('strength %i bits gives %i valid words', (strength, count) => {
    const mnemonic = generateMnemonic(strength);
    expect(words(mnemonic)).toHaveLength(count);
    expect(validateMnemonic(mnemonic)).toEqual({ ok: true });
  });

  it('produces a different mnemonic each call', () => {
    expect(generateMnemonic()).not.toBe(generateMnemonic());
  });

  it('rejects a strength that is not a BIP-39 size (tried 100 and 512)', () => {
    for (const strength of [100, 512]) {
      const error = thrown(() => generateMnemonic(strength as MnemonicStrength));
      expect(error).toBeInstanceOf(Nip06Error);
      expect((error as Nip06Error).code).toBe('invalid_argument');
    }
  });
});

describe('validateMnemonic', () => {
  it.each(NIP06_VECTORS.map((vector) => [vector.mnemonic]))('accepts the NIP-06 vector %s', (mnemonic) => {
    expect(validateMnemonic(mnemonic)).toEqual({ ok: true });
  });

  it('accepts messy whitespace, upper case and full-width letters (normalised with NFKD)', () => {
    const [first, second, ...rest] = words(VECTOR_1.mnemonic);
    const fullWidthFirst = [...first!].map((char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0)).join('');
    const messy = `  \t${fullWidthFirst}\u00a0\u3000${second!.toUpperCase()}\n\n${rest.join('  ')} \r\n`;
    expect(validateMnemonic(messy)).toEqual({ ok: true });
    expect(normalizeMnemonic(messy)).toBe(VECTOR_1.mnemonic);
  });

  it.each([
    ['an empty string', ''],
    ['only whitespace', ' \n\t '],
    ['11 words', words(VECTOR_1.mnemonic).slice(0, 11).join(' ')],
    ['13 words', `${VECTOR_1.mnemonic} bean`],
    ['1 word', 'leader'],
  ])('rejects %s with word_count', (_, mnemonic) => {
    const result = validateMnemonic(mnemonic);
    expect(result).toMatchObject({ ok: false, code: 'word_count' });
    if (!result.ok) expect(result.message).toMatch(/expected 12, 15, 18, 21 or 24/);
  });

  it('rejects a word outside the wordlist, naming its position but not the word', () => {
    const mnemonic = words(VECTOR_1.mnemonic)
      .map((word, index) => (index === 2 ? 'zzzzqq' : word))
      .join(' ');
    const result = validateMnemonic(mnemonic);
    expect(result).toMatchObject({ ok: false, code: 'unknown_word' });
    if (!result.ok) {
      expect(result.message).toContain('word 3');
      expect(result.message).not.toContain('zzzzqq');
    }
  });

  it('counts further unknown words (tried words 2 and 5 replaced by digits)', () => {
    const mnemonic = words(VECTOR_1.mnemonic)
      .map((word, index) => (index === 1 || index === 4 ? '12345' : word))
      .join(' ');
    const result = validateMnemonic(mnemonic);
    expect(result).toMatchObject({ ok: false, code: 'unknown_word' });
    if (!result.ok) expect(result.message).toMatch(/word 2 .*1 other word/);
  });

  it.each([
    ['"abandon" twelve times', Array(12).fill('abandon').join(' ')],
    ['the last word of vector 1 changed to another listed word', VECTOR_1.mnemonic.replace(/bean$/, 'zoo')],
    ['two words of vector 1 swapped', VECTOR_1.mnemonic.replace('leader monkey', 'monkey leader')],
  ])('rejects %s with checksum', (_, mnemonic) => {
    expect(validateMnemonic(mnemonic)).toMatchObject({ ok: false, code: 'checksum' });
  });

  it.each([
    ['Spanish', spanishWords, 'Spanish'],
    ['French', frenchWords, 'French'],
    ['Italian', italianWords, 'Italian'],
  ])('recognises a %s mnemonic as not English and names the language', (_, wordlist, language) => {
    const result = validateMnemonic(generateInLanguage(wordlist));
    expect(result).toMatchObject({ ok: false, code: 'not_english' });
    if (!result.ok) expect(result.message).toContain(language);
  });

  it.each([
    ['Japanese (ideographic spaces)', japaneseWords],
    ['Korean', koreanWords],
    ['simplified Chinese', chineseWords],
  ])('recognises a %s mnemonic as not English by its letters', (_, wordlist) => {
    expect(validateMnemonic(generateInLanguage(wordlist))).toMatchObject({ ok: false, code: 'not_english' });
  });

  it('flags an accented word inside an English phrase as not English, by position', () => {
    const mnemonic = words(VECTOR_1.mnemonic)
      .map((word, index) => (index === 4 ? 'café' : word))
      .join(' ');
    const result = validateMnemonic(mnemonic);
    expect(result).toMatchObject({ ok: false, code: 'not_english' });
    if (!result.ok) {
      expect(result.message).toContain('word 5');
      expect(result.message).not.toContain('caf');
    }
  });

  it('reports a foreign phrase pasted without spaces as not English rather than a word count', () => {
    const chinese = generateInLanguage(chineseWords).replace(/\s/g, '');
    expect(validateMnemonic(chinese)).toMatchObject({ ok: false, code: 'not_english' });
  });

  it('returns word_count (not an exception) for a value that is not a string', () => {
    expect(validateMnemonic(42 as unknown as string)).toMatchObject({ ok: false, code: 'word_count' });
  });
});
