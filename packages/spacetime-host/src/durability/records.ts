// What the commit log and snapshots hold, and their byte encoding (the host's own format).
// Each log record is framed as: u32 payload length, u32 CRC-32 of the payload, payload.
// A record whose frame is incomplete or whose checksum fails marks the torn tail of the log.
import { Reader, Writer } from '../sats/codec';

export interface TableMutation {
  table: string; // canonical name
  inserts: Uint8Array[];
  deletes: Uint8Array[];
}

export interface SequenceState {
  table: string;
  col: number;
  next: bigint;
}

export type LogRecord =
  | {
      kind: 'tx';
      txId: bigint;
      timestamp: bigint;
      /** The reducer that produced it (empty for procedures and system transactions), for audit and replay. */
      reducer: string;
      caller: bigint;
      args: Uint8Array;
      tables: TableMutation[];
      sequences: SequenceState[];
    }
  | { kind: 'connect'; connectionId: bigint; identity: bigint; jwtPayload: string }
  | { kind: 'disconnect'; connectionId: bigint }
  /** From here on, rows of each listed table have this many columns (written when columns are added). */
  | { kind: 'schema'; columns: ColumnCounts };

/** Columns per table (canonical name): the row layout the following rows are written in. */
export type ColumnCounts = Record<string, number>;

export function writeColumnCounts(w: Writer, counts: ColumnCounts): void {
  const names = Object.keys(counts).sort();
  w.u32(names.length);
  for (const n of names) {
    w.string(n);
    w.u16(counts[n]!);
  }
}

export function readColumnCounts(r: Reader): ColumnCounts {
  const out: ColumnCounts = {};
  for (let i = 0, n = r.u32(); i < n; i++) out[r.string()] = r.u16();
  return out;
}

const KIND = { tx: 0, connect: 1, disconnect: 2, schema: 3 } as const;

function writeBytesArray(w: Writer, rows: Uint8Array[]): void {
  w.u32(rows.length);
  for (const r of rows) w.bytes(r);
}

function readBytesArray(r: Reader): Uint8Array[] {
  const n = r.u32();
  if (n > r.remaining) throw new Error(`row count ${n} exceeds the record`);
  const out: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.bytesOf(r.u32()).slice();
  return out;
}

export function writeSequences(w: Writer, seqs: SequenceState[]): void {
  w.u32(seqs.length);
  for (const s of seqs) {
    w.string(s.table);
    w.u16(s.col);
    w.bigN(s.next, 16);
  }
}

export function readSequences(r: Reader): SequenceState[] {
  const n = r.u32();
  const out: SequenceState[] = [];
  for (let i = 0; i < n; i++) out.push({ table: r.string(), col: r.u16(), next: r.bigInt(16) });
  return out;
}

export function encodeRecord(rec: LogRecord): Uint8Array {
  const w = new Writer(256);
  w.u8(KIND[rec.kind]);
  switch (rec.kind) {
    case 'tx':
      w.u64(rec.txId);
      w.i64(rec.timestamp);
      w.string(rec.reducer);
      w.bigN(rec.caller, 32);
      w.bytes(rec.args);
      w.u32(rec.tables.length);
      for (const t of rec.tables) {
        w.string(t.table);
        writeBytesArray(w, t.inserts);
        writeBytesArray(w, t.deletes);
      }
      writeSequences(w, rec.sequences);
      break;
    case 'connect':
      w.bigN(rec.connectionId, 16);
      w.bigN(rec.identity, 32);
      w.string(rec.jwtPayload);
      break;
    case 'disconnect':
      w.bigN(rec.connectionId, 16);
      break;
    case 'schema':
      writeColumnCounts(w, rec.columns);
      break;
  }
  return w.finish();
}

export function decodeRecord(bytes: Uint8Array): LogRecord {
  const r = new Reader(bytes);
  const kind = r.u8();
  let rec: LogRecord;
  if (kind === KIND.tx) {
    const txId = r.bigUint(8);
    const timestamp = r.bigInt(8);
    const reducer = r.string();
    const caller = r.bigUint(32);
    const args = r.bytesOf(r.u32()).slice();
    const n = r.u32();
    const tables: TableMutation[] = [];
    for (let i = 0; i < n; i++) tables.push({ table: r.string(), inserts: readBytesArray(r), deletes: readBytesArray(r) });
    rec = { kind: 'tx', txId, timestamp, reducer, caller, args, tables, sequences: readSequences(r) };
  } else if (kind === KIND.connect) {
    rec = { kind: 'connect', connectionId: r.bigUint(16), identity: r.bigUint(32), jwtPayload: r.string() };
  } else if (kind === KIND.disconnect) {
    rec = { kind: 'disconnect', connectionId: r.bigUint(16) };
  } else if (kind === KIND.schema) {
    rec = { kind: 'schema', columns: readColumnCounts(r) };
  } else throw new Error(`unknown record kind ${kind}`);
  if (r.remaining) throw new Error(`${r.remaining} trailing bytes in record`);
  return rec;
}
