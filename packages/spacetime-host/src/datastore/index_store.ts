// An ordered index over a table's rows: entries sorted by key (the index columns' values, in
// index column order, compared as SATS values), ties broken by row id so scans are stable.
// Hash and direct indexes share this structure; only btree/direct allow range scans.
// A unique index also keeps a Map from canonical key to row (see index_key.ts), so exact-key
// lookups and unique checks skip the binary search, and a second one from canonical key to where
// the row was last seen in `entries`, so an update keeping the key, or a remove, usually does too.
import { compareValues } from '../sats/compare';
import type { IndexDef } from '../module/catalog';
import { keyCanonicalizer, type CanonicalKey, type KeyCanonicalizer } from './index_key';
import type { StoredRow } from './rows';

export type Bound = { kind: 'included'; value: unknown } | { kind: 'excluded'; value: unknown } | { kind: 'unbounded' };

export class IndexStore {
  /** The rows in index order. Read-only for everyone else. */
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
  /**
   * Canonical key -> where its row was last seen in `entries`, while `keyMap` is active. Inserts
   * and removes shift the rows after them without updating this (that would cost a write per
   * shifted row), so a position is checked before use and searched for again when stale.
   * Appends (rising auto-increment keys) shift nothing. A separate map of small integers, so
   * `keyMap` lookups stay one load.
   */
  private lastSeenAt: Map<CanonicalKey, number> | undefined;

  constructor(readonly def: IndexDef) {
    this.canonical = def.unique ? keyCanonicalizer(def.keyTy, def.columns) : undefined;
    this.resetKeyMap();
  }

  /** An empty key map, for an index without entries. */
  private resetKeyMap(): void {
    this.keyMap = this.canonical ? new Map() : undefined;
    this.lastSeenAt = this.canonical ? new Map() : undefined;
  }

  /** Stop using the key map: the entries no longer hold one row per canonical key. */
  private dropKeyMap(): void {
    this.keyMap = undefined;
    this.lastSeenAt = undefined;
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

  /** Where `row` is, or an error when the index does not hold it. */
  private positionHolding(row: StoredRow): number {
    const at = this.keyMap ? this.positionOfUnique(row) : this.position(row);
    if (this.entries[at] !== row) throw new Error(`index ${this.def.name} is missing a row it should hold`);
    return at;
  }

  /** Where `row`, held in the key map under `k`, is now: where last seen if still right, else searched. */
  private locate(k: CanonicalKey, row: StoredRow): number {
    const seen = this.lastSeenAt!.get(k);
    if (seen !== undefined && this.entries[seen] === row) return seen;
    const at = this.positionHolding(row);
    this.lastSeenAt!.set(k, at);
    return at;
  }

  insert(row: StoredRow): void {
    const map = this.keyMap;
    if (map) {
      const k = this.canonical!.ofRow(row.value);
      if (k !== undefined && !map.has(k)) {
        const at = this.positionOfUnique(row);
        this.entries.splice(at, 0, row);
        map.set(k, row);
        this.lastSeenAt!.set(k, at);
        return;
      }
      this.dropKeyMap();
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

  /** `row`'s canonical key while the key map is active, else undefined. */
  private mapKeyOf(row: StoredRow): CanonicalKey | undefined {
    return this.keyMap ? this.canonical!.ofRow(row.value) : undefined;
  }

  /**
   * Whether the key map shows `next` has the same key as `prev`: the map finds `prev` under
   * `next`'s canonical key exactly when compareValues finds the two keys equal.
   * `nextKey` undefined (no map, or a value of an unexpected shape): the map cannot tell.
   */
  private mapShowsSameKey(prev: StoredRow, nextKey: CanonicalKey | undefined): nextKey is CanonicalKey {
    return nextKey !== undefined && this.keyMap?.get(nextKey) === prev;
  }

  /** Put `next` where `prev` is, under their shared canonical key `k`. */
  private overwrite(k: CanonicalKey, prev: StoredRow, next: StoredRow): void {
    this.entries[this.locate(k, prev)] = next;
    this.keyMap!.set(k, next);
  }

  /**
   * Put `next` where `prev` is, without moving anything: only valid for a unique index when both
   * rows have the same key (one entry per key, so order by row id does not matter).
   */
  replaceInPlace(prev: StoredRow, next: StoredRow): void {
    const nextKey = this.mapKeyOf(next);
    if (this.mapShowsSameKey(prev, nextKey)) return this.overwrite(nextKey, prev, next);
    const at = this.positionHolding(prev);
    if (this.keyMap) {
      // The map holds `prev`, but not under `next`'s key: the keys differ, and writing `next`
      // here would break the order.
      if (nextKey !== undefined) throw new Error(`index ${this.def.name}: replaceInPlace needs rows with the same key`);
      // `next` has a value of an unexpected shape, which compareValues may still find equal
      // (the caller's check): it goes in, but the map can no longer mirror the entries.
      this.dropKeyMap();
    }
    this.entries[at] = next;
    // Rows sharing a key (written without a unique check) stay ordered by row id, which the
    // newer `next` may not keep where `prev` was.
    if (this.sharesKeyWithNeighbour(at)) {
      this.entries.splice(at, 1);
      this.entries.splice(this.position(next), 0, next);
    }
  }

  private sharesKeyWithNeighbour(at: number): boolean {
    const row = this.entries[at]!;
    const before = this.entries[at - 1];
    const after = this.entries[at + 1];
    return (before !== undefined && this.sameKey(before, row)) || (after !== undefined && this.sameKey(after, row));
  }

  /**
   * Replace `prev` by `next` (an update). In a unique index a row whose key is unchanged keeps
   * its entry; otherwise `next` goes where its key belongs.
   */
  replace(prev: StoredRow, next: StoredRow): void {
    if (this.def.unique) {
      const nextKey = this.mapKeyOf(next);
      if (this.mapShowsSameKey(prev, nextKey)) return this.overwrite(nextKey, prev, next);
      // A canonical key that does not lead to `prev` is a different key (or `prev` is not
      // here, which `remove` reports); without one, only compareValues can tell.
      if (nextKey === undefined && this.sameKey(prev, next)) return this.replaceInPlace(prev, next);
    }
    this.remove(prev);
    this.insert(next);
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
    this.mapEntries();
  }

  /** Build the key map for the entries, or drop it when they are not one per canonical key. */
  private mapEntries(): void {
    this.resetKeyMap();
    const map = this.keyMap;
    if (!map) return;
    const entries = this.entries;
    for (let at = 0; at < entries.length; at++) {
      const k = this.canonical!.ofRow(entries[at]!.value);
      if (k === undefined || map.has(k)) return this.dropKeyMap();
      map.set(k, entries[at]!);
      this.lastSeenAt!.set(k, at);
    }
  }

  remove(row: StoredRow): void {
    // Every entry had a canonical key when the map was (re)built or the entry added, so a row
    // the map does not hold is not here (which `positionHolding` reports).
    const k = this.mapKeyOf(row);
    if (k === undefined || this.keyMap!.get(k) !== row) {
      this.entries.splice(this.positionHolding(row), 1);
      return;
    }
    this.entries.splice(this.locate(k, row), 1);
    this.keyMap!.delete(k);
    this.lastSeenAt!.delete(k);
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
    this.resetKeyMap();
  }
}
