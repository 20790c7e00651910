import { generateMnemonic as generateBip39Mnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist as czechWords } from '@scure/bip39/wordlists/czech.js';
import { wordlist as englishWords } from '@scure/bip39/wordlists/english.js';
import { wordlist as frenchWords } from '@scure/bip39/wordlists/french.js';
import { wordlist as italianWords } from '@scure/bip39/wordlists/italian.js';
import { wordlist as portugueseWords } from '@scure/bip39/wordlists/portuguese.js';
import { wordlist as spanishWords } from '@scure/bip39/wordlists/spanish.js';
import { Nip06Error } from './errors';

export type MnemonicStrength = 128 | 160 | 192 | 224 | 256;
const STRENGTHS: readonly number[] = [128, 160, 192, 224, 256];
export const MNEMONIC_WORD_COUNTS: readonly number[] = [12, 15, 18, 21, 24];

export type MnemonicProblemCode = 'word_count' | 'unknown_word' | 'checksum' | 'not_english';
export type MnemonicValidation = { ok: true } | { ok: false; code: MnemonicProblemCode; message: string };

/** A new English BIP-39 mnemonic; 128 bits gives 12 words, 256 bits gives 24. */
export function generateMnemonic(strength: MnemonicStrength = 128): string {
  if (!STRENGTHS.includes(strength)) {
    throw new Nip06Error('invalid_argument', `strength must be 128, 160, 192, 224 or 256 bits, got ${String(strength)}`);
  }
  return generateBip39Mnemonic(englishWords, strength);
}

/**
 * The canonical form of a typed or pasted mnemonic: NFKD, lower case, words separated by one
 * ASCII space, no leading or trailing whitespace. Seeds are always derived from this form, so
 * "Leader  monkey\n…" and "leader monkey …" give the same keys.
 */
export function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').toLowerCase().split(/\s+/u).filter((word) => word !== '').join(' ');
}

const englishSet = new Set(englishWords);

// Other Latin-script BIP-39 lists, used only to name the language of a pasted foreign phrase.
// (Non-Latin scripts are recognised by their letters alone.)
const otherLatinWordlists: ReadonlyArray<{ language: string; words: readonly string[] }> = [
  { language: 'Czech', words: czechWords },
  { language: 'French', words: frenchWords },
  { language: 'Italian', words: italianWords },
  { language: 'Portuguese', words: portugueseWords },
  { language: 'Spanish', words: spanishWords },
];
let otherLatinSets: Array<{ language: string; words: Set<string> }> | undefined;
function foreignWordlists() {
  otherLatinSets ??= otherLatinWordlists.map(({ language, words }) => ({
    language,
    words: new Set(words.map((word) => word.normalize('NFKD'))),
  }));
  return otherLatinSets;
}

/** A letter (or combining mark) outside a–z means the word cannot be from the English list. */
const NON_ENGLISH_LETTER = /[^\P{L}a-z]|\p{M}/u;

const ordinal = (index: number) => `word ${index + 1}`;

/**
 * Checks a mnemonic against the English BIP-39 wordlist. Messages name word positions, never
 * the words themselves, so they are safe to show and log.
 */
export function validateMnemonic(mnemonic: string): MnemonicValidation {
  if (typeof mnemonic !== 'string') {
    return { ok: false, code: 'word_count', message: `a mnemonic must be a string, got ${typeof mnemonic}` };
  }
  const normalized = normalizeMnemonic(mnemonic);
  if (normalized === '') {
    return { ok: false, code: 'word_count', message: 'the mnemonic is empty; expected 12, 15, 18, 21 or 24 words' };
  }
  const words = normalized.split(' ');
  const unknownPositions = words.flatMap((word, index) => (englishSet.has(word) ? [] : [index]));

  if (unknownPositions.length > 0) {
    const foreign = detectForeignLanguage(words, unknownPositions);
    if (foreign) return { ok: false, code: 'not_english', message: foreign };
  }
  if (!MNEMONIC_WORD_COUNTS.includes(words.length)) {
    return {
      ok: false,
      code: 'word_count',
      message: `the mnemonic has ${words.length} word${words.length === 1 ? '' : 's'}; expected 12, 15, 18, 21 or 24`,
    };
  }
  const [firstUnknown] = unknownPositions;
  if (firstUnknown !== undefined) {
    const others = unknownPositions.length - 1;
    return {
      ok: false,
      code: 'unknown_word',
      message:
        `${ordinal(firstUnknown)} is not in the English BIP-39 wordlist` +
        (others > 0 ? ` (nor are ${others} other word${others === 1 ? '' : 's'})` : ''),
    };
  }
  try {
    mnemonicToEntropy(normalized, englishWords);
  } catch {
    // Every word is known and the count is right, so only the checksum can have failed.
    return {
      ok: false,
      code: 'checksum',
      message: 'the checksum does not match: a word is probably mistyped, missing or out of order',
    };
  }
  return { ok: true };
}

function detectForeignLanguage(words: string[], unknownPositions: number[]): string | undefined {
  for (const { language, words: list } of foreignWordlists()) {
    const inList = unknownPositions.filter((index) => list.has(words[index]!)).length;
    if (inList * 2 >= words.length) {
      return `this looks like a ${language} BIP-39 mnemonic; only the English wordlist is supported`;
    }
  }
  const nonEnglish = unknownPositions.find((index) => NON_ENGLISH_LETTER.test(words[index]!));
  if (nonEnglish !== undefined) {
    return `${ordinal(nonEnglish)} has letters outside a–z; only the English BIP-39 wordlist is supported`;
  }
  return undefined;
}
