// Execution of compiled plans: full evaluation (initial rows, ad hoc queries) and exact
// incremental deltas with bag semantics for semijoins (spec §5.2, §5.3).
//
// Semijoin delta, with A = side 0, B = side 1, n = after, o = before, Δ = signed change:
//   pairs(An, Bn) − pairs(Ao, Bo) = pairs(ΔA, Bn) + pairs(Ao, ΔB),   Ao = An − insertsA + deletesA
// Every term is counted per projected row (by its bytes) and netted, so the deletes a subscriber
// receives over time cancel exactly the inserts it received before. Event tables hold no
// committed rows: within a transaction their current rows are the transaction's inserts and
// their previous rows are none (which the same formula yields).
import { encode } from '../sats/codec';
import { compareValues, valuesEqual } from '../sats/compare';
import type { Ty } from '../sats/types';
import { applyOp, hasSingleColumnIndex, relName, type CExpr, type CValue, type Plan } from './compile';
import type { Relation, RelationChange, Row, RowDelta, SqlDataSource } from './types';

type JoinPlan = Extract<Plan, { kind: 'join' }>;
/** Column values of each side of a (possibly partial) joined tuple. */
type Tuple = (unknown[] | undefined)[];

function operand(v: CValue, tuple: Tuple): unknown {
  return v.k === 'val' ? v.v : tuple[v.side]![v.col];
}

export function test(e: CExpr, tuple: Tuple): boolean {
  switch (e.k) {
    case 'const':
      return e.v;
    case 'and':
      return e.args.every((a) => test(a, tuple));
    case 'or':
      return e.args.some((a) => test(a, tuple));
    case 'not':
      return !test(e.arg, tuple);
    case 'cmp':
      return applyOp(e.op, compareValues(e.ty, operand(e.l, tuple), operand(e.r, tuple)));
  }
}

export const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Hash key of a join value; equal keys ⇔ equal values (NaN has many encodings but compares equal). */
function valueKey(ty: Ty, v: unknown): string {
  if ((ty.kind === 'F32' || ty.kind === 'F64') && Number.isNaN(v)) return 'NaN';
  return bytesKey(encode(ty, v));
}

const isEventRelation = (rel: Relation): boolean => rel.kind === 'table' && rel.def.isEvent;

/** Signed multiset of rows, keyed by row bytes. */
class Bag {
  private readonly counts = new Map<string, { row: Row; n: number }>();
  add(row: Row, n: number): void {
    const k = bytesKey(row.bytes);
    const hit = this.counts.get(k);
    if (hit) hit.n += n;
    else this.counts.set(k, { row, n });
  }
  toDelta(): RowDelta {
    const inserts: Row[] = [];
    const deletes: Row[] = [];
    for (const { row, n } of this.counts.values()) {
      for (let i = 0; i < n; i++) inserts.push(row);
      for (let i = 0; i < -n; i++) deletes.push(row);
    }
    return { inserts, deletes };
  }
}

function groupByKey(rows: Row[], col: number, ty: Ty): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const k = valueKey(ty, r.value[col]);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** Finds the rows of one side of a join whose join column equals a given value. */
class Partners {
  private readonly scanned = new Map<number, Map<string, Row[]>>();
  private readonly changed = new Map<number, { inserts: Map<string, Row[]>; deletes: Map<string, Row[]> } | null>();

  constructor(
    private readonly plan: JoinPlan,
    private readonly src: SqlDataSource,
    /** Present when computing a delta: the transaction's changes, with `src` the state after it. */
    private readonly changes?: Map<string, RelationChange>,
  ) {}

  private changeOf(side: number) {
    let hit = this.changed.get(side);
    if (hit === undefined) {
      const ch = this.changes?.get(relName(this.plan.sides[side]!));
      const col = this.plan.joinCols[side]!;
      hit = ch ? { inserts: groupByKey(ch.inserts, col, this.plan.joinTy), deletes: groupByKey(ch.deletes, col, this.plan.joinTy) } : null;
      this.changed.set(side, hit);
    }
    return hit;
  }

  /** Rows of `side` in the source's state (after the transaction, for deltas). */
  current(side: number, key: unknown): Row[] {
    const rel = this.plan.sides[side]!;
    const col = this.plan.joinCols[side]!;
    const ty = this.plan.joinTy;
    if (this.changes && isEventRelation(rel)) return this.changeOf(side)?.inserts.get(valueKey(ty, key)) ?? [];
    let candidates: Iterable<Row>;
    if (hasSingleColumnIndex(rel, col)) {
      candidates = this.src.lookup(rel, [col], [key]);
    } else {
      let byKey = this.scanned.get(side);
      if (!byKey) {
        byKey = groupByKey([...this.src.scan(rel)], col, ty);
        this.scanned.set(side, byKey);
      }
      candidates = byKey.get(valueKey(ty, key)) ?? [];
    }
    const out: Row[] = [];
    for (const r of candidates) if (valuesEqual(ty, r.value[col], key)) out.push(r);
    return out;
  }

  /** Rows of `side` before the transaction, with multiplicities: current − inserts + deletes. */
  previous(side: number, key: unknown): [Row, number][] {
    const out: [Row, number][] = this.current(side, key).map((r) => [r, 1]);
    const ch = this.changeOf(side);
    if (!ch) return out;
    const k = valueKey(this.plan.joinTy, key);
    for (const r of ch.inserts.get(k) ?? []) out.push([r, -1]);
    for (const r of ch.deletes.get(k) ?? []) out.push([r, 1]);
    return out;
  }
}

/** Joined (or single) rows satisfying the query, in side order; `visit` returns false to stop. */
export function forEachMatch(plan: Plan, src: SqlDataSource, visit: (rows: Row[]) => boolean): void {
  if (plan.kind === 'single') {
    const rows = plan.probe ? src.lookup(plan.rel, [plan.probe.col], [plan.probe.value]) : src.scan(plan.rel);
    for (const r of rows) {
      if (test(plan.filter, [r.value]) && !visit([r])) return;
    }
    return;
  }
  const partners = new Partners(plan, src);
  const lookup = plan.lookup;
  const scan = 1 - lookup;
  const tuple: Tuple = [undefined, undefined];
  const pair: Row[] = [];
  for (const s of src.scan(plan.sides[scan]!)) {
    tuple[scan] = s.value;
    tuple[lookup] = undefined;
    if (!test(plan.scanFilter, tuple)) continue;
    for (const p of partners.current(lookup, s.value[plan.joinCols[scan]!])) {
      tuple[lookup] = p.value;
      if (!test(plan.pairFilter, tuple)) continue;
      pair[scan] = s;
      pair[lookup] = p;
      if (!visit([pair[0]!, pair[1]!])) return;
    }
  }
}

/** All rows the query yields on `src` (a row appears once per matching join partner). */
export function evaluatePlan(plan: Plan, src: SqlDataSource): Row[] {
  const out: Row[] = [];
  const ret = plan.kind === 'join' ? plan.ret : 0;
  forEachMatch(plan, src, (rows) => {
    out.push(rows[ret]!);
    return true;
  });
  return out;
}

/** Change of the query's result caused by one transaction; `after` is the state after it. */
export function deltaPlan(plan: Plan, changes: Map<string, RelationChange>, after: SqlDataSource): RowDelta {
  const bag = new Bag();
  if (plan.kind === 'single') {
    const ch = changes.get(relName(plan.rel));
    if (!ch) return { inserts: [], deletes: [] };
    for (const r of ch.inserts) if (test(plan.filter, [r.value])) bag.add(r, 1);
    for (const r of ch.deletes) if (test(plan.filter, [r.value])) bag.add(r, -1);
    return bag.toDelta();
  }
  const partners = new Partners(plan, after, changes);
  const tuple: Tuple = [undefined, undefined];
  for (const side of [0, 1] as const) {
    const ch = changes.get(relName(plan.sides[side]));
    if (!ch) continue;
    const other = 1 - side;
    for (const [rows, sign] of [[ch.inserts, 1], [ch.deletes, -1]] as const) {
      for (const r of rows) {
        const key = r.value[plan.joinCols[side]];
        // ΔA joins B after the transaction; ΔB joins A before it.
        const matches: [Row, number][] = side === 0 ? partners.current(1, key).map((p) => [p, 1]) : partners.previous(0, key);
        tuple[side] = r.value;
        for (const [p, m] of matches) {
          tuple[other] = p.value;
          if (test(plan.scanFilter, tuple) && test(plan.pairFilter, tuple)) bag.add(plan.ret === side ? r : p, sign * m);
        }
      }
    }
  }
  return bag.toDelta();
}
