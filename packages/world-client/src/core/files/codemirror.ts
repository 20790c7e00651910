// Adapter from a CodeMirror-like change set to the session's character changes, without a runtime
// dependency on @codemirror/view: anything with `iterChanges` (a ChangeSet, a Transaction's
// `changes`) works. The changes come out in the coordinates of the document before the transaction.
import type { CharChange } from './text';

/** The part of a CodeMirror ChangeSet the adapter reads. */
export interface ChangeSetLike {
  iterChanges(f: (fromA: number, toA: number, fromB: number, toB: number, inserted: { toString(): string }) => void, individual?: boolean): void;
}

export function changesFromChangeSet(changes: ChangeSetLike): CharChange[] {
  const out: CharChange[] = [];
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    out.push({ from: fromA, to: toA, insert: inserted.toString() });
  });
  return out;
}

/** Character changes as a CodeMirror `ChangeSpec` list (what `view.dispatch({changes})` takes). */
export function toChangeSpecs(changes: readonly CharChange[]): { from: number; to: number; insert: string }[] {
  return changes.map((change) => ({ from: change.from, to: change.to, insert: change.insert }));
}
