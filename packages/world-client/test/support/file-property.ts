// Random editing for the FileSession property tests: edits made of unique tokens (`<c1n7>`) placed
// only at token boundaries, so every keystroke can be traced. Each client records the tokens it
// added and every client records the tokens it removed on purpose; at quiescence a token added by
// a client must be in the head, or removed on purpose by someone, or in that client's conflicts.
import type { FileSession } from '../../src/core/files/index';

const TOKEN = /<c\d+n\d+>/g;

export function tokens(text: string): Set<string> {
  return new Set(text.match(TOKEN) ?? []);
}

export interface Tracker {
  readonly name: string;
  readonly session: FileSession;
  readonly added: Set<string>;
  next: number;
  /** The token the client mostly edits around, as a person stays near their cursor (moves on random jumps). */
  home?: string;
}

/** A starting file of `lines` lines of tokens of client c0. */
export function initialText(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `<c0n${2 * i + 1}> <c0n${2 * i + 2}>`).join('\n');
}

/** Positions that are not inside a token. */
function boundaries(text: string): number[] {
  const out = [0];
  for (let p = 1; p <= text.length; p++) {
    const c = text[p - 1];
    if (c === ' ' || c === '\n' || c === '>') out.push(p);
  }
  return out;
}

/** Boundaries on the lines around the client's home token (80% of the time), else anywhere. */
function nearHome(random: () => number, client: Tracker, text: string): number[] {
  const all = boundaries(text);
  const at = client.home === undefined ? -1 : text.indexOf(client.home);
  if (at === -1 || random() < 0.2) {
    const found = [...tokens(text)];
    client.home = found.length > 0 ? pick(random, found) : undefined;
    return all;
  }
  const lineStart = text.lastIndexOf('\n', at);
  const lineEnd = text.indexOf('\n', at);
  const near = all.filter((p) => p > lineStart && (lineEnd === -1 || p <= lineEnd));
  return near.length > 0 ? near : all;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/**
 * One random user action on `client` (insert, multi-line paste, delete, same-line collision on
 * line 0, undo, redo), recording added and purposely removed tokens. Returns a label for logs.
 */
export function randomAction(random: () => number, client: Tracker, removed: Set<string>): string {
  const session = client.session;
  const before = session.text;
  const token = () => `<${client.name}n${++client.next}>`;
  const roll = random();
  let label: string;
  if (roll < 0.06) {
    label = session.undo() ? 'undo' : 'undo-none';
  } else if (roll < 0.09) {
    label = session.redo() ? 'redo' : 'redo-none';
  } else {
    const spots = nearHome(random, client, before);
    let from: number;
    let to: number;
    let insert: string;
    if (roll < 0.5) {
      from = to = pick(random, spots);
      insert = `${token()} `;
      label = 'insert';
    } else if (roll < 0.66) {
      from = to = pick(random, spots);
      insert = `${token()}\n${token()} ${token()}\n`;
      label = 'paste';
    } else if (roll < 0.88) {
      from = pick(random, spots);
      const later = spots.filter((p) => p > from && p - from <= 40);
      to = later.length > 0 ? pick(random, later) : from;
      insert = '';
      label = 'delete';
    } else {
      // Everyone types at the end of line 0: the same-line collision.
      const end = before.indexOf('\n') === -1 ? before.length : before.indexOf('\n');
      from = to = end;
      insert = ` ${token()}`;
      label = 'line0';
    }
    const result = session.edit([{ from, to, insert }]);
    if (!result.ok) throw new Error(`${client.name}: edit refused: ${result.code} ${result.message}`);
  }
  const after = tokens(session.text);
  const had = tokens(before);
  for (const t of had) if (!after.has(t)) removed.add(t);
  for (const t of after) if (!had.has(t)) client.added.add(t);
  return label;
}

/** Tokens a client added that are nowhere: not in the head, not removed on purpose, not in its conflicts. */
export function lostTokens(client: Tracker, head: string, removed: ReadonlySet<string>): string[] {
  const present = tokens(head);
  const kept = new Set<string>();
  for (const conflict of client.session.conflicts) for (const t of tokens(conflict.mine)) kept.add(t);
  return [...client.added].filter((t) => !present.has(t) && !removed.has(t) && !kept.has(t));
}
