import type { LineConflict, LineOp, LineRange, RebaseLineOpsResult } from './types';

/** The base range each op replaces, one per op, in base coordinates. Inserts give start === end. */
export function changedRanges(ops: readonly LineOp[]): LineRange[] {
  return ops.map((op) => ({ start: op.start, end: op.start + op.deleteCount }));
}

/** Old lines [oldStart, oldEnd) became new lines [newStart, newEnd). */
interface Hunk {
  readonly oldStart: number;
  readonly oldEnd: number;
  readonly newStart: number;
  readonly newEnd: number;
}

/**
 * Transforms `ops` (written against a base version) so they apply to head, where
 * `concurrentOpsSinceBase` are the batches applied since base, in order, each as it was applied
 * (i.e. in the coordinates of the document left by the batch before it).
 *
 * Conflict rule: an op conflicts when its closed range [start, end] intersects the closed base
 * range of any change since base. So overlapping, touching (one ends where the other starts),
 * and inserting at the same position all conflict; there is no tiebreak to agree on.
 */
export function rebaseLineOps(
  ops: readonly LineOp[],
  concurrentOpsSinceBase: readonly (readonly LineOp[])[],
): RebaseLineOpsResult {
  let theirs: Hunk[] = [];
  for (const batch of concurrentOpsSinceBase) theirs = composeHunks(theirs, hunksOf(batch));

  const rebased: LineOp[] = [];
  const conflicts: LineConflict[] = [];
  let next = 0; // first hunk that does not end strictly before the current op
  let shift = 0; // head minus base line numbers, for positions after the hunks already passed
  for (const op of ops) {
    const start = op.start;
    const end = op.start + op.deleteCount;
    while (next < theirs.length && theirs[next]!.oldEnd < start) {
      const passed = theirs[next]!;
      shift += passed.newEnd - passed.newStart - (passed.oldEnd - passed.oldStart);
      next++;
    }
    let clashed = false;
    for (let index = next; index < theirs.length && theirs[index]!.oldStart <= end; index++) {
      const hunk = theirs[index]!;
      conflicts.push({
        ours: { start, end },
        theirs: { start: hunk.oldStart, end: hunk.oldEnd },
        theirsAtHead: { start: hunk.newStart, end: hunk.newEnd },
      });
      clashed = true;
    }
    if (!clashed) rebased.push({ kind: 'replace', start: start + shift, deleteCount: op.deleteCount, lines: op.lines });
  }
  if (conflicts.length > 0) {
    const listed = conflicts
      .map((c) => `ours [${c.ours.start}, ${c.ours.end}) vs theirs [${c.theirs.start}, ${c.theirs.end})`)
      .join('; ');
    return { ok: false, code: 'conflict', message: `edits touch lines changed since base (base coordinates): ${listed}`, conflicts };
  }
  return { ok: true, ops: rebased };
}

/** One valid batch as hunks; touching ops merge, so hunks are strictly apart in both coordinates. */
function hunksOf(ops: readonly LineOp[]): Hunk[] {
  const hunks: Hunk[] = [];
  let delta = 0;
  for (const op of ops) {
    const oldEnd = op.start + op.deleteCount;
    const newStart = op.start + delta;
    const newEnd = newStart + op.lines.length;
    delta += op.lines.length - op.deleteCount;
    const last = hunks[hunks.length - 1];
    if (last && last.oldEnd === op.start) {
      hunks[hunks.length - 1] = { oldStart: last.oldStart, oldEnd, newStart: last.newStart, newEnd };
    } else {
      hunks.push({ oldStart: op.start, oldEnd, newStart, newEnd });
    }
  }
  return hunks;
}

/**
 * Hunks base→head from hunks base→mid (`first`) and mid→head (`second`). Ranges of both that
 * overlap or touch in mid coordinates form one cluster, whose ends lie outside every hunk of the
 * other side and so map to base and head by the running line-count deltas.
 */
function composeHunks(first: readonly Hunk[], second: readonly Hunk[]): Hunk[] {
  const composed: Hunk[] = [];
  let i = 0;
  let j = 0;
  let baseMinusMid = 0;
  let headMinusMid = 0;
  while (i < first.length || j < second.length) {
    const a = first[i];
    const b = second[j];
    const takeFirst = b === undefined || (a !== undefined && a.newStart <= b.oldStart);
    const midStart = takeFirst ? a!.newStart : b!.oldStart;
    let midEnd = midStart;
    let clusterBaseMinusMid = 0;
    let clusterHeadMinusMid = 0;
    // The first pass always takes the hunk chosen above (its start equals midEnd), so this advances.
    for (;;) {
      const nextA = first[i];
      const nextB = second[j];
      if (nextA !== undefined && nextA.newStart <= midEnd) {
        midEnd = Math.max(midEnd, nextA.newEnd);
        clusterBaseMinusMid += nextA.oldEnd - nextA.oldStart - (nextA.newEnd - nextA.newStart);
        i++;
      } else if (nextB !== undefined && nextB.oldStart <= midEnd) {
        midEnd = Math.max(midEnd, nextB.oldEnd);
        clusterHeadMinusMid += nextB.newEnd - nextB.newStart - (nextB.oldEnd - nextB.oldStart);
        j++;
      } else {
        break;
      }
    }
    const hunk: Hunk = {
      oldStart: midStart + baseMinusMid,
      oldEnd: midEnd + baseMinusMid + clusterBaseMinusMid,
      newStart: midStart + headMinusMid,
      newEnd: midEnd + headMinusMid + clusterHeadMinusMid,
    };
    baseMinusMid += clusterBaseMinusMid;
    headMinusMid += clusterHeadMinusMid;
    // Lines inserted and then deleted again leave nothing changed.
    if (hunk.oldStart !== hunk.oldEnd || hunk.newStart !== hunk.newEnd) composed.push(hunk);
  }
  return composed;
}
