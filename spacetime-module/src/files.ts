// Shared files edited line by line. Every edit names the version it was written against; a stale
// edit whose lines were not touched since then is rebased onto head (recorded as rebased), an
// overlapping one writes nothing but a conflict ticket (+ event). Each applied batch is a file_op
// chained by op_hash (@autopilot/line-ops), so head = snapshot + replay of the ops after it.
import type { Identity } from 'spacetimedb';
import {
  applyLineOps,
  contentHash,
  lineCount,
  opHash,
  parseLineOps,
  rangeHash,
  rebaseLineOps,
  GENESIS_HASH,
  type LineConflict,
  type LineOp,
} from '@autopilot/line-ops';
import { Range, ScheduleAt, t, type Infer } from 'spacetimedb/server';
import { authorizeNode, requireMember, requireScheduler, type ConfigRow, type Ctx } from './auth';
import { Capability, FileOpKind, Limits, PresenceKind, Resolution, Scope, TicketStatus } from './constants';
import spacetimedb, { checkpoint_job, file_head } from './schema';
import { LineOpType, RangeHashType, type ConflictRangeRow, type LineOpRow } from './types';
import { checkHex64, checkKey, checkOneOf, checkText, utf8Length } from './validate';
import { refuse } from './refuse';
import { me } from './identity';

type HeadRow = Infer<typeof file_head.rowType>;

/**
 * Applies `ops` (base coordinates of `expected_base_version`) to the file at `path`, creating it
 * when it does not exist and expected_base_version is 0 (a new file is the empty text, one line).
 * range_hashes optionally pin base lines the edit relies on (line-ops rangeHash).
 */
export const apply_file_ops = spacetimedb.reducer(
  {
    workspace_id: t.u64(),
    path: t.string(),
    op_id: t.string(),
    expected_base_version: t.u64(),
    ops: t.array(LineOpType),
    range_hashes: t.array(RangeHashType),
  },
  (ctx, args) => {
    const { config } = authorizeNode(ctx, 'apply_file_ops', Scope.filesWrite);
    checkKey(args.op_id, 'op_id', Limits.opId);
    checkPath(args.path);
    const previous = priorOutcome(ctx, args.op_id);
    if (previous) {
      if (!previous.actor.isEqual(me(ctx))) throw refuse('duplicate_key', 'apply_file_ops: op_id was already used by another node');
      const file = ctx.db.file_head.file_id.find(previous.file_id);
      if (file && file.workspace_id === args.workspace_id && file.path === args.path && previous.expected_base_version === args.expected_base_version) return;
      throw refuse('duplicate_key', 'apply_file_ops: op_id was already used for a different edit');
    }
    requireMember(ctx, 'apply_file_ops', args.workspace_id, Capability.filesWrite);
    const submitted = toLineOps(args.ops, 'apply_file_ops');
    if (args.range_hashes.length > Limits.rangeHashesPerCall) {
      throw refuse('limit_exceeded', `apply_file_ops: at most ${Limits.rangeHashesPerCall} range_hashes`);
    }

    const existing = fileAt(ctx, args.workspace_id, args.path);
    if (!existing && args.expected_base_version !== 0n) {
      throw refuse('not_found', `apply_file_ops: no file ${JSON.stringify(args.path)} in workspace ${args.workspace_id}; create it with expected_base_version 0`);
    }
    const head = existing ?? newFile(ctx, args.workspace_id, args.path);
    if (args.expected_base_version > head.version) {
      throw refuse('stale_version', `apply_file_ops: expected_base_version ${args.expected_base_version} is ahead of head version ${head.version}`);
    }

    const history = opsSince(ctx, head, args.expected_base_version);
    checkOpsFitBase(submitted, baseLineCount(head, history), args.expected_base_version);
    const conflicts = checkRangeHashes(head, history, args.range_hashes);
    let toApply = submitted;
    if (history.length > 0) {
      const rebased = rebaseLineOps(submitted, history);
      if (rebased.ok) toApply = rebased.ops;
      else conflicts.push(...rebased.conflicts.map((conflict) => conflictRow('edit', conflict)));
    }
    if (conflicts.length > 0) {
      openTicket(ctx, head, args.op_id, args.expected_base_version, args.ops, conflicts);
      return;
    }
    applyEdit(ctx, config, head, {
      opId: args.op_id,
      kind: FileOpKind.edit,
      expectedBaseVersion: args.expected_base_version,
      ops: toApply,
      rebased: history.length > 0,
    });
  },
);

/**
 * Settles an open ticket: "accept_head" drops the edit; "patch" applies `ops` against the current
 * head, which expected_base_version must name exactly (no rebase). The ticket's actor or a member
 * holding files:resolve may resolve. Repeating the same resolution is a no-op.
 */
export const resolve_conflict = spacetimedb.reducer(
  { ticket_id: t.u64(), resolution: t.string(), op_id: t.string(), expected_base_version: t.u64(), ops: t.array(LineOpType) },
  (ctx, args) => {
    const { config } = authorizeNode(ctx, 'resolve_conflict', Scope.filesWrite);
    const ticket = ctx.db.conflict_ticket.ticket_id.find(args.ticket_id);
    if (!ticket) throw refuse('not_found', `resolve_conflict: no conflict ticket ${args.ticket_id}`);
    const member = requireMember(ctx, 'resolve_conflict', ticket.workspace_id, Capability.filesWrite);
    if (!ticket.actor.isEqual(me(ctx)) && !member.capabilities.includes(Capability.filesResolve)) {
      throw refuse('not_owner', `resolve_conflict denied: only the ticket's author or a member with ${Capability.filesResolve} may resolve it`);
    }
    const resolution = checkOneOf(args.resolution, 'resolution', [Resolution.acceptHead, Resolution.patch]);
    if (ticket.status === TicketStatus.resolved) {
      if (ticket.resolution === resolution && (resolution === Resolution.acceptHead || ticket.resolution_op_id === args.op_id)) return;
      throw refuse('invalid_state', `resolve_conflict: ticket ${args.ticket_id} was already resolved (${ticket.resolution})`);
    }
    let resolutionOpId = '';
    if (resolution === Resolution.patch) {
      checkKey(args.op_id, 'op_id', Limits.opId);
      if (priorOutcome(ctx, args.op_id)) throw refuse('duplicate_key', 'resolve_conflict: op_id was already used');
      const head = ctx.db.file_head.file_id.find(ticket.file_id);
      if (!head) throw new Error(`file ${ticket.file_id} of ticket ${ticket.ticket_id} is missing`);
      if (args.expected_base_version !== head.version) {
        throw refuse('stale_version', `resolve_conflict: head is at version ${head.version}; write the patch against it`);
      }
      const ops = toLineOps(args.ops, 'resolve_conflict');
      checkOpsFitBase(ops, head.line_count, head.version);
      applyEdit(ctx, config, head, {
        opId: args.op_id,
        kind: FileOpKind.resolve,
        expectedBaseVersion: head.version,
        ops,
        rebased: false,
      });
      resolutionOpId = args.op_id;
    }
    ctx.db.conflict_ticket.ticket_id.update({
      ...ticket,
      status: TicketStatus.resolved,
      resolution,
      resolution_op_id: resolutionOpId,
      resolved_by: me(ctx),
      resolved_at: ctx.timestamp,
    });
  },
);

/** Snapshots the head now (a no-op when a snapshot of this version exists). */
export const checkpoint_file = spacetimedb.reducer({ file_id: t.u64() }, (ctx, { file_id }) => {
  authorizeNode(ctx, 'checkpoint_file', Scope.filesWrite);
  const head = ctx.db.file_head.file_id.find(file_id);
  if (!head) throw refuse('not_found', `checkpoint_file: no file ${file_id}`);
  requireMember(ctx, 'checkpoint_file', head.workspace_id, Capability.filesWrite);
  writeSnapshot(ctx, head);
});

/** Scheduled by apply_file_ops every checkpoint_every_ops versions. */
export const run_checkpoint_job = spacetimedb.reducer({ onSchedule: checkpoint_job }, { job: checkpoint_job.rowType }, (ctx, { job }) => {
  requireScheduler(ctx, 'run_checkpoint_job');
  const head = ctx.db.file_head.file_id.find(job.file_id);
  if (head) writeSnapshot(ctx, head);
});

/**
 * Cursor, selection, typing and advisory soft locks, as presence_event rows (not stored).
 * file_id 0 = the workspace itself. Soft locks need files:write.
 */
export const publish_presence = spacetimedb.reducer(
  {
    workspace_id: t.u64(),
    file_id: t.u64(),
    kind: t.string(),
    anchor_line: t.u32(),
    anchor_col: t.u32(),
    head_line: t.u32(),
    head_col: t.u32(),
  },
  (ctx, args) => {
    authorizeNode(ctx, 'publish_presence');
    const kind = checkOneOf(args.kind, 'kind', PresenceKind);
    const locks = kind === 'soft_lock' || kind === 'soft_unlock';
    requireMember(ctx, 'publish_presence', args.workspace_id, locks ? Capability.filesWrite : undefined);
    if (args.file_id !== 0n) {
      const file = ctx.db.file_head.file_id.find(args.file_id);
      if (!file || file.workspace_id !== args.workspace_id) {
        throw refuse('not_found', `publish_presence: no file ${args.file_id} in workspace ${args.workspace_id}`);
      }
    }
    ctx.db.presence_event.insert({
      workspace_id: args.workspace_id,
      file_id: args.file_id,
      actor: me(ctx),
      kind,
      anchor_line: args.anchor_line,
      anchor_col: args.anchor_col,
      head_line: args.head_line,
      head_col: args.head_col,
      at: ctx.timestamp,
    });
  },
);

// ---- helpers ----

interface Edit {
  opId: string;
  kind: string;
  expectedBaseVersion: bigint;
  ops: LineOp[];
  rebased: boolean;
}

function applyEdit(ctx: Ctx, config: ConfigRow, head: HeadRow, edit: Edit): void {
  const applied = applyLineOps(head.content, edit.ops);
  if (!applied.ok) throw refuse('invalid_argument', `${edit.kind === FileOpKind.edit ? 'apply_file_ops' : 'resolve_conflict'}: ${applied.message}`);
  const size = utf8Length(applied.content);
  if (size > config.max_file_bytes) throw refuse('limit_exceeded', `the edit makes the file ${size} bytes; the limit is ${config.max_file_bytes}`);
  const afterHash = contentHash(applied.content);
  const version = head.version + 1n;
  const hash = opHash({
    prevHash: head.last_op_hash,
    opId: edit.opId,
    actor: me(ctx).toHexString(),
    baseVersion: edit.expectedBaseVersion,
    ops: edit.ops,
    beforeHash: head.content_hash,
    afterHash,
  });
  ctx.db.file_op.insert({
    op_seq: 0n,
    op_id: edit.opId,
    file_id: head.file_id,
    version,
    kind: edit.kind,
    actor: me(ctx),
    applied_at: ctx.timestamp,
    expected_base_version: edit.expectedBaseVersion,
    rebased: edit.rebased,
    ops: edit.ops.map(toRow),
    before_hash: head.content_hash,
    after_hash: afterHash,
    prev_op_hash: head.last_op_hash,
    op_hash: hash,
  });
  const next: HeadRow = {
    ...head,
    version,
    content: applied.content,
    content_hash: afterHash,
    line_count: lineCount(applied.content),
    last_op_hash: hash,
    updated_by: me(ctx),
    updated_at: ctx.timestamp,
  };
  ctx.db.file_head.file_id.update(next);
  if (version - next.snapshot_version >= BigInt(config.checkpoint_every_ops)) scheduleCheckpoint(ctx, head.file_id);
}

/** A new file's head at version 0: the empty text (one empty line), genesis chain. */
function newFile(ctx: Ctx, workspaceId: bigint, path: string): HeadRow {
  // Inserted now and updated by applyEdit in the same transaction, so subscribers see one insert.
  return ctx.db.file_head.insert({
    file_id: 0n,
    workspace_id: workspaceId,
    path,
    version: 0n,
    content: '',
    content_hash: contentHash(''),
    line_count: 1,
    last_op_hash: GENESIS_HASH,
    snapshot_version: 0n,
    created_by: me(ctx),
    created_at: ctx.timestamp,
    updated_by: me(ctx),
    updated_at: ctx.timestamp,
  });
}

function fileAt(ctx: Ctx, workspaceId: bigint, path: string): HeadRow | undefined {
  for (const row of ctx.db.file_head.by_workspace_path.filter([workspaceId, path])) return row;
  return undefined;
}

/** The applied batches after `base`, oldest first (each in the coordinates of the version before it). */
function opsSince(ctx: Ctx, head: HeadRow, base: bigint): LineOp[][] {
  if (base === head.version) return [];
  const range = new Range<bigint>({ tag: 'excluded', value: base }, { tag: 'included', value: head.version });
  const batches: LineOp[][] = [];
  for (const row of ctx.db.file_op.by_file_version.filter([head.file_id, range])) batches.push(row.ops.map(fromRow));
  if (BigInt(batches.length) !== head.version - base) {
    throw new Error(`file ${head.file_id}: history after version ${base} has ${batches.length} ops, expected ${head.version - base}`);
  }
  return batches;
}

/** Line count of the base version, undone from head by the batches' line deltas. */
function baseLineCount(head: HeadRow, history: readonly LineOp[][]): number {
  let count = head.line_count;
  for (const batch of history) for (const op of batch) count -= op.lines.length - op.deleteCount;
  return count;
}

function checkOpsFitBase(ops: readonly LineOp[], baseLines: number, version: bigint): void {
  for (const op of ops) {
    if (op.start + op.deleteCount > baseLines) {
      throw refuse('invalid_argument', `ops cover lines [${op.start}, ${op.start + op.deleteCount}) but version ${version} has ${baseLines} lines`);
    }
  }
}

/**
 * Range claims still intact at head must match it (else the caller's base text is wrong: refused);
 * claims over lines changed since base become conflicts.
 */
function checkRangeHashes(
  head: HeadRow,
  history: LineOp[][],
  claims: readonly { start: number; end: number; hash: string }[],
): ConflictRangeRow[] {
  const conflicts: ConflictRangeRow[] = [];
  for (const claim of claims) {
    checkHex64(claim.hash, 'range_hashes hash');
    if (claim.end < claim.start) throw refuse('invalid_argument', `range_hashes: [${claim.start}, ${claim.end}) is not a range`);
    const length = claim.end - claim.start;
    let start = claim.start;
    if (history.length > 0) {
      // Rebasing a probe op over the claimed lines tells whether they changed, and where they are now.
      const probe = rebaseLineOps([{ kind: 'replace', start: claim.start, deleteCount: length, lines: [''] }], history);
      if (!probe.ok) {
        conflicts.push(...probe.conflicts.map((conflict) => conflictRow('range_hash', conflict)));
        continue;
      }
      start = probe.ops[0]!.start;
    }
    const actual = rangeHash(head.content, { start, end: start + length });
    if (!actual.ok) throw refuse('invalid_argument', `range_hashes: ${actual.message}`);
    if (actual.hash !== claim.hash) {
      throw refuse('stale_version', `range_hashes: base lines [${claim.start}, ${claim.end}) do not hash to ${claim.hash}; your base text differs from the server's`);
    }
  }
  return conflicts;
}

function openTicket(
  ctx: Ctx,
  head: HeadRow,
  opId: string,
  expectedBaseVersion: bigint,
  ops: LineOpRow[],
  conflicts: ConflictRangeRow[],
): void {
  const ticket = ctx.db.conflict_ticket.insert({
    ticket_id: 0n,
    workspace_id: head.workspace_id,
    file_id: head.file_id,
    op_id: opId,
    actor: me(ctx),
    expected_base_version: expectedBaseVersion,
    head_version: head.version,
    head_hash: head.content_hash,
    ops,
    conflicts,
    status: TicketStatus.open,
    resolution: '',
    resolution_op_id: '',
    resolved_by: undefined,
    resolved_at: undefined,
    created_at: ctx.timestamp,
  });
  ctx.db.conflict_event.insert({
    ticket_id: ticket.ticket_id,
    workspace_id: head.workspace_id,
    file_id: head.file_id,
    op_id: opId,
    actor: me(ctx),
    head_version: head.version,
    head_hash: head.content_hash,
    conflicts,
    at: ctx.timestamp,
  });
}

/** What a previous call with this op id did: an applied op or a conflict ticket. */
function priorOutcome(ctx: Ctx, opId: string): { actor: Identity; file_id: bigint; expected_base_version: bigint } | undefined {
  const op = ctx.db.file_op.op_id.find(opId);
  if (op) return op;
  return ctx.db.conflict_ticket.op_id.find(opId) ?? undefined;
}

function writeSnapshot(ctx: Ctx, head: HeadRow): void {
  if (head.version === 0n) return;
  for (const _existing of ctx.db.file_snapshot.by_file_version.filter([head.file_id, head.version])) return;
  ctx.db.file_snapshot.insert({
    snapshot_id: 0n,
    file_id: head.file_id,
    version: head.version,
    content: head.content,
    content_hash: head.content_hash,
    op_hash: head.last_op_hash,
    created_at: ctx.timestamp,
  });
  ctx.db.file_head.file_id.update({ ...head, snapshot_version: head.version });
}

function scheduleCheckpoint(ctx: Ctx, fileId: bigint): void {
  for (const _pending of ctx.db.checkpoint_job.file_id.filter(fileId)) return;
  ctx.db.checkpoint_job.insert({ job_id: 0n, scheduled_at: ScheduleAt.time(ctx.timestamp.microsSinceUnixEpoch), file_id: fileId });
}

function toLineOps(rows: readonly LineOpRow[], action: string): LineOp[] {
  if (rows.length === 0) throw refuse('invalid_argument', `${action}: ops must not be empty`);
  if (rows.length > Limits.lineOpsPerCall) throw refuse('limit_exceeded', `${action}: at most ${Limits.lineOpsPerCall} ops per call`);
  const parsed = parseLineOps(rows.map(fromRow));
  if (!parsed.ok) throw refuse('invalid_argument', `${action}: ${parsed.message}`);
  return parsed.ops;
}

function fromRow(row: LineOpRow): LineOp {
  return { kind: 'replace', start: row.start, deleteCount: row.delete_count, lines: row.lines };
}

function toRow(op: LineOp): LineOpRow {
  return { start: op.start, delete_count: op.deleteCount, lines: [...op.lines] };
}

function conflictRow(kind: string, conflict: LineConflict): ConflictRangeRow {
  return {
    kind,
    ours_start: conflict.ours.start,
    ours_end: conflict.ours.end,
    theirs_start: conflict.theirs.start,
    theirs_end: conflict.theirs.end,
    head_start: conflict.theirsAtHead.start,
    head_end: conflict.theirsAtHead.end,
  };
}

function checkPath(path: string): void {
  checkText(path, 'path', Limits.path);
  const segments = path.split('/');
  if (path.includes('\\') || path.includes('\0') || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw refuse('invalid_argument', `path ${JSON.stringify(path)} must be relative, '/'-separated, without empty, '.' or '..' segments`);
  }
}
