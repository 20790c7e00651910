// Live view instances and who uses them. A view is materialised (its module function run) when
// the first subscriber or query acquires it and forgotten when the last handle is released, as
// VS Code's ReferenceCollection does; each commit recomputes every live instance and hands out
// the row differences, which are adopted only once the transaction has committed.
import { bytesKey } from '../datastore/rows';
import type { ViewDef } from './catalog';

export interface ViewRow {
  bytes: Uint8Array;
  value: unknown[];
}

/** Row key (bytes) → row and multiplicity: a view may return duplicates. */
export type ViewRows = Map<string, { row: ViewRow; count: number }>;

export class ViewInstance {
  rows: ViewRows = new Map();
  constructor(
    readonly def: ViewDef,
    /** The caller a sender view was computed for; null for an anonymous view (one for everyone). */
    readonly sender: bigint | null,
  ) {}
  allRows(): ViewRow[] {
    const out: ViewRow[] = [];
    for (const { row, count } of this.rows.values()) for (let i = 0; i < count; i++) out.push(row);
    return out;
  }
}

export interface ViewDelta {
  instance: ViewInstance;
  inserts: ViewRow[];
  deletes: ViewRow[];
}

/** A use of a view instance; `release` gives it back (once; later calls do nothing). */
export interface ViewHandle {
  readonly instance: ViewInstance;
  release(): void;
}

/** The row differences of one recomputation; `apply` makes the new rows current (after the commit). */
export interface ViewRefresh {
  readonly deltas: ViewDelta[];
  apply(): void;
}

export class ViewCache {
  private readonly entries = new Map<string, { instance: ViewInstance; refs: number }>();

  /** `materialize` computes a new instance's rows between transactions (it may throw: nothing is kept). */
  constructor(private readonly materialize: (instance: ViewInstance) => ViewRow[]) {}

  acquire(def: ViewDef, sender: bigint): ViewHandle {
    const s = def.isAnonymous ? null : sender;
    const key = def.isAnonymous ? def.name : `${def.name}:${s}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const instance = new ViewInstance(def, s);
      instance.rows = countViewRows(this.materialize(instance));
      entry = { instance, refs: 0 };
      this.entries.set(key, entry);
    }
    const held = entry;
    held.refs++;
    let released = false;
    return {
      instance: held.instance,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs === 0) this.entries.delete(key);
      },
    };
  }

  /** Recompute every live instance (inside the open transaction) with `compute`. */
  refresh(compute: (instance: ViewInstance) => ViewRow[]): ViewRefresh {
    const deltas: ViewDelta[] = [];
    const next = new Map<ViewInstance, ViewRows>();
    for (const { instance } of this.entries.values()) {
      const rows = countViewRows(compute(instance));
      const inserts: ViewRow[] = [];
      const deletes: ViewRow[] = [];
      for (const [k, { row, count }] of rows) {
        const before = instance.rows.get(k)?.count ?? 0;
        for (let i = before; i < count; i++) inserts.push(row);
      }
      for (const [k, { row, count }] of instance.rows) {
        const after = rows.get(k)?.count ?? 0;
        for (let i = after; i < count; i++) deletes.push(row);
      }
      if (inserts.length || deletes.length) {
        deltas.push({ instance, inserts, deletes });
        next.set(instance, rows);
      }
    }
    return {
      deltas,
      apply: () => {
        for (const [instance, rows] of next) instance.rows = rows;
      },
    };
  }

  /** Recompute every live instance from committed state (after a batch was undone); `recompute` may fail per instance. */
  rematerialize(recompute: (instance: ViewInstance) => ViewRow[] | undefined): void {
    for (const { instance } of this.entries.values()) {
      const rows = recompute(instance);
      if (rows) instance.rows = countViewRows(rows);
    }
  }
}

/** A view's rows by their bytes, with multiplicity (a view may return duplicates). */
function countViewRows(rows: ViewRow[]): ViewRows {
  const out: ViewRows = new Map();
  for (const row of rows) {
    const k = bytesKey(row.bytes);
    const hit = out.get(k);
    if (hit) hit.count++;
    else out.set(k, { row, count: 1 });
  }
  return out;
}
