// Local undo/redo for one user's own edits. Entries are inverse character changes kept as a stack
// in which each entry is valid on the document after every entry above it was undone; so a local
// edit only pushes, and a remote change is transformed down the stack once. An entry that a remote
// change overlaps can no longer be undone cleanly: it and everything older is dropped (the user's
// history stops where someone else rewrote it, rather than undoing their text).
import type { CharChange } from './text';

/** At `from` the document holds `inserted`, where `removed` used to be. */
interface Entry {
  from: number;
  removed: string;
  inserted: string;
}

type Group = Entry[];

export class UndoHistory {
  #undo: Group[] = [];
  #redo: Group[] = [];
  #lastAt = -Infinity;
  readonly #groupMs: number;
  readonly #limit: number;

  constructor(options: { groupMs: number; limit: number }) {
    this.#groupMs = options.groupMs;
    this.#limit = options.limit;
  }

  get canUndo(): boolean {
    return this.#undo.length > 0;
  }

  get canRedo(): boolean {
    return this.#redo.length > 0;
  }

  /**
   * Records a local edit (changes ascending, in `before` coordinates, `removedText(c)` = the text it
   * replaced). Edits within groupMs of the previous one join its group, as typing does in editors.
   */
  recordEdit(changes: readonly CharChange[], removedText: (change: CharChange) => string, now: number): void {
    const entries = descendingEntries(changes, removedText);
    if (entries.length === 0) return;
    this.#redo = [];
    const top = this.#undo[this.#undo.length - 1];
    if (top && now - this.#lastAt <= this.#groupMs) top.push(...entries);
    else {
      this.#undo.push(entries);
      if (this.#undo.length > this.#limit) this.#undo.shift();
    }
    this.#lastAt = now;
  }

  /** Ends the current group, so the next edit starts a new one. */
  breakGroup(): void {
    this.#lastAt = -Infinity;
  }

  /** The changes that undo the newest group, one after another (each in the coordinates left by the previous). */
  popUndo(): CharChange[] | undefined {
    return this.#swap(this.#undo, this.#redo);
  }

  popRedo(): CharChange[] | undefined {
    return this.#swap(this.#redo, this.#undo);
  }

  /** Someone else's changes (ascending, current coordinates) landed in the document. */
  mapRemote(changes: readonly CharChange[]): void {
    // Highest first, so each change's coordinates stay valid for the ones below it.
    for (let i = changes.length - 1; i >= 0; i--) {
      this.#undo = mapStack(this.#undo, changes[i]!);
      this.#redo = mapStack(this.#redo, changes[i]!);
    }
  }

  clear(): void {
    this.#undo = [];
    this.#redo = [];
    this.#lastAt = -Infinity;
  }

  #swap(from: Group[], to: Group[]): CharChange[] | undefined {
    const group = from.pop();
    if (!group) return undefined;
    const changes: CharChange[] = [];
    const inverse: Group = [];
    for (let i = group.length - 1; i >= 0; i--) {
      const entry = group[i]!;
      changes.push({ from: entry.from, to: entry.from + entry.inserted.length, insert: entry.removed });
      inverse.push({ from: entry.from, removed: entry.inserted, inserted: entry.removed });
    }
    to.push(inverse);
    this.#lastAt = -Infinity;
    return changes;
  }
}

/** A multi-range edit as sequential entries: highest range first, so lower positions stay put. */
function descendingEntries(changes: readonly CharChange[], removedText: (change: CharChange) => string): Entry[] {
  const entries: Entry[] = [];
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i]!;
    if (change.from === change.to && change.insert === '') continue;
    entries.push({ from: change.from, removed: removedText(change), inserted: change.insert });
  }
  return entries;
}

/** Transforms the stack (newest group last) over one remote change; truncates at the first overlap. */
function mapStack(stack: Group[], remote: CharChange): Group[] {
  let r = { ...remote };
  for (let g = stack.length - 1; g >= 0; g--) {
    const group = stack[g]!;
    for (let i = group.length - 1; i >= 0; i--) {
      const entry = group[i]!;
      const end = entry.from + entry.inserted.length;
      if (r.to <= entry.from) {
        // Remote text before the entry: the entry moves; undoing it does not move the remote change.
        entry.from += r.insert.length - (r.to - r.from);
      } else if (r.from >= end) {
        const shift = entry.removed.length - entry.inserted.length;
        r = { from: r.from + shift, to: r.to + shift, insert: r.insert };
      } else {
        return stack.slice(g + 1);
      }
    }
  }
  return stack;
}
