// The world's reducers as the client calls them: JSON-safe inputs (ids as strings, identities as
// hex) validated up front, stored in the outbox, and turned into SDK calls only when sent.
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { Identity, InternalError, SenderError } from 'spacetimedb';
import type { DbConnection } from '../../module_bindings/index';
import type { JsonValue } from '../outbox';
import type { LineOpView } from './models';

export type WorldErrorCode =
  | 'invalid_argument'
  | 'offline'
  | 'disconnected'
  | 'timeout'
  | 'token_expired'
  | 'not_joined'
  | 'not_configured'
  | 'denied'
  | 'rejected'
  | 'internal'
  | 'storage_failed'
  | 'closed';

export type WorldResult<Value extends object = object> = ({ ok: true } & Value) | { ok: false; code: WorldErrorCode; message: string };

/** Refusals that may succeed later unchanged: the outbox keeps them and tries again. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['offline', 'disconnected', 'timeout', 'token_expired', 'not_joined', 'not_configured', 'held']);

/** What a failed reducer call means for the caller. */
export function classifyCallError(error: unknown): { code: WorldErrorCode; message: string } {
  if (error instanceof SenderError || (error instanceof Error && error.name === 'SenderError')) {
    const message = error.message;
    if (/token expired/.test(message)) return { code: 'token_expired', message };
    if (/not joined; call join_world first/.test(message)) return { code: 'not_joined', message };
    if (/world not configured/.test(message)) return { code: 'not_configured', message };
    if (/ denied: /.test(message)) return { code: 'denied', message };
    return { code: 'rejected', message };
  }
  if (error instanceof InternalError || (error instanceof Error && error.name === 'InternalError')) {
    return { code: 'internal', message: error.message };
  }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

export class InvalidArgument extends Error {
  override readonly name = 'InvalidArgument';
}

/** A fresh idempotency key / op id: printable, unique, accepted by the module's key rule. */
export function newKey(prefix: string): string {
  return `${prefix}-${bytesToHex(randomBytes(16))}`;
}

const KEY = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const U64_MAX = (1n << 64n) - 1n;

export function checkKey(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw new InvalidArgument(`${field} must be 1-128 characters from [A-Za-z0-9._:@/+=-]`);
  }
  return value;
}

/** A u64 id given as a decimal string (or a safe integer); returned as its canonical string. */
export function checkId(value: string | number | undefined, field: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > U64_MAX) {
    throw new InvalidArgument(`${field} must be a u64 written as a decimal string, got ${JSON.stringify(value)}`);
  }
  return text;
}

export function checkCount(value: number | undefined, field: string, fallback = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidArgument(`${field} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkIdentity(value: string | undefined, field: string): string {
  if (typeof value !== 'string' || !HEX64.test(value)) throw new InvalidArgument(`${field} must be an identity as 64 lowercase hex characters`);
  return value;
}

export function checkString(value: unknown, field: string, options: { allowEmpty?: boolean; fallback?: string } = {}): string {
  if (value === undefined && options.fallback !== undefined) return options.fallback;
  if (typeof value !== 'string') throw new InvalidArgument(`${field} must be a string`);
  if (!options.allowEmpty && value === '') throw new InvalidArgument(`${field} must not be empty`);
  return value;
}

export function checkStrings(value: readonly string[] | undefined, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new InvalidArgument(`${field} must be a list of strings`);
  return [...value];
}

export function checkJsonObject(value: unknown, field: string): string {
  if (value === undefined) return '{}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgument(`${field} must be a JSON object`);
  try {
    return JSON.stringify(value);
  } catch {
    throw new InvalidArgument(`${field} must be serialisable as JSON`);
  }
}

export function checkLineOps(ops: readonly LineOpView[] | undefined, field: string): LineOpView[] {
  if (!Array.isArray(ops)) throw new InvalidArgument(`${field} must be a list of { start, deleteCount, lines }`);
  return ops.map((op, index) => {
    if (typeof op !== 'object' || op === null) throw new InvalidArgument(`${field}[${index}] must be an object`);
    return {
      start: checkCount(op.start, `${field}[${index}].start`, undefined, 0xffff_ffff),
      deleteCount: checkCount(op.deleteCount, `${field}[${index}].deleteCount`, undefined, 0xffff_ffff),
      lines: checkStrings(op.lines, `${field}[${index}].lines`),
    };
  });
}

type Args = Record<string, any>;
type Call = (conn: DbConnection, args: Args, key: string) => Promise<void>;

const u64 = (value: unknown): bigint => BigInt(value as string);
const identity = (value: unknown): Identity => Identity.fromString(value as string);
const lineOps = (ops: unknown) => (ops as LineOpView[]).map((op) => ({ start: op.start, deleteCount: op.deleteCount, lines: [...op.lines] }));

/**
 * Every write the outbox can carry: entry kind → the reducer call. Args are the JSON form the
 * wrappers store (validated before they were stored); `key` is the entry's key, which doubles as
 * the idempotency key or op id where the reducer takes one.
 */
export const OUTBOX_CALLS: Readonly<Record<string, Call>> = {
  publish_message: (conn, a, key) =>
    conn.reducers.publishMessage({
      channelId: u64(a.channelId),
      idempotencyKey: key,
      kind: a.kind,
      contentType: a.contentType,
      payload: a.payload,
      replyToSeq: BigInt(a.replyToSeq),
    }),
  ack_message: (conn, a) =>
    conn.reducers.ackMessage({ channelId: u64(a.channelId), seenSeq: BigInt(a.seenSeq), ackedSeq: BigInt(a.ackedSeq) }),
  open_channel: (conn, a, key) =>
    conn.reducers.openChannel({
      idempotencyKey: key,
      workspaceId: u64(a.workspaceId),
      name: a.name,
      topic: a.topic,
      kind: a.kind,
      isPrivate: a.isPrivate,
      mirrorToNostr: a.mirrorToNostr,
      participants: (a.participants as string[]).map(identity),
    }),
  join_channel: (conn, a) => conn.reducers.joinChannel({ channelId: u64(a.channelId) }),
  leave_channel: (conn, a) => conn.reducers.leaveChannel({ channelId: u64(a.channelId) }),
  close_channel: (conn, a) => conn.reducers.closeChannel({ channelId: u64(a.channelId) }),
  add_channel_participant: (conn, a) =>
    conn.reducers.addChannelParticipant({ channelId: u64(a.channelId), participant: identity(a.participant) }),
  advertise_capabilities: (conn, a) =>
    conn.reducers.advertiseCapabilities({
      workspaceId: u64(a.workspaceId),
      tools: a.tools,
      models: a.models,
      computeClasses: a.computeClasses,
      maxConcurrency: a.maxConcurrency,
      priceHints: a.priceHints,
      constraints: a.constraints,
      region: a.region,
    }),
  withdraw_capabilities: (conn, a) => conn.reducers.withdrawCapabilities({ workspaceId: u64(a.workspaceId) }),
  request_compute: (conn, a, key) =>
    conn.reducers.requestCompute({
      idempotencyKey: key,
      workspaceId: u64(a.workspaceId),
      policyClass: a.policyClass,
      jobEnvelope: a.jobEnvelope,
      costHints: a.costHints,
      maxPriceMsats: u64(a.maxPriceMsats),
      slaMs: a.slaMs,
      targetProvider: a.targetProvider === null ? undefined : identity(a.targetProvider),
    }),
  cancel_compute: (conn, a) => conn.reducers.cancelCompute({ requestId: u64(a.requestId) }),
  accept_compute: (conn, a) => conn.reducers.acceptCompute({ requestId: u64(a.requestId) }),
  reject_compute: (conn, a) => conn.reducers.rejectCompute({ requestId: u64(a.requestId), reason: a.reason }),
  complete_compute: (conn, a) =>
    conn.reducers.completeCompute({
      requestId: u64(a.requestId),
      success: a.success,
      resultRef: a.resultRef,
      resultHash: a.resultHash,
      reason: a.reason,
    }),
  apply_file_ops: (conn, a, key) =>
    conn.reducers.applyFileOps({
      workspaceId: u64(a.workspaceId),
      path: a.path,
      opId: key,
      expectedBaseVersion: BigInt(a.expectedBaseVersion),
      ops: lineOps(a.ops),
      rangeHashes: (a.rangeHashes as Array<{ start: number; end: number; hash: string }>).map((range) => ({ ...range })),
    }),
  resolve_conflict: (conn, a, key) =>
    conn.reducers.resolveConflict({
      ticketId: u64(a.ticketId),
      resolution: a.resolution,
      opId: key,
      expectedBaseVersion: BigInt(a.expectedBaseVersion),
      ops: lineOps(a.ops),
    }),
  create_workspace: (conn, a) => conn.reducers.createWorkspace({ slug: a.slug, name: a.name }),
  invite_member: (conn, a) =>
    conn.reducers.inviteMember({ workspaceId: u64(a.workspaceId), member: identity(a.member), role: a.role, capabilities: a.capabilities }),
  remove_member: (conn, a) => conn.reducers.removeMember({ workspaceId: u64(a.workspaceId), member: identity(a.member) }),
  leave_workspace: (conn, a) => conn.reducers.leaveWorkspace({ workspaceId: u64(a.workspaceId) }),
  request_peer_link: (conn, a) => conn.reducers.requestPeerLink({ peer: identity(a.peer), kind: a.kind }),
  accept_peer_link: (conn, a) => conn.reducers.acceptPeerLink({ linkId: u64(a.linkId) }),
  close_peer_link: (conn, a) => conn.reducers.closePeerLink({ linkId: u64(a.linkId) }),
};

export type OutboxKind = keyof typeof OUTBOX_CALLS;

/** JSON args as stored; the wrappers build them. */
export type StoredArgs = { [key: string]: JsonValue };
