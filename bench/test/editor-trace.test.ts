// Smoke test of the editor-trace bench's quick path (no timing asserted): a trace file in the
// traces' format is loaded (a prefix gets its own expected text), Yjs and the world replay agree
// with it, and B's session ends with exactly the expected text. A small seeded synthetic trace
// keeps it fast and independent of the shared data folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { loadTrace, runWorld, runYjs } from '../editor-trace-run';
import { prng } from '@autopilot/test-support/random';

const dir = mkdtempSync(join(tmpdir(), 'editor-trace-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Typing with deletions, Enter, multi-line pastes and cursor jumps, as [pos, del, ins] patches. */
function syntheticTrace(patches: number, seed: number): { txns: { time: string; patches: [number, number, string][] }[]; endContent: string } {
  const random = prng(seed);
  let text = '';
  let cursor = 0;
  const txns: { time: string; patches: [number, number, string][] }[] = [];
  for (let i = 0; i < patches; i++) {
    const roll = random();
    let patch: [number, number, string];
    if (roll < 0.02) cursor = Math.floor(random() * (text.length + 1));
    if (roll < 0.7 || text.length === 0) patch = [cursor, 0, 'abcdefghij '[Math.floor(random() * 11)]!];
    else if (roll < 0.8) patch = [cursor, 0, '\n'];
    else if (roll < 0.83) patch = [cursor, 0, 'pasted line one\npasted line two\n'];
    else {
      const from = Math.max(0, cursor - 1 - Math.floor(random() * 3));
      patch = [from, cursor - from, ''];
    }
    text = text.slice(0, patch[0]) + patch[2] + text.slice(patch[0] + patch[1]);
    cursor = patch[0] + patch[2].length;
    txns.push({ time: '2026-01-01T00:00:00Z', patches: [patch] });
  }
  return { txns, endContent: text };
}

it('loads a trace file, and a prefix of it with its own expected text', () => {
  const { txns, endContent } = syntheticTrace(500, 1);
  writeFileSync(join(dir, 'small.json.gz'), gzipSync(JSON.stringify({ startContent: '', endContent, txns })));
  const whole = loadTrace(dir, 'small');
  expect(whole).toMatchObject({ name: 'small', patches: 500, expected: endContent });
  const prefix = loadTrace(dir, 'small', 100);
  expect(prefix.patches).toBe(100);
  let text = '';
  for (const txn of txns.slice(0, 100)) for (const [pos, del, ins] of txn.patches) text = text.slice(0, pos) + ins + text.slice(pos + del);
  expect(prefix.expected).toBe(text);
  expect(() => runYjs(prefix)).not.toThrow();
});

it('replays a trace through A into the real world until B holds exactly the final text', async () => {
  const { txns, endContent } = syntheticTrace(3000, 2);
  writeFileSync(join(dir, 'synthetic.json.gz'), gzipSync(JSON.stringify({ startContent: '', endContent, txns })));
  const trace = loadTrace(dir, 'synthetic');
  const run = await runWorld(trace, { coalesceMs: 16, verifyHashes: true });
  expect(run.conflicts).toBe(0);
  expect(run.batches).toBeGreaterThan(0);
  expect(run.hostMaxRssMiB).toBeGreaterThan(0);
}, 60_000);
