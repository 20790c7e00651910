// Argument checks shared by reducers. Each throws a SenderError naming the argument and the rule.
import { refuse } from './refuse';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Client-chosen keys and op ids: printable ASCII without spaces, so they log and index cleanly. */
const KEY = /^[A-Za-z0-9._:@/+=-]+$/;
const TOKEN = /^[a-z][a-z0-9._-]*$/;
const SLUG = /^[a-z0-9][a-z0-9-]*$/;

/** UTF-8 byte length without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Free text: at most `max` UTF-8 bytes, no unpaired surrogates (they would hash as U+FFFD and let
 * two different texts share a hash).
 */
export function checkText(value: string, field: string, max: number, opts: { allowEmpty?: boolean } = {}): string {
  if (!opts.allowEmpty && value.length === 0) throw refuse('invalid_argument', `${field} must not be empty`);
  const bytes = utf8Length(value);
  if (bytes > max) throw refuse('limit_exceeded', `${field} is ${bytes} bytes; the limit is ${max}`);
  if (LONE_SURROGATE.test(value)) throw refuse('invalid_argument', `${field} contains an unpaired UTF-16 surrogate`);
  return value;
}

export function checkKey(value: string, field: string, max: number): string {
  if (value.length === 0 || value.length > max || !KEY.test(value)) {
    throw refuse('invalid_argument', `${field} must be 1-${max} characters from [A-Za-z0-9._:@/+=-], got ${JSON.stringify(clip(value))}`);
  }
  return value;
}

/** Lowercase identifiers such as kinds and policy classes. */
export function checkToken(value: string, field: string, max: number): string {
  if (value.length === 0 || value.length > max || !TOKEN.test(value)) {
    throw refuse('invalid_argument', `${field} must be 1-${max} characters of [a-z0-9._-] starting with a letter, got ${JSON.stringify(clip(value))}`);
  }
  return value;
}

export function checkSlug(value: string, max: number): string {
  if (value.length < 2 || value.length > max || !SLUG.test(value)) {
    throw refuse('invalid_argument', `slug must be 2-${max} characters of [a-z0-9-] starting with a letter or digit, got ${JSON.stringify(clip(value))}`);
  }
  return value;
}

export function checkOneOf<T extends string>(value: string, field: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw refuse('invalid_argument', `${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(clip(value))}`);
  }
  return value as T;
}

export function isHex64(value: string): boolean {
  return HEX64.test(value);
}

export function checkHex64(value: string, field: string): string {
  if (!HEX64.test(value)) throw refuse('invalid_argument', `${field} must be 64 lowercase hex characters, got ${JSON.stringify(clip(value))}`);
  return value;
}

/** A JSON document of the given top-level shape, within `max` bytes ("" is taken as the empty shape). */
export function checkJson(value: string, field: string, shape: 'object' | 'tag_list', max: number): string {
  if (value === '') return shape === 'object' ? '{}' : '[]';
  checkText(value, field, max);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw refuse('invalid_argument', `${field} must be valid JSON`);
  }
  if (shape === 'object') {
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse('invalid_argument', `${field} must be a JSON object`);
  } else if (!Array.isArray(parsed) || !parsed.every((tag) => Array.isArray(tag) && tag.every((part) => typeof part === 'string'))) {
    throw refuse('invalid_argument', `${field} must be a JSON array of string arrays (Nostr tags)`);
  }
  return value;
}

/** A list of tokens without duplicates, kept in the caller's order. */
export function checkTokenList(values: readonly string[], field: string, maxEntries: number, maxLength: number): string[] {
  if (values.length > maxEntries) throw refuse('limit_exceeded', `${field} has ${values.length} entries; the limit is ${maxEntries}`);
  const seen = new Set<string>();
  for (const value of values) {
    checkText(value, `${field} entry`, maxLength);
    if (seen.has(value)) throw refuse('invalid_argument', `${field} lists ${JSON.stringify(clip(value))} twice`);
    seen.add(value);
  }
  return [...values];
}

export function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
