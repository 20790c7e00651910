// Full-state snapshots: every persistent table's rows, the sequences and the connected clients,
// as of log sequence number `seq`. Written to a temporary file, synced, then renamed, and closed
// by a CRC-32 over the whole body, so a torn or corrupt snapshot is recognised and skipped.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Reader, Writer } from '../sats/codec';
import { readColumnCounts, readSequences, writeColumnCounts, writeSequences, type ColumnCounts, type SequenceState } from './records';

// v2 adds the column counts the rows were written with; v1 files (no counts) are still read.
const MAGIC = 'STHSNAP2';
const MAGIC_V1 = 'STHSNAP1';
const SNAP_RE = /^(\d{20})\.snap$/;

export interface SnapshotData {
  seq: bigint;
  /** Host transaction counter at the snapshot, so transaction ids keep increasing after restart. */
  txId: bigint;
  moduleHash: string;
  tables: { table: string; rows: Uint8Array[] }[];
  sequences: SequenceState[];
  clients: { connectionId: bigint; identity: bigint; jwtPayload: string }[];
  /** Row layout of `tables` (absent in v1 snapshots). */
  columns: ColumnCounts | undefined;
}

export function encodeSnapshot(s: SnapshotData): Uint8Array {
  const w = new Writer(1 << 16);
  w.raw(new TextEncoder().encode(MAGIC));
  writeColumnCounts(w, s.columns ?? {});
  w.u64(s.seq);
  w.u64(s.txId);
  w.string(s.moduleHash);
  w.u32(s.tables.length);
  for (const t of s.tables) {
    w.string(t.table);
    w.u32(t.rows.length);
    for (const r of t.rows) w.bytes(r);
  }
  writeSequences(w, s.sequences);
  w.u32(s.clients.length);
  for (const c of s.clients) {
    w.bigN(c.connectionId, 16);
    w.bigN(c.identity, 32);
    w.string(c.jwtPayload);
  }
  const body = w.finish();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotData {
  if (bytes.length < MAGIC.length + 4) throw new Error('snapshot too short');
  const body = bytes.subarray(0, bytes.length - 4);
  const sum = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32(body) !== sum) throw new Error('snapshot checksum mismatch');
  const r = new Reader(body);
  const magic = new TextDecoder().decode(r.bytesOf(MAGIC.length));
  if (magic !== MAGIC && magic !== MAGIC_V1) throw new Error('not a snapshot file');
  const columns = magic === MAGIC ? readColumnCounts(r) : undefined;
  const seq = r.bigUint(8);
  const txId = r.bigUint(8);
  const moduleHash = r.string();
  const tables: SnapshotData['tables'] = [];
  for (let i = 0, n = r.u32(); i < n; i++) {
    const table = r.string();
    const rows: Uint8Array[] = [];
    for (let j = 0, m = r.u32(); j < m; j++) rows.push(r.bytesOf(r.u32()).slice());
    tables.push({ table, rows });
  }
  const sequences = readSequences(r);
  const clients: SnapshotData['clients'] = [];
  for (let i = 0, n = r.u32(); i < n; i++) clients.push({ connectionId: r.bigUint(16), identity: r.bigUint(32), jwtPayload: r.string() });
  if (r.remaining) throw new Error('trailing bytes in snapshot');
  return { seq, txId, moduleHash, tables, sequences, clients, columns };
}

export function snapshotFiles(dir: string): { name: string; seq: bigint }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, m: SNAP_RE.exec(name) }))
    .filter((x) => x.m)
    .map((x) => ({ name: x.name, seq: BigInt(x.m![1]!) }))
    .sort((a, b) => (a.seq < b.seq ? 1 : -1));
}

export function writeSnapshot(dir: string, s: SnapshotData, keep = 2): string {
  mkdirSync(dir, { recursive: true });
  const name = `${s.seq.toString().padStart(20, '0')}.snap`;
  const tmp = join(dir, `${name}.tmp`);
  const bytes = encodeSnapshot(s);
  const fd = openSync(tmp, 'w');
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, name));
  const dfd = openSync(dir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
  for (const old of snapshotFiles(dir).slice(keep)) rmSync(join(dir, old.name));
  return name;
}

/** The newest snapshot that reads back intact; corrupt ones are reported and skipped. */
export function readNewestSnapshot(dir: string): { snapshot: SnapshotData | undefined; skipped: { name: string; reason: string }[] } {
  const skipped: { name: string; reason: string }[] = [];
  for (const f of snapshotFiles(dir)) {
    try {
      return { snapshot: decodeSnapshot(readFileSync(join(dir, f.name))), skipped };
    } catch (e) {
      skipped.push({ name: f.name, reason: (e as Error).message });
    }
  }
  return { snapshot: undefined, skipped };
}
