// An ordered index over a table's rows: entries sorted by key (the index columns' values, in
// index column order, compared as SATS values), ties broken by row id so scans are stable.
// Hash and direct indexes share this structure; only btree/direct allow range scans.
// A unique index also keeps a Map from canonical key to row (see index_key.ts), so exact-key
// lookups and unique checks skip the binary search.
import { compareValues } from '../sats/compare';
import type { IndexDef } from '../module/catalog';
import { keyCanonicalizer, type CanonicalKey, type KeyCanonicalizer } from './index_key';
import type { StoredRow } from './rows';

export type Bound = { kind: 'included'; value: unknown } | { kind: 'excluded'; value: unknown } | { kind: 'unbounded' };

export class IndexStore {
  readonly entries: StoredRow[] = [];
  /** Unique indexes over key types index_key.ts models; undefined otherwise. */
  private readonly canonical: KeyCanonicalizer | undefined;
  /**
   * Canonical key -> the one entry holding it, exactly mirroring `entries`. Undefined for indexes
   * without a canonicalizer, and after the entries stopped being one-per-canonical-key (a row
   * added without a unique check duplicated a key, or a row value had an unexpected shape):
   * everything then takes the binary search until `rebuildFrom` or `clear` can build it again.
   */
  private keyMap: Map<CanonicalKey, StoredRow> | undefined;

  constructor(readonly def: IndexDef) {
    this.canonical = def.unique ? keyCanonicalizer(def.keyTy, def.columns) : undefined;
    this.keyMap = this.canonical ? new Map() : undefined;
  }

  /** Whether exact-key lookups currently go through the key map (diagnostics and tests). */
  get keyMapActive(): boolean {
    return this.keyMap !== undefined;
  }

  keyOf(row: StoredRow): unknown[] {
    const cols = this.def.columns;
    const key = new Array(cols.length);
    for (let i = 0; i < cols.length; i++) key[i] = row.value[cols[i]!];
    return key;
  }

  /** Compare a row's key with the first `n` values of `key`. */
  private cmpPrefix(row: StoredRow, key: unknown[], n: number): number {
    const cols = this.def.columns;
    const els = this.def.keyTy.elements;
    for (let i = 0; i < n; i++) {
      const c = compareValues(els[i]!.ty, row.value[cols[i]!], key[i]);
      if (c) return c;
    }
    return 0;
  }

  /** First position whose key prefix is >= key (strict=false) or > key (strict=true), over n columns. */
  private bound(key: unknown[], n: number, strict: boolean): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.cmpPrefix(this.entries[mid]!, key, n);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private position(row: StoredRow): number {
    const key = this.keyOf(row);
    let lo = this.bound(key, key.length, false);
    const hi = this.bound(key, key.length, true);
    // Within equal keys, entries are ordered by row id.
    let h = hi;
    while (lo < h) {
      const mid = (lo + h) >>> 1;
      if (this.entries[mid]!.id < row.id) lo = mid + 1;
      else h = mid;
    }
    return lo;
  }

  /**
   * `position` while the key map is intact: no two entries share a key, so the first position
   * not below the row's key is where the row is (or, when no entry holds the key, belongs).
   */
  private positionOfUnique(row: StoredRow): number {
    return this.bound(this.keyOf(row), this.def.columns.length, false);
  }

  insert(row: StoredRow): void {
    const map = this.keyMap;
    if (map) {
      const k = this.canonical!.ofRow(row.value);
      if (k !== undefined && !map.has(k)) {
        this.entries.splice(this.positionOfUnique(row), 0, row);
        map.set(k, row);
        return;
      }
      this.keyMap = undefined;
    }
    this.entries.splice(this.position(row), 0, row);
  }

  /** Whether two rows have the same key in this index. */
  sameKey(a: StoredRow, b: StoredRow): boolean {
    const cols = this.def.columns;
    const els = this.def.keyTy.elements;
    for (let i = 0; i < cols.length; i++) if (compareValues(els[i]!.ty, a.value[cols[i]!], b.value[cols[i]!]) !== 0) return false;
    return true;
  }

  /**
   * Put `next` where `prev` is, without moving anything: only valid for a unique index when both
   * rows have the same key (one entry per key, so order by row id does not matter).
   */
  replaceInPlace(prev: StoredRow, next: StoredRow): void {
    const map = this.keyMap;
    const at = map ? this.positionOfUnique(prev) : this.position(prev);
    if (this.entries[at] !== prev) throw new Error(`index ${this.def.name} is missing a row it should hold`);
    this.entries[at] = next;
    if (map) {
      map.delete(this.canonical!.ofRow(prev.value)!);
      // Equal keys under compareValues have equal canonical keys; anything else is a misuse
      // that must not leave the map out of step.
      const k = this.canonical!.ofRow(next.value);
      if (k !== undefined && !map.has(k)) map.set(k, next);
      else this.keyMap = undefined;
    }
  }

  /** Rebuild from scratch: one sort instead of one splice per row. */
  rebuildFrom(rows: Iterable<StoredRow>): void {
    const cols = this.def.columns;
    const els = this.def.keyTy.elements;
    const sorted = [...rows].sort((a, b) => {
      for (let i = 0; i < cols.length; i++) {
        const c = compareValues(els[i]!.ty, a.value[cols[i]!], b.value[cols[i]!]);
        if (c) return c;
      }
      return a.id - b.id;
    });
    this.entries.length = 0;
    for (const r of sorted) this.entries.push(r);
    this.keyMap = this.mapOf(sorted);
  }

  /** The key map for these entries, or undefined when they are not one per canonical key. */
  private mapOf(rows: StoredRow[]): Map<CanonicalKey, StoredRow> | undefined {
    const canonical = this.canonical;
    if (!canonical) return undefined;
    const map = new Map<CanonicalKey, StoredRow>();
    for (const r of rows) {
      const k = canonical.ofRow(r.value);
      if (k === undefined || map.has(k)) return undefined;
      map.set(k, r);
    }
    return map;
  }

  remove(row: StoredRow): void {
    const map = this.keyMap;
    const at = map ? this.positionOfUnique(row) : this.position(row);
    if (this.entries[at] !== row) throw new Error(`index ${this.def.name} is missing a row it should hold`);
    this.entries.splice(at, 1);
    // Every entry had a canonical key when the map was (re)built or the entry added.
    if (map) map.delete(this.canonical!.ofRow(row.value)!);
  }

  /**
   * The map's answer for a full key: the row (or null for none), or undefined when the map
   * cannot answer (no map, a prefix or over-long key, a value of an unexpected shape).
   */
  private mapLookup(key: unknown[]): StoredRow | null | undefined {
    const map = this.keyMap;
    if (!map || key.length !== this.def.columns.length) return undefined;
    const k = this.canonical!.ofKey(key);
    if (k === undefined) return undefined;
    return map.get(k) ?? null;
  }

  /** Rows whose full key equals `key` (or whose prefix does, for a shorter key). A fresh array. */
  point(key: unknown[]): StoredRow[] {
    const hit = this.mapLookup(key);
    if (hit !== undefined) return hit ? [hit] : [];
    const lo = this.bound(key, key.length, false);
    const hi = this.bound(key, key.length, true);
    return this.entries.slice(lo, hi);
  }

  /** Any row holding `key` other than `except` (for unique checks). */
  findOther(key: unknown[], except?: StoredRow): StoredRow | undefined {
    const hit = this.mapLookup(key);
    if (hit !== undefined) return hit && hit !== except ? hit : undefined;
    const lo = this.bound(key, key.length, false);
    const hi = this.bound(key, key.length, true);
    for (let i = lo; i < hi; i++) if (this.entries[i] !== except) return this.entries[i];
    return undefined;
  }

  /** Rows whose first prefix.length columns equal prefix and whose next column lies within [start, end]. */
  range(prefix: unknown[], start: Bound, end: Bound): StoredRow[] {
    const p = prefix.length;
    const withV = (v: unknown) => [...prefix, v];
    const lo =
      start.kind === 'unbounded' ? this.bound(prefix, p, false) : this.bound(withV(start.value), p + 1, start.kind === 'excluded');
    const hi = end.kind === 'unbounded' ? this.bound(prefix, p, true) : this.bound(withV(end.value), p + 1, end.kind === 'included');
    return lo < hi ? this.entries.slice(lo, hi) : [];
  }

  clear(): void {
    this.entries.length = 0;
    this.keyMap = this.canonical ? new Map() : undefined;
  }
}
