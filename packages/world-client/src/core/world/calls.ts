// Every write the world client can queue, spelled once: per reducer one spec with its input check
// (input → outbox entry: key, JSON args, optional coalesce group) and its SDK send (entry → the
// reducer call). The wrappers (`client.channels.open`, …) and the outbox delivery are built from
// this record, so `OutboxKind` is a literal union and a misspelt kind does not compile.
import { Identity } from 'spacetimedb';
import type { DbConnection } from '../../module_bindings/index';
import type { JsonValue } from '../outbox';
import {
  checkCount,
  checkId,
  checkIdentity,
  checkJsonObject,
  checkKey,
  checkLineOps,
  checkString,
  checkStrings,
  InvalidArgument,
  newKey,
} from './checks';
import type { LineOpView } from './models';

/** JSON args as stored in the outbox; the specs build them. */
export type StoredArgs = { [key: string]: JsonValue };

/** What a spec's check turns a caller's input into: the outbox entry minus its kind. */
export interface BuiltEntry<Args> {
  /** The entry's key; doubles as the reducer's idempotency key or op id where it takes one. */
  readonly key: string;
  readonly args: Args;
  /** Entries with the same coalesce group replace each other while queued (latest wins). */
  readonly coalesce?: string;
}

/** One reducer as the outbox carries it. */
export interface CallSpec<Input, Args> {
  /** Checks the input (throws {@link InvalidArgument}) and builds the entry to store. */
  build(input: Input): BuiltEntry<Args>;
  /** Sends a stored entry as the reducer call. */
  send(conn: DbConnection, args: Args, key: string): Promise<void>;
}

// Ties a spec's Input and Args together while keeping the record's literal keys.
const spec = <Input, Args extends StoredArgs>(s: CallSpec<Input, Args>): CallSpec<Input, Args> => s;

const u64 = (value: string): bigint => BigInt(value);
const identity = (value: string): Identity => Identity.fromString(value);
const lineOps = (ops: readonly LineOpView[]) => ops.map((op) => ({ start: op.start, deleteCount: op.deleteCount, lines: [...op.lines] }));
const storedOps = (ops: LineOpView[]) => ops as unknown as Array<{ start: number; deleteCount: number; lines: string[] }>;
const channelOnly = (prefix: string) => (channelId: string) => ({ key: newKey(prefix), args: { channelId: checkId(channelId, 'channelId') } });
const requestOnly = (prefix: string) => (requestId: string) => ({ key: newKey(prefix), args: { requestId: checkId(requestId, 'requestId') } });
const linkOnly = (prefix: string) => (linkId: string) => ({ key: newKey(prefix), args: { linkId: checkId(linkId, 'linkId') } });

/** Every write the outbox can carry: entry kind (the reducer's name) → its spec. */
export const CALL_SPECS = {
  publish_message: spec({
    build: (input: { channelId: string; payload: string; kind?: string; contentType?: string; replyToSeq?: number; idempotencyKey?: string }) => ({
      key: checkKey(input.idempotencyKey, 'idempotencyKey') ?? newKey('msg'),
      args: {
        channelId: checkId(input.channelId, 'channelId'),
        payload: checkString(input.payload, 'payload'),
        kind: checkString(input.kind, 'kind', { fallback: 'text' }),
        contentType: checkString(input.contentType, 'contentType', { fallback: 'text/plain' }),
        replyToSeq: checkCount(input.replyToSeq, 'replyToSeq'),
      },
    }),
    send: (conn, a, key) =>
      conn.reducers.publishMessage({
        channelId: u64(a.channelId),
        idempotencyKey: key,
        kind: a.kind,
        contentType: a.contentType,
        payload: a.payload,
        replyToSeq: BigInt(a.replyToSeq),
      }),
  }),
  ack_message: spec({
    /** `seenOnly`: the automatic "seen" ack, which never moves the acknowledged mark. */
    build: (input: { channelId: string; seq: number; ackedSeq?: number; seenOnly?: boolean }) => {
      const channelId = checkId(input.channelId, 'channelId');
      const seenSeq = checkCount(input.seq, 'seq');
      if (input.seenOnly) return { key: newKey('seen'), coalesce: `seen:${channelId}`, args: { channelId, seenSeq, ackedSeq: 0 } };
      const ackedSeq = checkCount(input.ackedSeq, 'ackedSeq', seenSeq);
      return { key: newKey('ack'), coalesce: `ack:${channelId}`, args: { channelId, seenSeq, ackedSeq } };
    },
    send: (conn, a) => conn.reducers.ackMessage({ channelId: u64(a.channelId), seenSeq: BigInt(a.seenSeq), ackedSeq: BigInt(a.ackedSeq) }),
  }),
  open_channel: spec({
    build: (input: {
      name: string;
      topic?: string;
      kind?: 'group' | 'direct';
      isPrivate?: boolean;
      mirrorToNostr?: boolean;
      participants?: string[];
      workspaceId?: string;
      idempotencyKey?: string;
    }) => ({
      key: checkKey(input.idempotencyKey, 'idempotencyKey') ?? newKey('chan'),
      args: {
        name: checkString(input.name, 'name'),
        topic: checkString(input.topic, 'topic', { allowEmpty: true, fallback: '' }),
        kind: input.kind ?? 'group',
        isPrivate: input.isPrivate ?? input.kind === 'direct',
        mirrorToNostr: input.mirrorToNostr ?? false,
        participants: checkStrings(input.participants, 'participants').map((p, i) => checkIdentity(p, `participants[${i}]`)),
        workspaceId: checkId(input.workspaceId, 'workspaceId', '0'),
      },
    }),
    send: (conn, a, key) =>
      conn.reducers.openChannel({
        idempotencyKey: key,
        workspaceId: u64(a.workspaceId),
        name: a.name,
        topic: a.topic,
        kind: a.kind,
        isPrivate: a.isPrivate,
        mirrorToNostr: a.mirrorToNostr,
        participants: a.participants.map(identity),
      }),
  }),
  join_channel: spec({ build: channelOnly('join'), send: (conn, a) => conn.reducers.joinChannel({ channelId: u64(a.channelId) }) }),
  leave_channel: spec({ build: channelOnly('leave'), send: (conn, a) => conn.reducers.leaveChannel({ channelId: u64(a.channelId) }) }),
  close_channel: spec({ build: channelOnly('close'), send: (conn, a) => conn.reducers.closeChannel({ channelId: u64(a.channelId) }) }),
  add_channel_participant: spec({
    build: (input: { channelId: string; participant: string }) => ({
      key: newKey('seat'),
      args: { channelId: checkId(input.channelId, 'channelId'), participant: checkIdentity(input.participant, 'participant') },
    }),
    send: (conn, a) => conn.reducers.addChannelParticipant({ channelId: u64(a.channelId), participant: identity(a.participant) }),
  }),
  advertise_capabilities: spec({
    build: (input: {
      computeClasses: string[];
      tools?: string[];
      models?: string[];
      maxConcurrency?: number;
      priceHints?: Record<string, unknown>;
      constraints?: Record<string, unknown>;
      region?: string;
      workspaceId?: string;
    }) => {
      const workspaceId = checkId(input.workspaceId, 'workspaceId', '0');
      return {
        key: newKey('ad'),
        coalesce: `ad:${workspaceId}`,
        args: {
          workspaceId,
          computeClasses: checkStrings(input.computeClasses, 'computeClasses'),
          tools: checkStrings(input.tools, 'tools'),
          models: checkStrings(input.models, 'models'),
          maxConcurrency: checkCount(input.maxConcurrency, 'maxConcurrency', 1, 0xffff_ffff),
          priceHints: checkJsonObject(input.priceHints, 'priceHints'),
          constraints: checkJsonObject(input.constraints, 'constraints'),
          region: checkString(input.region, 'region', { allowEmpty: true, fallback: '' }),
        },
      };
    },
    send: (conn, a) =>
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
  }),
  withdraw_capabilities: spec({
    build: (workspaceId: string | undefined) => {
      const id = checkId(workspaceId, 'workspaceId', '0');
      return { key: newKey('unad'), coalesce: `ad:${id}`, args: { workspaceId: id } };
    },
    send: (conn, a) => conn.reducers.withdrawCapabilities({ workspaceId: u64(a.workspaceId) }),
  }),
  request_compute: spec({
    build: (input: {
      policyClass: string;
      /** The job envelope, e.g. { kind: 'hash.sha256', input: { text: '...' } }. */
      job: Record<string, unknown>;
      workspaceId?: string;
      costHints?: Record<string, unknown>;
      maxPriceMsats?: string;
      slaMs?: number;
      targetProvider?: string;
      idempotencyKey?: string;
    }) => ({
      key: checkKey(input.idempotencyKey, 'idempotencyKey') ?? newKey('job'),
      args: {
        policyClass: checkString(input.policyClass, 'policyClass'),
        jobEnvelope: checkJsonObject(input.job, 'job'),
        workspaceId: checkId(input.workspaceId, 'workspaceId', '0'),
        costHints: checkJsonObject(input.costHints, 'costHints'),
        maxPriceMsats: checkId(input.maxPriceMsats, 'maxPriceMsats', '0'),
        slaMs: checkCount(input.slaMs, 'slaMs', 0, 0xffff_ffff),
        targetProvider: input.targetProvider === undefined ? null : checkIdentity(input.targetProvider, 'targetProvider'),
      },
    }),
    send: (conn, a, key) =>
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
  }),
  cancel_compute: spec({ build: requestOnly('cancel'), send: (conn, a) => conn.reducers.cancelCompute({ requestId: u64(a.requestId) }) }),
  accept_compute: spec({ build: requestOnly('accept'), send: (conn, a) => conn.reducers.acceptCompute({ requestId: u64(a.requestId) }) }),
  reject_compute: spec({
    build: (input: { requestId: string; reason: string }) => ({
      key: newKey('reject'),
      args: { requestId: checkId(input.requestId, 'requestId'), reason: checkString(input.reason, 'reason', { allowEmpty: true }) },
    }),
    send: (conn, a) => conn.reducers.rejectCompute({ requestId: u64(a.requestId), reason: a.reason }),
  }),
  complete_compute: spec({
    build: (input: { requestId: string; success: boolean; resultRef?: string; resultHash?: string; reason?: string }) => {
      if (typeof input.success !== 'boolean') throw new InvalidArgument('success must be true or false');
      const resultHash = checkString(input.resultHash, 'resultHash', { allowEmpty: true, fallback: '' });
      if (resultHash !== '' && !/^[0-9a-f]{64}$/.test(resultHash)) throw new InvalidArgument('resultHash must be empty or 64 lowercase hex characters');
      return {
        key: newKey('done'),
        args: {
          requestId: checkId(input.requestId, 'requestId'),
          success: input.success,
          resultRef: checkString(input.resultRef, 'resultRef', { allowEmpty: true, fallback: '' }),
          resultHash,
          reason: checkString(input.reason, 'reason', { allowEmpty: true, fallback: '' }),
        },
      };
    },
    send: (conn, a) =>
      conn.reducers.completeCompute({ requestId: u64(a.requestId), success: a.success, resultRef: a.resultRef, resultHash: a.resultHash, reason: a.reason }),
  }),
  apply_file_ops: spec({
    build: (input: {
      workspaceId: string;
      path: string;
      expectedBaseVersion: number;
      ops: LineOpView[];
      rangeHashes?: Array<{ start: number; end: number; hash: string }>;
      opId?: string;
    }) => ({
      key: checkKey(input.opId, 'opId') ?? newKey('op'),
      args: {
        workspaceId: checkId(input.workspaceId, 'workspaceId'),
        path: checkString(input.path, 'path'),
        expectedBaseVersion: checkCount(input.expectedBaseVersion, 'expectedBaseVersion'),
        ops: storedOps(checkLineOps(input.ops, 'ops')),
        rangeHashes: (input.rangeHashes ?? []).map((range, i) => ({
          start: checkCount(range.start, `rangeHashes[${i}].start`, undefined, 0xffff_ffff),
          end: checkCount(range.end, `rangeHashes[${i}].end`, undefined, 0xffff_ffff),
          hash: checkString(range.hash, `rangeHashes[${i}].hash`),
        })),
      },
    }),
    send: (conn, a, key) =>
      conn.reducers.applyFileOps({
        workspaceId: u64(a.workspaceId),
        path: a.path,
        opId: key,
        expectedBaseVersion: BigInt(a.expectedBaseVersion),
        ops: lineOps(a.ops),
        rangeHashes: a.rangeHashes.map((range) => ({ ...range })),
      }),
  }),
  resolve_conflict: spec({
    build: (input: { ticketId: string; resolution: 'accept_head' | 'patch'; expectedBaseVersion: number; ops?: LineOpView[]; opId?: string }) => ({
      key: checkKey(input.opId, 'opId') ?? newKey('resolve'),
      args: {
        ticketId: checkId(input.ticketId, 'ticketId'),
        resolution: checkString(input.resolution, 'resolution'),
        expectedBaseVersion: checkCount(input.expectedBaseVersion, 'expectedBaseVersion'),
        ops: storedOps(checkLineOps(input.ops ?? [], 'ops')),
      },
    }),
    send: (conn, a, key) =>
      conn.reducers.resolveConflict({
        ticketId: u64(a.ticketId),
        resolution: a.resolution,
        opId: key,
        expectedBaseVersion: BigInt(a.expectedBaseVersion),
        ops: lineOps(a.ops),
      }),
  }),
  create_workspace: spec({
    build: (input: { slug: string; name: string }) => ({
      key: newKey('ws'),
      args: { slug: checkString(input.slug, 'slug'), name: checkString(input.name, 'name') },
    }),
    send: (conn, a) => conn.reducers.createWorkspace({ slug: a.slug, name: a.name }),
  }),
  invite_member: spec({
    build: (input: { workspaceId: string; member: string; role: 'admin' | 'editor' | 'viewer'; capabilities?: string[] }) => ({
      key: newKey('invite'),
      args: {
        workspaceId: checkId(input.workspaceId, 'workspaceId'),
        member: checkIdentity(input.member, 'member'),
        role: checkString(input.role, 'role'),
        capabilities: checkStrings(input.capabilities, 'capabilities'),
      },
    }),
    send: (conn, a) =>
      conn.reducers.inviteMember({ workspaceId: u64(a.workspaceId), member: identity(a.member), role: a.role, capabilities: a.capabilities }),
  }),
  remove_member: spec({
    build: (input: { workspaceId: string; member: string }) => ({
      key: newKey('remove'),
      args: { workspaceId: checkId(input.workspaceId, 'workspaceId'), member: checkIdentity(input.member, 'member') },
    }),
    send: (conn, a) => conn.reducers.removeMember({ workspaceId: u64(a.workspaceId), member: identity(a.member) }),
  }),
  leave_workspace: spec({
    build: (workspaceId: string) => ({ key: newKey('wsleave'), args: { workspaceId: checkId(workspaceId, 'workspaceId') } }),
    send: (conn, a) => conn.reducers.leaveWorkspace({ workspaceId: u64(a.workspaceId) }),
  }),
  request_peer_link: spec({
    build: (input: { peer: string; kind: string }) => ({
      key: newKey('peer'),
      args: { peer: checkIdentity(input.peer, 'peer'), kind: checkString(input.kind, 'kind') },
    }),
    send: (conn, a) => conn.reducers.requestPeerLink({ peer: identity(a.peer), kind: a.kind }),
  }),
  accept_peer_link: spec({ build: linkOnly('peerok'), send: (conn, a) => conn.reducers.acceptPeerLink({ linkId: u64(a.linkId) }) }),
  close_peer_link: spec({ build: linkOnly('peerclose'), send: (conn, a) => conn.reducers.closePeerLink({ linkId: u64(a.linkId) }) }),
};

/** The kinds of outbox entries: exactly the reducers in {@link CALL_SPECS}. */
export type OutboxKind = keyof typeof CALL_SPECS;
/** What the caller passes for a kind. */
export type CallInput<K extends OutboxKind> = Parameters<(typeof CALL_SPECS)[K]['build']>[0];
/** What the outbox stores for a kind. */
export type CallArgs<K extends OutboxKind> = ReturnType<(typeof CALL_SPECS)[K]['build']>['args'];

/** Whether a stored entry's kind is one this client knows (entries may come from an older build's storage). */
export function isOutboxKind(kind: string): kind is OutboxKind {
  return Object.prototype.hasOwnProperty.call(CALL_SPECS, kind);
}

/** Sends a stored entry of a known kind as its reducer call. */
export function sendEntry(conn: DbConnection, kind: OutboxKind, args: StoredArgs, key: string): Promise<void> {
  // The args were built by this kind's spec before they were stored.
  const send = CALL_SPECS[kind].send as (conn: DbConnection, args: StoredArgs, key: string) => Promise<void>;
  return send(conn, args, key);
}
