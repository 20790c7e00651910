// The `spacetime:sys` syscalls (ABI 2.0 + 2.1) over the host's datastore. Every argument the
// module passes is checked; failures surface as the module's own error classes (spec §1.3–1.7).
import type { Logger } from 'pino';
import { Reader, Writer, decodeValue, encodeValue } from '../sats/codec';
import type { Ty } from '../sats/types';
import type { Datastore, TableStore } from '../datastore/datastore';
import { DatastoreError, Errno, errnoMessage } from '../datastore/errors';
import type { Bound, IndexStore } from '../datastore/index_store';
import type { StoredRow } from '../datastore/rows';
import type { ModuleHooks, SyscallImpl } from './realm';

/** What the ABI needs from the host beyond the datastore. */
export interface AbiHost {
  /** Absent while the module is being evaluated (module initialisation). */
  readonly datastore: Datastore | undefined;
  readonly logger: Logger;
  hooks(): ModuleHooks | undefined;
  databaseIdentity(): bigint;
  jwtPayload(connectionId: bigint): string | undefined;
  /** Name of the function running now, for log lines. */
  currentFunction(): string | undefined;
  scheduleImmediate(reducerName: string, args: Uint8Array): void;
  /** Called for every insert/update of a schedule table row, inside the transaction (validates the delay). */
  checkScheduleRow(table: TableStore, row: StoredRow): void;
  procedureStartTx(): bigint;
  procedureCommitTx(): void;
  procedureAbortTx(): void;
}

const BUFFER_TOO_SMALL_KEY = '__buffer_too_small__';

export class Abi {
  private readonly iterators = new Map<number, { rows: Uint8Array[]; pos: number }>();
  private nextIterator = 1;
  private readonly timers = new Map<number, { name: string; start: bigint }>();
  private nextTimer = 1;

  constructor(private readonly host: AbiHost) {}

  /** Throw errno `code` as the module's own error class (a plain Error before the hooks exist). */
  fail(code: number, message?: string): never {
    const msg = message ?? errnoMessage(code);
    const hooks = this.host.hooks();
    if (!hooks) throw new Error(msg);
    const Ctor = hooks.__get_error_constructor__(code);
    throw new Ctor(msg);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DatastoreError) this.fail(e.code, e.message);
      throw e;
    }
  }

  private get ds(): Datastore {
    const ds = this.host.datastore;
    if (!ds || !this.host.hooks()) this.fail(Errno.HOST_CALL_FAILURE, 'cannot call this function during module initialization');
    return ds;
  }

  private inTx(): void {
    if (!this.ds.inTransaction) this.fail(Errno.NOT_IN_TRANSACTION);
  }

  private bytesFrom(buf: unknown, len: unknown, what: string): Uint8Array {
    if (!(buf instanceof ArrayBuffer) && !(ArrayBuffer.isView(buf) || isForeignArrayBuffer(buf))) {
      throw new TypeError(`${what}: expected an ArrayBuffer`);
    }
    const ab = (ArrayBuffer.isView(buf) ? (buf as ArrayBufferView).buffer : buf) as ArrayBuffer;
    const n = Number(len);
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`${what}: length must be a non-negative integer`);
    if (n > ab.byteLength) throw new RangeError('length argument was out of bounds for ArrayBuffer');
    return new Uint8Array(ab, 0, n);
  }

  private decode(ty: Ty, bytes: Uint8Array, what: string): unknown {
    try {
      const r = new Reader(bytes);
      const v = decodeValue(ty, r);
      if (r.remaining !== 0) throw new Error(`${r.remaining} trailing bytes`);
      return v;
    } catch (e) {
      this.fail(Errno.BSATN_DECODE_ERROR, `${what}: ${(e as Error).message}`);
    }
  }

  private openIterator(rows: StoredRow[]): number {
    const id = this.nextIterator++;
    this.iterators.set(id, { rows: rows.map((r) => r.bytes), pos: 0 });
    return id;
  }

  /** Decode the range-scan argument layout (spec §1.7) against an index. */
  private rangeArgs(
    index: IndexStore,
    buf: unknown,
    prefixLen: unknown,
    prefixElems: unknown,
    rstartLen: unknown,
    rendLen: unknown,
  ): { prefix: unknown[]; start: Bound; end: Bound } {
    const pl = Number(prefixLen);
    const pe = Number(prefixElems);
    const sl = Number(rstartLen);
    const el = Number(rendLen);
    const all = this.bytesFrom(buf, pl + sl + el, 'range scan');
    const cols = index.def.keyTy.elements;
    if (!Number.isInteger(pe) || pe < 0 || pe >= cols.length) {
      this.fail(Errno.BSATN_DECODE_ERROR, `range scan: prefix of ${pe} columns on an index of ${cols.length}`);
    }
    const prefixTy: Ty = { kind: 'Product', elements: cols.slice(0, pe) };
    const prefix = pe === 0 ? [] : (this.decode(prefixTy, all.subarray(0, pl), 'range prefix') as unknown[]);
    const boundTy = cols[pe]!.ty;
    const readBound = (bytes: Uint8Array, what: string): Bound => {
      const r = new Reader(bytes);
      try {
        const tag = r.u8();
        let b: Bound;
        if (tag === 2) b = { kind: 'unbounded' };
        else if (tag === 0 || tag === 1) b = { kind: tag === 0 ? 'included' : 'excluded', value: decodeValue(boundTy, r) };
        else throw new Error(`invalid bound tag ${tag}`);
        if (r.remaining) throw new Error(`${r.remaining} trailing bytes`);
        return b;
      } catch (e) {
        this.fail(Errno.BSATN_DECODE_ERROR, `${what}: ${(e as Error).message}`);
      }
    };
    const start = readBound(all.subarray(pl, pl + sl), 'range start');
    const end = el === 0 ? start : readBound(all.subarray(pl + sl, pl + sl + el), 'range end');
    return { prefix, start, end };
  }

  private rangeRows(indexId: unknown, ...args: unknown[]): { table: TableStore; rows: StoredRow[] } {
    const { table, index } = this.guard(() => this.ds.index(Number(indexId)));
    if (index.def.algorithm === 'hash') this.fail(Errno.WRONG_INDEX_ALGO, `index ${index.def.name} is a hash index and cannot be range-scanned`);
    const { prefix, start, end } = this.rangeArgs(index, ...(args as [unknown, unknown, unknown, unknown, unknown]));
    return { table, rows: index.range(prefix, start, end) };
  }

  private pointRows(indexId: unknown, buf: unknown, len: unknown): { table: TableStore; rows: StoredRow[] } {
    const { table, index } = this.guard(() => this.ds.index(Number(indexId)));
    const key = this.decode(index.def.keyTy, this.bytesFrom(buf, len, 'point scan'), 'point key') as unknown[];
    return { table, rows: index.point(key) };
  }

  private writeBack(buf: unknown, table: TableStore, row: StoredRow, generated: number[]): number {
    if (generated.length === 0) return 0;
    const w = new Writer(32);
    for (const col of generated) encodeValue(table.def.columns[col]!.ty, row.value[col], w);
    const out = w.finish();
    const target = new Uint8Array((ArrayBuffer.isView(buf) ? (buf as ArrayBufferView).buffer : buf) as ArrayBuffer);
    if (out.length > target.length) this.fail(Errno.BUFFER_TOO_SMALL);
    target.set(out, 0);
    return out.length;
  }

  syscalls(): SyscallImpl {
    return {
      table_id_from_name: (name: string) => {
        this.inTx();
        const t = this.ds.tableByName(String(name));
        if (!t) this.fail(Errno.NO_SUCH_TABLE, `no such table: ${name}`);
        return t.def.id;
      },
      index_id_from_name: (name: string) => {
        this.inTx();
        const ix = this.ds.catalog.indexByName.get(String(name));
        if (!ix) this.fail(Errno.NO_SUCH_INDEX, `no such index: ${name}`);
        return ix.id;
      },
      datastore_table_row_count: (tableId: number) => {
        this.inTx();
        return BigInt(this.guard(() => this.ds.table(tableId)).rows.size);
      },
      datastore_table_scan_bsatn: (tableId: number) => {
        this.inTx();
        const t = this.guard(() => this.ds.table(tableId));
        return this.openIterator([...t.rows.values()]);
      },
      datastore_index_scan_point_bsatn: (indexId: number, buf: ArrayBuffer, len: number) => {
        this.inTx();
        return this.openIterator(this.pointRows(indexId, buf, len).rows);
      },
      datastore_index_scan_range_bsatn: (indexId: number, ...rest: unknown[]) => {
        this.inTx();
        return this.openIterator(this.rangeRows(indexId, ...rest).rows);
      },
      row_iter_bsatn_advance: (iterId: number, buf: ArrayBuffer) => {
        const it = this.iterators.get(iterId);
        if (!it) this.fail(Errno.NO_SUCH_ITER);
        const target = new Uint8Array((ArrayBuffer.isView(buf) ? (buf as ArrayBufferView).buffer : buf) as ArrayBuffer);
        let written = 0;
        while (it.pos < it.rows.length) {
          const row = it.rows[it.pos]!;
          if (written + row.length > target.length) {
            if (written === 0) throw { [BUFFER_TOO_SMALL_KEY]: row.length };
            return written;
          }
          target.set(row, written);
          written += row.length;
          it.pos++;
        }
        this.iterators.delete(iterId);
        return -written;
      },
      row_iter_bsatn_close: (iterId: number) => {
        // May run from a FinalizationRegistry long after the transaction: unknown ids are a no-op.
        this.iterators.delete(iterId);
      },
      datastore_insert_bsatn: (tableId: number, buf: ArrayBuffer, len: number) => {
        this.inTx();
        const t = this.guard(() => this.ds.table(tableId));
        const value = this.decode(t.def.rowTy, this.bytesFrom(buf, len, 'insert'), `row of ${t.def.name}`) as unknown[];
        const { row, generated } = this.guard(() => this.ds.insert(t, value));
        if (t.def.schedule) this.guard(() => this.host.checkScheduleRow(t, row));
        return this.writeBack(buf, t, row, generated);
      },
      datastore_update_bsatn: (tableId: number, indexId: number, buf: ArrayBuffer, len: number) => {
        this.inTx();
        const t = this.guard(() => this.ds.table(tableId));
        const { table, index } = this.guard(() => this.ds.index(indexId));
        if (table !== t) this.fail(Errno.NO_SUCH_INDEX, `index ${index.def.name} does not belong to table ${t.def.name}`);
        const value = this.decode(t.def.rowTy, this.bytesFrom(buf, len, 'update'), `row of ${t.def.name}`) as unknown[];
        const { row, generated } = this.guard(() => this.ds.update(index, t, value));
        if (t.def.schedule) this.guard(() => this.host.checkScheduleRow(t, row));
        return this.writeBack(buf, t, row, generated);
      },
      datastore_delete_by_index_scan_point_bsatn: (indexId: number, buf: ArrayBuffer, len: number) => {
        this.inTx();
        const { table, rows } = this.pointRows(indexId, buf, len);
        for (const r of rows) this.ds.delete(table, r);
        return rows.length;
      },
      datastore_delete_by_index_scan_range_bsatn: (indexId: number, ...rest: unknown[]) => {
        this.inTx();
        const { table, rows } = this.rangeRows(indexId, ...rest);
        for (const r of rows) this.ds.delete(table, r);
        return rows.length;
      },
      datastore_delete_all_by_eq_bsatn: (tableId: number, buf: ArrayBuffer, len: number) => {
        this.inTx();
        const t = this.guard(() => this.ds.table(tableId));
        const rel = this.decode({ kind: 'Array', elem: t.def.rowTy }, this.bytesFrom(buf, len, 'delete by value'), 'relation') as unknown[][];
        let n = 0;
        for (const value of rel) {
          const w = new Writer();
          encodeValue(t.def.rowTy, value, w);
          const key = Buffer.from(w.finish()).toString('latin1');
          const row = t.byKey.get(key);
          if (row) {
            this.ds.delete(t, row);
            n++;
          }
        }
        return n;
      },
      datastore_clear: (tableId: number) => {
        this.inTx();
        const t = this.guard(() => this.ds.table(tableId));
        return BigInt(this.ds.clear(t));
      },
      volatile_nonatomic_schedule_immediate: (name: string, args: Uint8Array) => {
        this.host.scheduleImmediate(String(name), new Uint8Array(args));
      },
      console_log: (level: number, message: string) => {
        const fn = this.host.currentFunction();
        const log = this.host.logger.child({ module: true, ...(fn ? { function: fn } : {}) });
        const text = String(message);
        if (level === 0 || level === 101) log.error(text);
        else if (level === 1) log.warn(text);
        else if (level === 2) log.info(text);
        else if (level === 3) log.debug(text);
        else log.trace(text);
      },
      console_timer_start: (name: string) => {
        const id = this.nextTimer++;
        this.timers.set(id, { name: String(name), start: process.hrtime.bigint() });
        return id;
      },
      console_timer_end: (id: number) => {
        const timer = this.timers.get(id);
        if (!timer) this.fail(Errno.NO_SUCH_CONSOLE_TIMER);
        this.timers.delete(id);
        const ms = Number(process.hrtime.bigint() - timer.start) / 1e6;
        this.host.logger.info({ module: true }, `Timing span "${timer.name}": ${ms.toFixed(3)}ms`);
      },
      identity: () => this.host.databaseIdentity(),
      get_jwt_payload: (connectionId: bigint) => {
        this.inTx();
        const json = connectionId === 0n ? undefined : this.host.jwtPayload(BigInt(connectionId));
        return new TextEncoder().encode(json ?? '');
      },
      procedure_start_mut_tx: () => this.guard(() => this.host.procedureStartTx()),
      procedure_commit_mut_tx: () => this.guard(() => this.host.procedureCommitTx()),
      procedure_abort_mut_tx: () => this.guard(() => this.host.procedureAbortTx()),
      procedure_http_request: () => {
        if (this.ds.inTransaction) this.fail(Errno.WOULD_BLOCK_TRANSACTION);
        this.fail(Errno.HTTP_ERROR, 'HTTP requests from procedures are not supported by this host');
      },
    };
  }
}

// ArrayBuffers from the module realm fail `instanceof ArrayBuffer` in the host realm.
function isForeignArrayBuffer(v: unknown): boolean {
  return Object.prototype.toString.call(v) === '[object ArrayBuffer]';
}
