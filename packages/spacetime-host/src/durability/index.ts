// Durability for one database: recover it from the newest valid snapshot plus the commit log,
// then log every commit (group-committed, fsync'd) before its results are sent, and snapshot
// every N transactions and at clean shutdown.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CommitEvent, ModuleHost } from '../module/host';
import { CommitLog, type LogCut, type LogMark } from './commitlog';
import { incompatibilities, schemaOf, type StoredSchema } from './migrate';
import type { ColumnCounts } from './records';
import type { LogRecord } from './records';
import { readNewestSnapshot, snapshotFiles, writeSnapshot } from './snapshot';
import { captureTables, rebuildIndexes, replayTx, restoreSequences, restoreTables, stateHash } from './state';

export { stateHash } from './state';
export { CommitLog, scanSegment, type LogVisitor } from './commitlog';

export interface DurabilityOptions {
  /** Snapshot after this many logged transactions (default 10 000). */
  snapshotEvery?: number;
  fsync?: boolean;
  groupCommitMs?: number;
  /** Keep every log segment, even those a snapshot covers (for audits and replay checks). */
  keepLog?: boolean;
  logger: Logger;
}

export interface RecoveryReport {
  fresh: boolean;
  snapshotSeq: bigint | undefined;
  replayedRecords: number;
  skippedSnapshots: { name: string; reason: string }[];
  cut: LogCut | undefined;
  staleClients: { connectionId: bigint; identity: bigint; jwtPayload: string }[];
}

export class SchemaMismatchError extends Error {
  override name = 'SchemaMismatchError';
}

export class Durability {
  private sinceSnapshot = 0;
  private closed = false;
  private readonly stop: (() => void)[] = [];
  private readonly clients = new Map<bigint, { identity: bigint; jwtPayload: string }>();

  private constructor(
    private readonly dir: string,
    private readonly host: ModuleHost,
    readonly log: CommitLog,
    private readonly opts: DurabilityOptions,
  ) {}

  /**
   * Open `dataDir` for `host` (whose datastore must be empty): refuse an incompatible module,
   * restore snapshot + log, and start logging. `report.fresh` means no database existed (run init).
   */
  static open(dataDir: string, host: ModuleHost, opts: DurabilityOptions): { durability: Durability; report: RecoveryReport } {
    mkdirSync(dataDir, { recursive: true });
    const schemaPath = join(dataDir, 'schema.json');
    const catalog = host.catalog;
    const next = schemaOf(catalog, host.bundle.hash);
    const existed = existsSync(schemaPath);
    const stored = existed ? (JSON.parse(readFileSync(schemaPath, 'utf8')) as StoredSchema) : undefined;
    if (stored) {
      const hasDefault = (table: string, col: number) => catalog.tableByName.get(table)?.defaults.has(col) ?? false;
      const problems = incompatibilities(stored, next, hasDefault);
      if (problems.length) {
        throw new SchemaMismatchError(`the module is not compatible with the data in ${dataDir}; nothing was changed:\n- ${problems.join('\n- ')}`);
      }
    }
    const currentColumns: ColumnCounts = Object.fromEntries(catalog.tables.map((t) => [t.name, t.columns.length]));
    // The layout rows were first written in; files from before this field existed never migrated.
    const creationColumns: ColumnCounts =
      stored?.creationColumns ?? (stored ? Object.fromEntries(stored.tables.map((t) => [t.name, t.columns.length])) : currentColumns);

    const snapDir = join(dataDir, 'snapshots');
    const { snapshot, skipped } = readNewestSnapshot(snapDir);
    for (const s of skipped) opts.logger.warn(`skipping unreadable snapshot ${s.name}: ${s.reason}`);
    // Rows read back are in the layout of their era; upgrade them to the module's layout as they load.
    let era: ColumnCounts = snapshot?.columns ?? creationColumns;
    const upgrade = (table: string, bytes: Uint8Array): Uint8Array => {
      const have = era[table];
      const def = catalog.tableByName.get(table);
      if (have === undefined || !def || have >= def.columns.length) return bytes;
      const extra: Uint8Array[] = [];
      for (let col = have; col < def.columns.length; col++) {
        const d = def.defaults.get(col);
        if (!d) throw new SchemaMismatchError(`table ${table} column ${def.columns[col]!.name} has no default for rows stored before it existed`);
        extra.push(d);
      }
      return Buffer.concat([bytes, ...extra]);
    };
    const ds = host.datastore;
    const clients = new Map<bigint, { identity: bigint; jwtPayload: string }>();
    let txId = 0n;
    if (snapshot) {
      restoreTables(ds, snapshot.tables, upgrade);
      restoreSequences(ds, snapshot.sequences);
      for (const c of snapshot.clients) clients.set(c.connectionId, c);
      txId = snapshot.txId;
    }
    // Each record is applied as the log is read, so recovery never holds more than one segment of it.
    // Errors thrown here (a record the module cannot take) abort the open; they are not log corruption.
    let replayed = 0;
    const replay = (seq: bigint, record: LogRecord): void => {
      if (seq !== 1n && replayed === 0 && !snapshot && skipped.length) {
        throw new Error(`no readable snapshot and the log no longer starts at the beginning (first record ${seq}); cannot recover ${dataDir}`);
      }
      replayed++;
      if (record.kind === 'tx') {
        replayTx(ds, record, upgrade);
        if (record.txId > txId) txId = record.txId;
      } else if (record.kind === 'connect') clients.set(record.connectionId, { identity: record.identity, jwtPayload: record.jwtPayload });
      else if (record.kind === 'disconnect') clients.delete(record.connectionId);
      else era = { ...era, ...record.columns };
    };
    const { log, cut } = CommitLog.open(join(dataDir, 'log'), snapshot?.seq ?? 0n, { fsync: opts.fsync, groupCommitMs: opts.groupCommitMs }, replay);
    if (cut) opts.logger.warn(`commit log: cut ${cut.droppedBytes} bytes at ${cut.segment}:${cut.offset} (${cut.reason})`);
    rebuildIndexes(ds);
    host.setTxCounter(Number(txId) + 1);
    const migrated = Object.entries(currentColumns).filter(([t, n]) => era[t] !== undefined && era[t] !== n);
    if (migrated.length) {
      // Rows written from here on have the new layout: say so in the log before anything else.
      log.append({ kind: 'schema', columns: currentColumns });
      log.flushSync();
      opts.logger.info(`migrated ${migrated.map(([t, n]) => `${t} (${era[t]} → ${n} columns)`).join(', ')}`);
    }
    const tmp = `${schemaPath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...next, creationColumns }, null, 2));
    renameSync(tmp, schemaPath);
    const fresh = !existed && !snapshot && replayed === 0;
    const durability = new Durability(dataDir, host, log, opts);
    for (const [k, v] of clients) durability.clients.set(k, v);
    durability.attach();
    return {
      durability,
      report: {
        fresh,
        snapshotSeq: snapshot?.seq,
        replayedRecords: replayed,
        skippedSnapshots: skipped,
        cut,
        staleClients: [...clients].map(([connectionId, c]) => ({ connectionId, ...c })),
      },
    };
  }

  private attach(): void {
    this.stop.push(this.host.onCommit((c) => this.onCommit(c)));
    // An undone batch never happened: its records are taken back before anything writes them.
    let batchMark: LogMark | undefined;
    this.stop.push(
      this.host.onBatch({
        begin: () => {
          batchMark = this.log.mark();
        },
        end: (kept) => {
          if (!kept && batchMark) this.log.discardSince(batchMark);
          batchMark = undefined;
        },
      }),
    );
    this.stop.push(
      this.host.onClientEvent((e) => {
        if (e.kind === 'connect') {
          this.clients.set(e.connectionId, { identity: e.identity, jwtPayload: e.jwtPayload });
          this.log.append(e);
        } else {
          this.clients.delete(e.connectionId);
          this.log.append(e);
        }
      }),
    );
  }

  private onCommit(c: CommitEvent): void {
    const record: LogRecord = {
      kind: 'tx',
      txId: BigInt(c.txId),
      timestamp: c.timestamp,
      reducer: c.reducer?.def.name ?? '',
      caller: c.reducer?.caller.identity ?? 0n,
      args: c.reducer?.args ?? new Uint8Array(0),
      tables: c.tables.map((t) => ({ table: t.table.name, inserts: t.inserts.map((r) => r.bytes), deletes: t.deletes.map((r) => r.bytes) })),
      sequences: this.host.datastore.sequenceSnapshot(),
    };
    this.log.append(record);
    if (++this.sinceSnapshot >= (this.opts.snapshotEvery ?? 10_000)) {
      this.sinceSnapshot = 0;
      // Skipped if the database closed meanwhile (close takes its own snapshot).
      setImmediate(() => {
        if (!this.closed) this.snapshot();
      });
    }
  }

  /** The log sequence number of the last durable record. */
  get durableSeq(): bigint {
    return this.log.durableSeq;
  }

  snapshot(): void {
    this.log.flushSync();
    const seq = this.log.durableSeq;
    const snapDir = join(this.dir, 'snapshots');
    writeSnapshot(snapDir, {
      seq,
      txId: BigInt(this.host.txCounter - 1),
      moduleHash: this.host.bundle.hash,
      tables: captureTables(this.host.datastore),
      sequences: this.host.datastore.sequenceSnapshot(),
      clients: [...this.clients].map(([connectionId, c]) => ({ connectionId, ...c })),
      columns: Object.fromEntries(this.host.catalog.tables.map((t) => [t.name, t.columns.length])),
    });
    // Keep the log back to the oldest kept snapshot, so a corrupt newest snapshot can fall back.
    const oldest = snapshotFiles(snapDir).at(-1)?.seq ?? seq;
    this.log.rotate(this.opts.keepLog ? 0n : oldest);
  }

  stateHash(): string {
    return stateHash(this.host.datastore);
  }

  close(opts: { snapshot?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.stop) s();
    if (opts.snapshot !== false) this.snapshot();
    this.log.close();
  }
}
