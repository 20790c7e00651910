// The append-only commit log: segment files of framed records (u32 length, u32 CRC-32, payload).
// Appends are buffered and made durable in groups: each group is written at once (page cache) and
// then synced by an fdatasync on the libuv thread pool, so reducers keep running while the disk
// works; callers learn which records are durable through `onDurable`. On open, records are handed
// to a visitor one segment at a time as they are decoded (never all held at once); a torn or corrupt
// tail is detected by its frame, cut off, and reported — never replayed.
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeRecord, encodeRecord, type LogRecord } from './records';

const SEGMENT_RE = /^(\d{20})\.log$/;
const FRAME_HEADER = 8;
/** Records larger than this are refused at append and treated as corruption on read. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface LogCut {
  segment: string;
  offset: number;
  droppedBytes: number;
  reason: string;
}

/**
 * Receives each valid record after `afterSeq`, in log order, with the sequence number it was written
 * under, as soon as it is decoded. Whatever it throws aborts the open unchanged (it is not corruption).
 */
export type LogVisitor = (seq: bigint, record: LogRecord) => void;

export interface OpenedLog {
  log: CommitLog;
  /** How many records (all after `afterSeq`) were handed to the visitor. */
  visited: number;
  cut: LogCut | undefined;
}

const segmentName = (firstSeq: bigint) => `${firstSeq.toString().padStart(20, '0')}.log`;

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, FRAME_HEADER);
  return out;
}

/**
 * Walk the valid prefix of one segment's bytes, handing each checksummed payload to `onFrame` with its
 * index in the segment. `onFrame` may refuse a payload by returning why: the walk stops there, as at a
 * bad frame. Returns how many frames were accepted, the bytes they span, and why the walk stopped early.
 */
export function scanSegment(
  bytes: Uint8Array,
  onFrame: (payload: Uint8Array, index: number) => string | undefined = () => undefined,
): { frames: number; validBytes: number; error: string | undefined } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let frames = 0;
  const stop = (error: string) => ({ frames, validBytes: at, error });
  while (at < buf.length) {
    if (buf.length - at < FRAME_HEADER) return stop(`incomplete frame header (${buf.length - at} bytes)`);
    const len = buf.readUInt32LE(at);
    const sum = buf.readUInt32LE(at + 4);
    if (len > MAX_RECORD_BYTES) return stop(`implausible record length ${len}`);
    if (buf.length - at - FRAME_HEADER < len) return stop(`incomplete record (${buf.length - at - FRAME_HEADER} of ${len} bytes)`);
    const payload = bytes.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len);
    if (crc32(payload) !== sum) return stop('checksum mismatch');
    const refused = onFrame(payload, frames);
    if (refused !== undefined) return stop(refused);
    frames++;
    at += FRAME_HEADER + len;
  }
  return { frames, validBytes: at, error: undefined };
}

export interface CommitLogOptions {
  /** fdatasync every group commit (default true). Off only for benchmarks that say so. */
  fsync?: boolean;
  /** Collect appends for this long before one write + sync (default 0: at the end of the event-loop turn). */
  groupCommitMs?: number;
}

/** The one fdatasync running on the thread pool, and what it will make durable. */
interface SyncInFlight {
  fd: number;
  segment: string;
  /** The last record written to `fd` before the sync started. */
  throughSeq: bigint;
  /**
   * The log moved off `fd` (rotate, close) while this sync ran: close it when the sync ends,
   * not before — a closed fd number is reused by the OS and the sync would hit another file.
   */
  closeWhenDone: boolean;
}

export interface LogMark {
  nextSeq: bigint;
  pending: number;
}

export class CommitLog {
  private fd: number;
  private segmentFirstSeq: bigint;
  private pending: Buffer[] = [];
  private pendingSeqs: bigint[] = [];
  /** Cancels the group commit `append` scheduled, while one is scheduled. */
  private cancelFlush: (() => void) | undefined;
  /** The last record written to a segment file (durable or not). */
  private writtenSeq: bigint;
  private durable: bigint;
  private syncing: SyncInFlight | undefined;
  /** Set once a write or sync failed: nothing after it may be acknowledged. */
  private failure: Error | undefined;
  private readonly durableListeners = new Set<(seq: bigint) => void>();
  private closed = false;
  nextSeq: bigint;

  private constructor(
    readonly dir: string,
    private readonly opts: CommitLogOptions,
    lastSeq: bigint,
    /** The last segment on disk and the seq its last record has (firstSeq - 1 when empty). */
    tail: { firstSeq: bigint; lastSeq: bigint } | undefined,
  ) {
    this.durable = lastSeq;
    this.writtenSeq = lastSeq;
    this.nextSeq = lastSeq + 1n;
    // Appends continue the last segment only if its records run up to lastSeq; after a cut below a
    // snapshot they would not, and records appended there would be read back under the wrong numbers.
    this.segmentFirstSeq = tail && tail.lastSeq === lastSeq ? tail.firstSeq : this.nextSeq;
    this.fd = openSync(join(dir, segmentName(this.segmentFirstSeq)), 'a');
  }

  static segments(dir: string): { name: string; firstSeq: bigint }[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
      .filter((x) => x.m)
      .map((x) => ({ name: x.name, firstSeq: BigInt(x.m![1]!) }))
      .sort((a, b) => (a.firstSeq < b.firstSeq ? -1 : 1));
  }

  /**
   * Open (creating if needed): hand every valid record after `afterSeq` to `visit`, in order, segment
   * by segment, and cut a torn or corrupt tail. Records at or before `afterSeq` (a snapshot has them)
   * are checksummed but not decoded. An error thrown by `visit` propagates and leaves the log as it was.
   */
  static open(dir: string, afterSeq = 0n, opts: CommitLogOptions = {}, visit: LogVisitor = () => {}): OpenedLog {
    mkdirSync(dir, { recursive: true });
    let visited = 0;
    let cut: LogCut | undefined;
    let lastSeq = afterSeq;
    let tail: { firstSeq: bigint; lastSeq: bigint } | undefined;
    const segments = CommitLog.segments(dir);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const path = join(dir, seg.name);
      // Segments the snapshot wholly covers are still read and checksummed: a corrupt frame in one
      // cuts everything after it, as anywhere else in the log.
      const bytes = readFileSync(path);
      const scan = scanSegment(bytes, (payload, index) => {
        const seq = seg.firstSeq + BigInt(index);
        if (seq <= afterSeq) return undefined;
        let record: LogRecord;
        try {
          record = decodeRecord(payload);
        } catch (e) {
          return `undecodable record: ${(e as Error).message}`;
        }
        visit(seq, record);
        visited++;
        return undefined;
      });
      const segmentLastSeq = seg.firstSeq + BigInt(scan.frames) - 1n;
      if (scan.frames > 0 && segmentLastSeq > lastSeq) lastSeq = segmentLastSeq;
      tail = { firstSeq: seg.firstSeq, lastSeq: segmentLastSeq };
      if (scan.error) {
        cut = { segment: seg.name, offset: scan.validBytes, droppedBytes: bytes.length - scan.validBytes, reason: scan.error };
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, scan.validBytes);
        fsyncSync(fd);
        closeSync(fd);
        // Anything after a corrupt point is not trusted: later segments go too.
        for (const later of segments.slice(i + 1)) rmSync(join(dir, later.name));
        break;
      }
    }
    return { log: new CommitLog(dir, opts, lastSeq, tail), visited, cut };
  }

  /** The sequence number of the last record on disk for good (synced); never decreases. */
  get durableSeq(): bigint {
    return this.durable;
  }

  /** Buffer a record; it becomes durable at a later group commit. Returns its sequence number. */
  append(record: LogRecord): bigint {
    this.assertUsable();
    const payload = encodeRecord(record);
    if (payload.length > MAX_RECORD_BYTES) throw new Error(`transaction record of ${payload.length} bytes exceeds ${MAX_RECORD_BYTES}`);
    const seq = this.nextSeq++;
    this.pending.push(frame(payload));
    this.pendingSeqs.push(seq);
    if (!this.cancelFlush) {
      const wait = this.opts.groupCommitMs ?? 0;
      if (wait > 0) {
        const timer = setTimeout(() => this.flush(), wait);
        this.cancelFlush = () => clearTimeout(timer);
      } else {
        const immediate = setImmediate(() => this.flush());
        this.cancelFlush = () => clearImmediate(immediate);
      }
    }
    return seq;
  }

  /**
   * One group commit: write everything buffered, then sync it in the background (durable once the
   * sync reports back). While a sync runs, the records written meanwhile wait for the next one.
   */
  flush(): void {
    this.cancelScheduledFlush();
    if (this.closed || this.failure) return;
    this.writePending();
    if (this.opts.fsync === false) this.advanceDurable(this.writtenSeq);
    else if (!this.syncing && this.writtenSeq > this.durable) this.startSync();
  }

  /** Write and sync everything appended so far before returning (snapshots, rotation, shutdown). */
  flushSync(): void {
    this.assertUsable();
    this.cancelScheduledFlush();
    this.writePending();
    if (this.writtenSeq <= this.durable) return;
    // A sync may be running on this fd too; syncing it again here is harmless and covers every write.
    if (this.opts.fsync !== false) this.syncNow(this.fd);
    this.advanceDurable(this.writtenSeq);
  }

  /** Where appends stand now, so appends made after it can be taken back (an undone batch). */
  mark(): LogMark {
    return { nextSeq: this.nextSeq, pending: this.pending.length };
  }

  /** Take back the records appended since `mark`; only possible while they are not yet written. */
  discardSince(mark: LogMark): void {
    if (this.writtenSeq >= mark.nextSeq) throw new Error('commit log: records past the mark were already written');
    this.pending.length = mark.pending;
    this.pendingSeqs.length = mark.pending;
    this.nextSeq = mark.nextSeq;
  }

  onDurable(listener: (seq: bigint) => void): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  /** Start a new segment (after a snapshot) and drop segments wholly covered by `coveredSeq`. */
  rotate(coveredSeq: bigint): void {
    this.flushSync();
    this.retireFd();
    this.segmentFirstSeq = this.nextSeq;
    this.fd = openSync(join(this.dir, segmentName(this.segmentFirstSeq)), 'a');
    const segs = CommitLog.segments(this.dir);
    for (let i = 0; i + 1 < segs.length; i++) {
      // A segment's records end where the next segment begins.
      if (segs[i + 1]!.firstSeq - 1n <= coveredSeq) rmSync(join(this.dir, segs[i]!.name));
    }
  }

  /** Make everything durable and close; a sync still running keeps its fd until it reports back. */
  close(): void {
    if (this.closed) return;
    try {
      this.flushSync();
    } finally {
      // Even when the final sync failed (and throws), the fd is released.
      this.closed = true;
      this.retireFd();
    }
  }

  private assertUsable(): void {
    if (this.failure) throw new Error(`commit log failed earlier; nothing more can be made durable: ${this.failure.message}`, { cause: this.failure });
    if (this.closed) throw new Error('commit log is closed');
  }

  private cancelScheduledFlush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
  }

  private segmentPath(): string {
    return join(this.dir, segmentName(this.segmentFirstSeq));
  }

  private writePending(): void {
    if (!this.pending.length) return;
    const data = Buffer.concat(this.pending);
    const last = this.pendingSeqs.at(-1)!;
    this.pending = [];
    this.pendingSeqs = [];
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off);
    } catch (e) {
      throw this.fail(`commit log write to ${this.segmentPath()} failed`, e);
    }
    this.writtenSeq = last;
  }

  private syncNow(fd: number): void {
    try {
      fdatasyncSync(fd);
    } catch (e) {
      throw this.fail(`commit log fdatasync of ${this.segmentPath()} failed`, e);
    }
  }

  private startSync(): void {
    const sync: SyncInFlight = { fd: this.fd, segment: this.segmentPath(), throughSeq: this.writtenSeq, closeWhenDone: false };
    this.syncing = sync;
    fdatasync(sync.fd, (err) => this.syncDone(sync, err));
  }

  private syncDone(sync: SyncInFlight, err: NodeJS.ErrnoException | null): void {
    this.syncing = undefined;
    if (sync.closeWhenDone) closeSync(sync.fd);
    if (err) {
      // The group may not be on disk: acknowledging it would be a lie. Thrown from an I/O callback,
      // this is an uncaught exception and stops the process, as a failed fdatasyncSync did.
      throw this.fail(`commit log fdatasync of ${sync.segment} failed`, err);
    }
    this.advanceDurable(sync.throughSeq);
    if (this.closed || this.failure) return;
    // Whatever arrived while the disk was busy is the next group; start it without waiting a turn.
    this.flush();
  }

  /** Move off the current fd: close it now, or once the sync running on it reports back. */
  private retireFd(): void {
    if (this.syncing && this.syncing.fd === this.fd) this.syncing.closeWhenDone = true;
    else closeSync(this.fd);
  }

  private fail(message: string, cause: unknown): Error {
    const error = new Error(`${message}: ${(cause as Error).message}`, { cause });
    this.failure ??= error;
    return error;
  }

  private advanceDurable(seq: bigint): void {
    // A sync that started before a flushSync may report back after it: never move backwards.
    if (seq <= this.durable) return;
    this.durable = seq;
    for (const l of this.durableListeners) l(seq);
  }
}
