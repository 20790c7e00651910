// The commit log's group commit: each group is written at once and synced in the background, one
// sync at a time; records arriving meanwhile form the next group. Rotating or closing while a sync
// runs loses nothing and never closes the fd that sync still uses; a failed sync is never acknowledged.
// Reopening hands each record after the snapshot to a visitor, without decoding the ones it covers.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { CommitLog, type LogCut } from '../src/durability/commitlog';
import { until } from './sdk/helpers';

const dirs: string[] = [];
const logs: CommitLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) log.close();
  // A sync still running after close holds its fd until it reports back; let it finish first.
  await new Promise((r) => setTimeout(r, 20));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'host-commitlog-')));
  dirs.push(d);
  return d;
}

function openLog(dir: string, opts: { fsync?: boolean } = {}): CommitLog {
  const { log } = CommitLog.open(dir, 0n, opts);
  logs.push(log);
  return log;
}

/** Each record is a disconnect whose connection id names it, so order can be checked on read-back. */
const record = (n: number) => ({ kind: 'disconnect' as const, connectionId: BigInt(n) });

/** Every durableSeq the log reports to listeners, plus its value sampled on every event-loop turn. */
function watch(log: CommitLog): { notified: bigint[]; sampled: bigint[]; stop: () => void } {
  const notified: bigint[] = [];
  const sampled: bigint[] = [log.durableSeq];
  const unsubscribe = log.onDurable((seq) => {
    expect(log.durableSeq).toBe(seq);
    notified.push(seq);
  });
  let running = true;
  const sample = () => {
    if (!running) return;
    sampled.push(log.durableSeq);
    setImmediate(sample);
  };
  setImmediate(sample);
  return {
    notified,
    sampled,
    stop: () => {
      running = false;
      unsubscribe();
    },
  };
}

const durable = (log: CommitLog, seq: bigint) => until(() => log.durableSeq >= seq, `record ${seq} durable`);

function expectIncreasing(seqs: bigint[], strictly: boolean): void {
  const firstBreak = seqs.findIndex((seq, i) => i > 0 && (strictly ? seq <= seqs[i - 1]! : seq < seqs[i - 1]!));
  expect(firstBreak, `${strictly ? 'strictly increasing' : 'never decreasing'}: ${seqs.slice(Math.max(0, firstBreak - 3), firstBreak + 3).join(',')}`).toBe(-1);
}

/** Reopen the directory and return the connection ids of every record, in log order. */
function readBack(dir: string): { seqs: bigint[]; ids: number[] } {
  const { seqs, ids, cut } = visitAll(dir, 0n);
  expect(cut).toBeUndefined();
  return { seqs, ids };
}

/** Reopen with `afterSeq`, collecting what the visitor is handed; the log is closed again. */
function visitAll(dir: string, afterSeq: bigint): { seqs: bigint[]; ids: number[]; cut: LogCut | undefined; visited: number; nextSeq: bigint } {
  const seqs: bigint[] = [];
  const ids: number[] = [];
  const { log, cut, visited } = CommitLog.open(dir, afterSeq, {}, (seq, rec) => {
    seqs.push(seq);
    ids.push(rec.kind === 'disconnect' ? Number(rec.connectionId) : -1);
  });
  const nextSeq = log.nextSeq;
  log.close();
  return { seqs, ids, cut, visited, nextSeq };
}

/** How many of this process's open fds point at `path` (Linux: /proc/self/fd). */
function openFdsTo(path: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) count++;
    } catch {
      // The fd readdir itself used is gone by now.
    }
  }
  return count;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('commit log group commit', () => {
  it('makes records appended while a sync runs durable in the next group, in order', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    const w = watch(log);
    expect(log.append(record(1))).toBe(1n);
    log.flush();
    // Written, but the sync runs on the thread pool: nothing is durable until it reports back.
    expect(log.durableSeq).toBe(0n);
    for (const n of [2, 3, 4]) log.append(record(n));
    log.flush();
    expect(log.durableSeq).toBe(0n);
    await durable(log, 4n);
    w.stop();
    // The first sync covered only what was written before it started; the rest came after.
    expect(w.notified).toEqual([1n, 4n]);
    expectIncreasing(w.sampled, false);
    log.close();
    expect(readBack(dir)).toEqual({ seqs: [1n, 2n, 3n, 4n], ids: [1, 2, 3, 4] });
  });

  it('commits appends by itself at the end of the event-loop turn', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    const w = watch(log);
    for (let n = 1; n <= 50; n++) {
      log.append(record(n));
      if (n % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await durable(log, 50n);
    w.stop();
    expect(w.notified.at(-1)).toBe(50n);
    expectIncreasing(w.notified, true);
    expectIncreasing(w.sampled, false);
    log.close();
    expect(readBack(dir).ids).toEqual(range(1, 50));
  });

  it('flushSync makes everything durable at once, and a late sync callback does not lower durableSeq', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    const w = watch(log);
    log.append(record(1));
    log.append(record(2));
    log.flush(); // a sync covering 1..2 is now running
    log.append(record(3));
    log.flushSync();
    expect(log.durableSeq).toBe(3n);
    // Record 4 can only be synced after the running sync (covering 2) reports back.
    log.append(record(4));
    log.flush();
    await durable(log, 4n);
    w.stop();
    expect(w.notified).toEqual([3n, 4n]);
    expectIncreasing(w.sampled, false);
    expect(w.sampled).not.toContain(2n);
    log.close();
    expect(readBack(dir).ids).toEqual([1, 2, 3, 4]);
  });

  it('rotating while a sync runs keeps the old fd open until that sync ends and loses nothing', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    const w = watch(log);
    const firstSegment = join(dir, readdirSync(dir)[0]!);
    for (const n of [1, 2, 3]) log.append(record(n));
    log.flush(); // a sync on the first segment's fd is now running
    log.append(record(4));
    log.rotate(0n);
    expect(log.durableSeq).toBe(4n);
    expect(openFdsTo(firstSegment), 'the running sync still owns the old fd').toBe(1);
    for (const n of [5, 6]) log.append(record(n));
    log.flush();
    await durable(log, 6n);
    await until(() => openFdsTo(firstSegment) === 0, 'the old segment fd is closed after its sync');
    // A second rotation with no sync on the current fd closes it at once.
    log.rotate(0n);
    log.append(record(7));
    await durable(log, 7n);
    w.stop();
    expectIncreasing(w.notified, true);
    expectIncreasing(w.sampled, false);
    log.close();
    expect(readdirSync(dir).length).toBe(3);
    expect(readBack(dir)).toEqual({ seqs: range(1, 7).map(BigInt), ids: range(1, 7) });
  });

  it('rotation drops only the segments a snapshot covers', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    for (const n of [1, 2]) log.append(record(n));
    log.rotate(0n); // segment 1 holds 1..2
    for (const n of [3, 4]) log.append(record(n));
    log.flush();
    log.rotate(2n); // segment 3 holds 3..4; segment 1 is covered
    log.append(record(5));
    log.close();
    expect(readdirSync(dir).sort()).toEqual(['00000000000000000003.log', '00000000000000000005.log']);
    expect(visitAll(dir, 2n).seqs).toEqual([3n, 4n, 5n]);
  });

  it('closing while a sync runs makes everything durable and closes the fd once that sync ends', async () => {
    const dir = tempDir();
    const log = openLog(dir);
    const segment = join(dir, readdirSync(dir)[0]!);
    const w = watch(log);
    for (const n of [1, 2, 3]) log.append(record(n));
    log.flush();
    for (const n of [4, 5]) log.append(record(n));
    log.close();
    expect(log.durableSeq).toBe(5n);
    expect(openFdsTo(segment), 'the running sync still owns the fd').toBe(1);
    await until(() => openFdsTo(segment) === 0, 'the fd is closed after its sync');
    w.stop();
    expect(w.notified).toEqual([5n]);
    expectIncreasing(w.sampled, false);
    expect(() => log.append(record(6))).toThrow(/commit log is closed/);
    expect(readBack(dir).ids).toEqual([1, 2, 3, 4, 5]);
  });

  it('without fsync, records are durable as soon as they are written', () => {
    const dir = tempDir();
    const log = openLog(dir, { fsync: false });
    const w = watch(log);
    log.append(record(1));
    log.append(record(2));
    log.flush();
    expect(log.durableSeq).toBe(2n);
    expect(w.notified).toEqual([2n]);
    w.stop();
    log.close();
    expect(readBack(dir).ids).toEqual([1, 2]);
  });
});

describe('commit log sync failures', () => {
  // fdatasync on /dev/null fails with EINVAL: a segment that is a link to it is a log whose syncs fail.
  function logOnDevNull(): string {
    const dir = tempDir();
    symlinkSync('/dev/null', join(dir, '00000000000000000001.log'));
    return dir;
  }

  it('flushSync throws, acknowledges nothing, and refuses further appends', () => {
    const dir = logOnDevNull();
    const log = openLog(dir);
    const w = watch(log);
    log.append(record(1));
    expect(() => log.flushSync()).toThrow(/commit log fdatasync of .*00000000000000000001\.log failed: .*EINVAL/);
    expect(log.durableSeq).toBe(0n);
    expect(w.notified).toEqual([]);
    w.stop();
    expect(() => log.append(record(2))).toThrow(/commit log failed earlier/);
    logs.splice(logs.indexOf(log), 1);
    expect(() => log.close(), 'closing reports the failure again (and releases the fd)').toThrow(/commit log failed earlier/);
    expect(() => log.append(record(3))).toThrow(/failed earlier|closed/);
  });

  it('a failed background sync stops the process without acknowledging the group', () => {
    const dir = logOnDevNull();
    const commitlog = fileURLToPath(new URL('../src/durability/commitlog.ts', import.meta.url));
    const script = join(dir, 'child.ts');
    writeFileSync(
      script,
      [
        `import { CommitLog } from ${JSON.stringify(commitlog)};`,
        `const { log } = CommitLog.open(${JSON.stringify(dir)});`,
        `log.onDurable((seq) => console.log('acknowledged', seq));`,
        `log.append({ kind: 'disconnect', connectionId: 1n });`,
        `setTimeout(() => console.log('still running'), 2000);`,
      ].join('\n'),
    );
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: pkg, encoding: 'utf8', timeout: 20_000 });
    expect(child.stdout).not.toMatch(/acknowledged|still running/);
    expect(child.stderr).toMatch(/commit log fdatasync of .*00000000000000000001\.log failed: .*EINVAL/);
    expect(child.status).not.toBe(0);
    expect(existsSync(join(dir, '00000000000000000001.log'))).toBe(true);
  });
});

describe('commit log recovery', () => {
  /** Records 1..6 with ids 1..6: segment 1 holds 1..2, segment 3 holds 3..6. Returns both segment paths. */
  function twoSegments(): { dir: string; first: string; second: string } {
    const dir = tempDir();
    const log = openLog(dir);
    for (const n of [1, 2]) log.append(record(n));
    log.rotate(0n);
    for (const n of [3, 4, 5, 6]) log.append(record(n));
    logs.splice(logs.indexOf(log), 1);
    log.close();
    return { dir, first: join(dir, '00000000000000000001.log'), second: join(dir, '00000000000000000003.log') };
  }

  /** Change the payload of the `index`th frame of a segment; with `fixChecksum` its frame stays valid. */
  function rewritePayload(segment: string, index: number, change: (payload: Buffer) => void, fixChecksum: boolean): void {
    const bytes = readFileSync(segment);
    let at = 0;
    for (let i = 0; i < index; i++) at += 8 + bytes.readUInt32LE(at);
    const payload = bytes.subarray(at + 8, at + 8 + bytes.readUInt32LE(at));
    change(payload);
    if (fixChecksum) bytes.writeUInt32LE(crc32(payload), at + 4);
    writeFileSync(segment, bytes);
  }

  /** Kind 9 does not exist: decoding such a payload fails. */
  const unknownKind = (payload: Buffer) => (payload[0] = 9);

  it('hands the visitor exactly the records after afterSeq, in order, across segments', () => {
    const { dir } = twoSegments();
    for (const afterSeq of [0, 1, 2, 3, 5, 6]) {
      const expected = range(afterSeq + 1, 6);
      const read = visitAll(dir, BigInt(afterSeq));
      expect(read, `after ${afterSeq}`).toEqual({ seqs: expected.map(BigInt), ids: expected, cut: undefined, visited: expected.length, nextSeq: 7n });
    }
    // A snapshot newer than the log: nothing to replay, and the log continues after the snapshot.
    expect(visitAll(dir, 9n)).toMatchObject({ seqs: [], visited: 0, nextSeq: 10n, cut: undefined });
  });

  it('does not decode records the snapshot covers (their checksums are still checked)', () => {
    const { dir, first, second } = twoSegments();
    // Records 2 (in a wholly covered segment) and 4 (covered, in a segment with later records) no
    // longer decode, but their frames are intact.
    rewritePayload(first, 1, unknownKind, true);
    rewritePayload(second, 1, unknownKind, true);
    const sizes = [statSync(first).size, statSync(second).size];
    expect(visitAll(dir, 4n)).toEqual({ seqs: [5n, 6n], ids: [5, 6], cut: undefined, visited: 2, nextSeq: 7n });
    expect([statSync(first).size, statSync(second).size], 'nothing was cut').toEqual(sizes);

    // Without a snapshot covering it, the same record is decoded, fails, and cuts the log there.
    const read = visitAll(dir, 0n);
    expect(read.seqs).toEqual([1n]);
    expect(read.cut).toEqual({ segment: '00000000000000000001.log', offset: 25, droppedBytes: 25, reason: 'undecodable record: unknown record kind 9' });
    expect(readdirSync(dir)).toEqual(['00000000000000000001.log']);
  });

  it('a checksum failure in a covered segment still cuts everything after it', () => {
    const { dir, first } = twoSegments();
    rewritePayload(first, 1, (payload) => (payload[3]! ^= 0xff), false);
    const read = visitAll(dir, 4n);
    expect(read.seqs).toEqual([]);
    expect(read.cut).toEqual({ segment: '00000000000000000001.log', offset: 25, droppedBytes: 25, reason: 'checksum mismatch' });
    // The later segment is gone; appends go to a fresh segment numbered after the snapshot.
    expect(readdirSync(dir)).toEqual(['00000000000000000001.log', '00000000000000000005.log']);
  });

  it('after a cut below the snapshot, new records are read back under the numbers they were given', () => {
    const { dir, first } = twoSegments();
    rewritePayload(first, 1, (payload) => (payload[3]! ^= 0xff), false);
    const { log, cut } = CommitLog.open(dir, 4n); // the snapshot covers 1..4; record 2 is corrupt
    expect(cut?.segment).toBe('00000000000000000001.log');
    expect(log.append(record(50))).toBe(5n);
    log.close();
    const read = visitAll(dir, 4n);
    expect(read.seqs).toEqual([5n]);
    expect(read.ids).toEqual([50]);
    expect(read.cut).toBeUndefined();
  });

  it('an error thrown by the visitor propagates as is and leaves the log (and its torn tail) untouched', () => {
    const { dir, first, second } = twoSegments();
    appendFileSync(second, Buffer.from([200, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3])); // a torn frame
    const sizes = [statSync(first).size, statSync(second).size];
    const refused = new Error('record 4 cannot be applied');
    const seen: bigint[] = [];
    expect(() =>
      CommitLog.open(dir, 0n, {}, (seq) => {
        if (seq === 4n) throw refused;
        seen.push(seq);
      }),
    ).toThrow(refused);
    expect(seen).toEqual([1n, 2n, 3n]);
    expect([statSync(first).size, statSync(second).size], 'not cut at the refused record, nor at the torn tail').toEqual(sizes);
    expect(openFdsTo(second), 'no log was opened for appending').toBe(0);

    const read = visitAll(dir, 0n);
    expect(read.seqs).toEqual(range(1, 6).map(BigInt));
    expect(read.cut).toMatchObject({ segment: '00000000000000000003.log', offset: 100, droppedBytes: 11, reason: 'incomplete record (3 of 200 bytes)' });
  });
});
