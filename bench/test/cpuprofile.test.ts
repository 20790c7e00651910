import { describe, expect, it } from 'vitest';
import { summariseProfile, type CpuProfile } from '../lib/cpuprofile';

// (root) → main (/src/a.ts:10) → leaf (/src/b.ts:3), and (root) → (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
    { id: 2, callFrame: { functionName: 'main', url: 'file:///src/a.ts', lineNumber: 9, columnNumber: 0 }, children: [3] },
    { id: 3, callFrame: { functionName: 'leaf', url: 'file:///src/b.ts', lineNumber: 2, columnNumber: 4 } },
    { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1, columnNumber: -1 } },
  ],
  startTime: 0,
  endTime: 10_000,
  samples: [2, 3, 3, 4, 3],
  timeDeltas: [1000, 2000, 2000, 4000, 1000],
};

describe('summariseProfile', () => {
  it('charges each sample to its function (self) and to every caller once (inclusive)', () => {
    const s = summariseProfile(profile, '/src');
    expect(s.totalMs).toBe(10);
    expect(s.idleMs).toBe(4);
    const by = Object.fromEntries(s.functions.map((f) => [f.where, f]));
    expect(by['leaf b.ts:3']).toEqual({ where: 'leaf b.ts:3', selfMs: 5, inclusiveMs: 5 });
    expect(by['main a.ts:10']).toEqual({ where: 'main a.ts:10', selfMs: 1, inclusiveMs: 6 });
    expect(by['(root)']).toEqual({ where: '(root)', selfMs: 0, inclusiveMs: 10 });
    expect(s.functions[0]!.where).toBe('leaf b.ts:3');
  });
});
