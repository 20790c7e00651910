// Canonical names as upstream forms them (convert_case-style snake_case; spec §2.3).

/** Split an identifier into words: at separators, lower→Upper, letter↔digit, and acronym ends. */
export function splitWords(name: string): string[] {
  const words: string[] = [];
  let cur = '';
  const chars = [...name];
  const kind = (c: string | undefined): 'lower' | 'upper' | 'digit' | 'sep' | 'other' =>
    c === undefined ? 'other' : /[a-z]/.test(c) ? 'lower' : /[A-Z]/.test(c) ? 'upper' : /[0-9]/.test(c) ? 'digit' : /[_\-\s]/.test(c) ? 'sep' : 'other';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const k = kind(c);
    if (k === 'sep') {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    if (cur) {
      const p = kind(chars[i - 1]);
      const n = kind(chars[i + 1]);
      const boundary =
        (p === 'lower' && k === 'upper') ||
        ((p === 'lower' || p === 'upper') && k === 'digit') ||
        (p === 'digit' && (k === 'lower' || k === 'upper')) ||
        (p === 'upper' && k === 'upper' && n === 'lower');
      if (boundary) {
        words.push(cur);
        cur = '';
      }
    }
    cur += c;
  }
  if (cur) words.push(cur);
  return words;
}

export function toSnakeCase(name: string): string {
  return splitWords(name)
    .map((w) => w.toLowerCase())
    .join('_');
}
