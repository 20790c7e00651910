// Messages between the bench and a host child process (lib/host-process.ts).

export interface HostProcessOptions {
  module: string;
  name: string;
  dataDir?: string;
  fsync?: boolean;
  groupCommitMs?: number;
  snapshotEvery?: number;
  keepLog?: boolean;
  /** Per-call time budget of module code (0: no watchdog); the host's default when absent. */
  callBudgetMs?: number;
  /** Write a CPU profile of `startHost` (module load + recovery) to this path. */
  profileStartupTo?: string;
}

export type ParentMessage =
  | { type: 'cpu'; id: number }
  | { type: 'hash'; id: number }
  | { type: 'profile-start'; id: number }
  | { type: 'profile-stop'; id: number; path: string }
  | { type: 'close'; id: number; crash?: boolean };

export interface RecoverySummary {
  fresh: boolean;
  replayedRecords: number;
  snapshotSeq: string | undefined;
}

export type ChildMessage =
  | { type: 'ready'; url: string; startMs: number; maxRssMiB: number; recovery: RecoverySummary | undefined }
  | { type: 'cpu'; id: number; userMicros: number; systemMicros: number; atNs: string }
  | { type: 'hash'; id: number; hash: string }
  | { type: 'ack'; id: number };
