// Summarise a V8 CPU profile (.cpuprofile, as written by `node --cpu-prof` or the inspector):
// self and inclusive time per function, keyed by name and file:line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  /** `name file:line` (line 1-based; paths relative to `root`). */
  where: string;
  selfMs: number;
  inclusiveMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: FunctionTime[];
}

function locate(frame: ProfileNode['callFrame'], root: string): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  let file = frame.url;
  if (file.startsWith('file://')) file = relative(root, fileURLToPath(file));
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

export function summariseProfile(profile: CpuProfile, root = process.cwd()): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = new Map<number, string>();
  for (const n of profile.nodes) keyOf.set(n.id, locate(n.callFrame, root));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  // timeDeltas[i] is the time between sample i-1 and sample i; it is charged to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const id = profile.samples[i]!;
    const key = keyOf.get(id) ?? '(unknown)';
    totalMs += ms;
    if (key === '(idle)') idleMs += ms;
    self.set(key, (self.get(key) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf.get(at)!;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  const functions = [...self].map(([where, selfMs]) => ({ where, selfMs, inclusiveMs: inclusive.get(where) ?? selfMs }));
  for (const [where, inclusiveMs] of inclusive) if (!self.has(where)) functions.push({ where, selfMs: 0, inclusiveMs });
  functions.sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs, idleMs, functions };
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}
