// Line ops applied to a CodeMirror Text must give exactly what line-ops' applyLineOps gives on a
// string, and the character changes reported for the editor must reproduce the same text.
import { seeded } from '@autopilot/test-support';
import { describe, expect, it } from 'vitest';
import { applyLineOps, checkLineOps, type LineOp } from '@autopilot/line-ops';
import { EditorState } from '@codemirror/state';
import { changesFromChangeSet } from '../../src/core/files/codemirror';
import { applyChangesToText, applyOpsToText, diffWindow, textOf } from '../../src/core/files/text';

function randomDoc(random: () => number): string {
  const lines = Array.from({ length: Math.floor(random() * 6) + 1 }, () => (random() < 0.3 ? '' : `l${Math.floor(random() * 100)}`));
  return lines.join('\n');
}

function randomOps(random: () => number, lineCount: number): LineOp[] {
  const ops: LineOp[] = [];
  let position = 0;
  while (position <= lineCount && ops.length < 4) {
    const start = position + Math.floor(random() * (lineCount - position + 1));
    const deleteCount = Math.floor(random() * (lineCount - start + 1) * 0.6);
    const lines = Array.from({ length: Math.floor(random() * 3) }, () => (random() < 0.3 ? '' : `n${Math.floor(random() * 100)}`));
    if (deleteCount === 0 && lines.length === 0) {
      position = start + 1;
      continue;
    }
    ops.push({ kind: 'replace', start, deleteCount, lines });
    position = start + deleteCount;
    if (random() < 0.4) break;
  }
  return ops;
}

describe('applyOpsToText', () => {
  it('matches applyLineOps on random documents and batches, and its changes reproduce the result', seeded({ seed: 7, iterations: 3000 }, ({ random, iterations }) => {
    let checked = 0;
    for (let i = 0; i < iterations; i++) {
      const doc = randomDoc(random);
      const ops = randomOps(random, doc.split('\n').length);
      if (ops.length === 0 || checkLineOps(ops) !== null) continue;
      const expected = applyLineOps(doc, ops);
      if (!expected.ok) continue;
      const { text, changes } = applyOpsToText(textOf(doc), ops);
      if (text.toString() !== expected.content) throw new Error(`${JSON.stringify(doc)} ${JSON.stringify(ops)} got ${JSON.stringify(text.toString())} want ${JSON.stringify(expected.content)}`);
      expect(applyChangesToText(textOf(doc), changes).toString()).toBe(expected.content);
      for (let k = 1; k < changes.length; k++) expect(changes[k]!.from).toBeGreaterThan(changes[k - 1]!.to);
      checked++;
    }
    expect(checked).toBeGreaterThan(iterations / 3);
  }));

  it('handles the edges of the document model: deleting every line, appending after the last line', () => {
    expect(applyOpsToText(textOf('a\nb'), [{ kind: 'replace', start: 0, deleteCount: 2, lines: [] }]).text.toString()).toBe('');
    expect(applyOpsToText(textOf('a'), [{ kind: 'replace', start: 1, deleteCount: 0, lines: ['b', 'c'] }]).text.toString()).toBe('a\nb\nc');
    expect(applyOpsToText(textOf('a\nb\nc'), [{ kind: 'replace', start: 2, deleteCount: 1, lines: [] }]).text.toString()).toBe('a\nb');
    expect(() => applyOpsToText(textOf('a'), [{ kind: 'replace', start: 1, deleteCount: 1, lines: [] }])).toThrow(RangeError);
  });
});

describe('diffWindow', () => {
  it('diffs only the window and keeps separate edits separate', () => {
    const before = textOf('a\nb\nc\nd\ne');
    const after = textOf('a\nB\nc\nD\ne');
    expect(diffWindow(before, after, 1, 4, 4)).toEqual([
      { kind: 'replace', start: 1, deleteCount: 1, lines: ['B'] },
      { kind: 'replace', start: 3, deleteCount: 1, lines: ['D'] },
    ]);
    // An empty side of the window is a pure insert or delete.
    expect(diffWindow(textOf('a\nz'), textOf('a\nx\ny\nz'), 1, 1, 3)).toEqual([{ kind: 'replace', start: 1, deleteCount: 0, lines: ['x', 'y'] }]);
    expect(diffWindow(textOf('a\nx\nz'), textOf('a\nz'), 1, 2, 1)).toEqual([{ kind: 'replace', start: 1, deleteCount: 1, lines: [] }]);
  });
});

describe('changesFromChangeSet', () => {
  it('reads a real CodeMirror transaction as changes in the old document, which a session applies to the same result', () => {
    const state = EditorState.create({ doc: 'one\ntwo\nthree' });
    const tr = state.update({ changes: [{ from: 0, to: 3, insert: 'ONE' }, { from: 8, insert: '3:' }, { from: 13, insert: '\nfour' }] });
    const changes = changesFromChangeSet(tr.changes);
    expect(changes).toEqual([
      { from: 0, to: 3, insert: 'ONE' },
      { from: 8, to: 8, insert: '3:' },
      { from: 13, to: 13, insert: '\nfour' },
    ]);
    expect(applyChangesToText(textOf('one\ntwo\nthree'), changes).toString()).toBe(tr.state.doc.toString());
  });
});
