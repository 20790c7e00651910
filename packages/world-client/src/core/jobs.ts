// Built-in compute jobs a headless node serves. Each is deterministic (same input, same output and
// hash on any machine), so a requester can verify a result by running it again.
// A request's job_envelope is `{ "kind": "<job kind>", "input": { ... } }`. Results travel inline
// in complete_compute's result_ref (`inline:<json>`, at most 1024 bytes) with result_hash =
// sha256 of that JSON text.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { applyLineOps, contentHash, diffLines, lineCount, parseLineOps } from '@autopilot/line-ops';

/** complete_compute's result_ref limit (the module's path limit). */
export const MAX_RESULT_REF_BYTES = 1024;
export const INLINE_PREFIX = 'inline:';

export type JobOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; reason: string };

export interface JobKind {
  readonly kind: string;
  readonly description: string;
  /** Checks the input before the node accepts; a reason means reject. */
  validate(input: unknown): string | null;
  run(input: unknown): JobOutcome;
}

const MAX_TEXT_BYTES = 256 * 1024;

const hashSha256: JobKind = {
  kind: 'hash.sha256',
  description: 'SHA-256 of a UTF-8 text: { text } → { sha256, bytes }',
  validate: (input) => textField(input, 'text'),
  run(input) {
    const bytes = utf8ToBytes((input as { text: string }).text);
    return { ok: true, result: { sha256: bytesToHex(sha256(bytes)), bytes: bytes.length } };
  },
};

const linesDiff: JobKind = {
  kind: 'lines.diff',
  description: 'Line ops turning one text into another: { before, after } → { ops, afterHash }',
  validate: (input) => textField(input, 'before') ?? textField(input, 'after'),
  run(input) {
    const { before, after } = input as { before: string; after: string };
    const ops = diffLines(before, after).map(({ start, deleteCount, lines }) => ({ start, deleteCount, lines }));
    return { ok: true, result: { ops, afterHash: contentHash(after) } };
  },
};

const linesApply: JobKind = {
  kind: 'lines.apply',
  description: 'Applies line ops to a text: { content, ops } → { contentHash, lineCount, bytes }',
  validate(input) {
    const problem = textField(input, 'content');
    if (problem) return problem;
    const parsed = parseLineOps(withKinds((input as { ops?: unknown }).ops));
    return parsed.ok ? null : `input.ops is not a valid list of line ops: ${parsed.message}`;
  },
  run(input) {
    const { content, ops } = input as { content: string; ops: unknown };
    const parsed = parseLineOps(withKinds(ops));
    if (!parsed.ok) return { ok: false, reason: parsed.message };
    const applied = applyLineOps(content, parsed.ops);
    if (!applied.ok) return { ok: false, reason: `the ops do not apply: ${applied.message}` };
    return {
      ok: true,
      result: {
        contentHash: contentHash(applied.content),
        lineCount: lineCount(applied.content),
        bytes: utf8ToBytes(applied.content).length,
      },
    };
  },
};

export const BUILTIN_JOBS: readonly JobKind[] = [hashSha256, linesDiff, linesApply];

export type ParsedEnvelope = { ok: true; job: JobKind; input: unknown } | { ok: false; reason: string };

/** Reads a job_envelope against the kinds a node runs. */
export function parseJobEnvelope(envelope: string, kinds: readonly JobKind[] = BUILTIN_JOBS): ParsedEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(envelope);
  } catch {
    return { ok: false, reason: 'job_envelope is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'job_envelope must be a JSON object' };
  const { kind, input } = json as { kind?: unknown; input?: unknown };
  if (typeof kind !== 'string') return { ok: false, reason: `job_envelope needs a "kind" (one of ${kinds.map((k) => k.kind).join(', ')})` };
  const job = kinds.find((candidate) => candidate.kind === kind);
  if (!job) return { ok: false, reason: `unsupported job kind ${JSON.stringify(kind.slice(0, 64))}; this node runs ${kinds.map((k) => k.kind).join(', ')}` };
  const problem = job.validate(input);
  if (problem) return { ok: false, reason: `${kind}: ${problem}` };
  return { ok: true, job, input };
}

export type InlineResult = { ok: true; resultRef: string; resultHash: string } | { ok: false; reason: string };

/** The result as complete_compute carries it, or why it cannot be carried. */
export function inlineResult(result: Record<string, unknown>): InlineResult {
  const json = JSON.stringify(result);
  const resultRef = `${INLINE_PREFIX}${json}`;
  const size = utf8ToBytes(resultRef).length;
  if (size > MAX_RESULT_REF_BYTES) return { ok: false, reason: `the result is ${size} bytes; inline results are limited to ${MAX_RESULT_REF_BYTES}` };
  return { ok: true, resultRef, resultHash: bytesToHex(sha256(utf8ToBytes(json))) };
}

/** Reads an inline result back and checks it against its hash. */
export function readInlineResult(resultRef: string, resultHash: string): { ok: true; result: unknown } | { ok: false; reason: string } {
  if (!resultRef.startsWith(INLINE_PREFIX)) return { ok: false, reason: 'not an inline result' };
  const json = resultRef.slice(INLINE_PREFIX.length);
  if (bytesToHex(sha256(utf8ToBytes(json))) !== resultHash) return { ok: false, reason: 'the result does not match its hash' };
  try {
    return { ok: true, result: JSON.parse(json) };
  } catch {
    return { ok: false, reason: 'the inline result is not JSON' };
  }
}

function textField(input: unknown, field: string): string | null {
  if (typeof input !== 'object' || input === null) return `input must be an object with a "${field}" string`;
  const value = (input as Record<string, unknown>)[field];
  if (typeof value !== 'string') return `input.${field} must be a string`;
  if (utf8ToBytes(value).length > MAX_TEXT_BYTES) return `input.${field} is larger than ${MAX_TEXT_BYTES} bytes`;
  return null;
}

/** Ops as JSON may omit `kind` (there is one kind); line-ops wants it. */
function withKinds(ops: unknown): unknown {
  if (!Array.isArray(ops)) return ops;
  return ops.map((op) => (typeof op === 'object' && op !== null && !('kind' in op) ? { kind: 'replace', ...op } : op));
}
