// Name resolution, typing and planning: turns a parsed SELECT into an executable plan over one
// relation or a semijoin of two. Visibility rules (spec §5.5): private tables and non-public
// views do not resolve for a non-owner, with the same message as an unknown name.
import type { ColumnDef } from '../module/catalog';
import type { Ty } from '../sats/types';
import type { ColumnRef, CmpOp, Operand, Pred, SelectStmt } from './ast';
import { SqlError } from './errors';
import { bigintToBytes, isComparableType, literalText, literalValue, parseDecimalInteger, sameType, showType } from './literals';
import { near } from './lexer';
import type { Relation, SqlContext } from './types';

/** A value in a compiled expression: a column of one side of the query, or a constant. */
export type CValue = { k: 'col'; side: number; col: number } | { k: 'val'; v: unknown };

export type CExpr =
  | { k: 'const'; v: boolean }
  | { k: 'and'; args: CExpr[] }
  | { k: 'or'; args: CExpr[] }
  | { k: 'not'; arg: CExpr }
  | { k: 'cmp'; op: CmpOp; ty: Ty; l: CValue; r: CValue };

export type Plan =
  | {
      kind: 'single';
      rel: Relation;
      filter: CExpr;
      /** An equality on a single-column-indexed column: evaluate by index lookup instead of a scan. */
      probe: { col: number; value: unknown } | undefined;
    }
  | {
      kind: 'join';
      /** Side 0 is the FROM relation, side 1 the JOINed one. */
      sides: [Relation, Relation];
      /** Join column of each side (ON side0.col = side1.col). */
      joinCols: [number, number];
      joinTy: Ty;
      /** Which side's rows the query yields. */
      ret: 0 | 1;
      /** The side probed through its index for each row of the other (scanned) side. */
      lookup: 0 | 1;
      /** Conjuncts of WHERE that only read the scanned side: applied before probing. */
      scanFilter: CExpr;
      /** The rest of WHERE, applied to each joined pair. */
      pairFilter: CExpr;
    };

export interface CompiledSelect {
  plan: Plan;
  returns: Relation;
  reads: Relation[];
  usesSender: boolean;
}

export type AdhocProjection =
  | { kind: 'rows'; side: number } // * or alias.*
  | { kind: 'columns'; items: { side: number; col: number; name: string; ty: Ty }[] }
  | { kind: 'count'; name: string };

interface Side {
  rel: Relation;
  columns: ColumnDef[];
  /** Names that qualify this side's columns: the alias, or the table's written/canonical/source names. */
  names: Set<string>;
  shown: string;
}

const TRUE: CExpr = { k: 'const', v: true };

export function relName(rel: Relation): string {
  return rel.def.name;
}

function noSuchRelation(name: string, sql: string, pos: number): SqlError {
  return new SqlError(`no such table: "${name}" (if the table exists, it may be private) ${near(sql, pos)}`);
}

export function resolveRelation(name: string, ctx: SqlContext, sql: string, pos: number): Relation {
  const table = ctx.catalog.tableByName.get(name);
  if (table) {
    if (!table.isPublic && !ctx.isOwner) throw noSuchRelation(name, sql, pos);
    return { kind: 'table', def: table };
  }
  const view = ctx.catalog.viewByName.get(name);
  if (view) {
    if (!view.isPublic && !ctx.isOwner) throw noSuchRelation(name, sql, pos);
    return { kind: 'view', def: view };
  }
  throw noSuchRelation(name, sql, pos);
}

export function findColumn(columns: ColumnDef[], name: string): ColumnDef | undefined {
  return columns.find((c) => c.name === name) ?? columns.find((c) => c.sourceName === name);
}

/** Does `rel` have an index on exactly this one column (so `SqlDataSource.lookup` may be used)? */
export function hasSingleColumnIndex(rel: Relation, col: number): boolean {
  return rel.kind === 'table' && rel.def.indexes.some((ix) => ix.columns.length === 1 && ix.columns[0] === col);
}

class Binder {
  usesSender = false;
  constructor(
    private readonly sql: string,
    private readonly ctx: SqlContext,
    readonly sides: Side[],
  ) {}

  column(ref: ColumnRef): { side: number; col: ColumnDef } {
    if (ref.qualifier !== undefined) {
      const side = this.sides.findIndex((s) => s.names.has(ref.qualifier!));
      if (side < 0) throw new SqlError(`unknown table or alias "${ref.qualifier}" in column reference ${near(this.sql, ref.pos)}`);
      const col = findColumn(this.sides[side]!.columns, ref.name);
      if (!col) throw new SqlError(`no such column "${ref.name}" in ${this.sides[side]!.shown} ${near(this.sql, ref.pos)}`);
      return { side, col };
    }
    const hits = this.sides.flatMap((s, side) => {
      const col = findColumn(s.columns, ref.name);
      return col ? [{ side, col }] : [];
    });
    if (hits.length === 0) {
      const where = this.sides.length === 1 ? this.sides[0]!.shown : this.sides.map((s) => s.shown).join(' or ');
      throw new SqlError(`no such column "${ref.name}" in ${where} ${near(this.sql, ref.pos)}`);
    }
    if (hits.length > 1) throw new SqlError(`column "${ref.name}" is ambiguous: qualify it with a table name or alias ${near(this.sql, ref.pos)}`);
    return hits[0]!;
  }

  private describeColumn(side: number, col: ColumnDef): string {
    return `column ${this.sides[side]!.shown}."${col.name}"`;
  }

  private requireComparable(side: number, col: ColumnDef, pos: number): void {
    if (!isComparableType(col.ty)) {
      throw new SqlError(`${this.describeColumn(side, col)} of type ${showType(col.ty)} cannot be compared in SQL (only scalars, strings, bytes, Identity, ConnectionId, Timestamp, TimeDuration and Uuid can) ${near(this.sql, pos)}`);
    }
  }

  private constOperand(o: Operand, ty: Ty, target: string): unknown {
    if (o.kind === 'param') {
      this.usesSender = true;
      if (ty.kind === 'Product' && ty.special === 'identity') return [this.ctx.sender];
      if (ty.kind === 'Array' && ty.elem.kind === 'U8') return bigintToBytes(this.ctx.sender, 32);
      throw new SqlError(`:sender can only be compared with an Identity (or bytes) column, not ${target} of type ${showType(ty)} ${near(this.sql, o.pos)}`);
    }
    if (o.kind !== 'literal') throw new Error('constOperand expects a literal or parameter');
    try {
      return literalValue(o.lit, ty, target);
    } catch (e) {
      if (e instanceof SqlError) throw new SqlError(`${e.message} ${near(this.sql, o.pos)}`);
      throw e;
    }
  }

  comparison(op: CmpOp, left: Operand, right: Operand, pos: number): CExpr {
    if (left.kind === 'column' && right.kind === 'column') {
      const a = this.column(left);
      const b = this.column(right);
      this.requireComparable(a.side, a.col, left.pos);
      this.requireComparable(b.side, b.col, right.pos);
      if (!sameType(a.col.ty, b.col.ty)) {
        throw new SqlError(`cannot compare ${this.describeColumn(a.side, a.col)} of type ${showType(a.col.ty)} with ${this.describeColumn(b.side, b.col)} of type ${showType(b.col.ty)}: the types differ ${near(this.sql, pos)}`);
      }
      return { k: 'cmp', op, ty: a.col.ty, l: { k: 'col', side: a.side, col: a.col.col }, r: { k: 'col', side: b.side, col: b.col.col } };
    }
    if (left.kind === 'column' || right.kind === 'column') {
      const colRef = (left.kind === 'column' ? left : right) as ColumnRef;
      const other = left.kind === 'column' ? right : left;
      const c = this.column(colRef);
      this.requireComparable(c.side, c.col, colRef.pos);
      const value = this.constOperand(other, c.col.ty, this.describeColumn(c.side, c.col));
      const colV: CValue = { k: 'col', side: c.side, col: c.col.col };
      const valV: CValue = { k: 'val', v: value };
      return left.kind === 'column' ? { k: 'cmp', op, ty: c.col.ty, l: colV, r: valV } : { k: 'cmp', op, ty: c.col.ty, l: valV, r: colV };
    }
    // No column: only TRUE/FALSE constants can be compared (the SDK emits `TRUE = TRUE` for `where(() => true)`).
    if (left.kind === 'literal' && right.kind === 'literal' && left.lit.kind === 'bool' && right.lit.kind === 'bool') {
      const a = left.lit.value;
      const b = right.lit.value;
      const c = a === b ? 0 : a ? 1 : -1;
      return { k: 'const', v: applyOp(op, c) };
    }
    if (left.kind === 'param' || right.kind === 'param') {
      throw new SqlError(`:sender must be compared with an Identity column ${near(this.sql, pos)}`);
    }
    const shown = [left, right].map((o) => (o.kind === 'literal' ? literalText(o.lit) : ':sender')).join(' and ');
    throw new SqlError(`cannot compare two literals (${shown}): one side of a comparison must be a column ${near(this.sql, pos)}`);
  }

  predicate(p: Pred): CExpr {
    switch (p.kind) {
      case 'and':
        return { k: 'and', args: p.args.map((a) => this.predicate(a)) };
      case 'or':
        return { k: 'or', args: p.args.map((a) => this.predicate(a)) };
      case 'not':
        return { k: 'not', arg: this.predicate(p.arg) };
      case 'cmp':
        return this.comparison(p.op, p.left, p.right, p.pos);
      case 'operand': {
        const o = p.operand;
        if (o.kind === 'literal' && o.lit.kind === 'bool') return { k: 'const', v: o.lit.value };
        if (o.kind === 'column') {
          const c = this.column(o);
          if (c.col.ty.kind !== 'Bool') {
            throw new SqlError(`${this.describeColumn(c.side, c.col)} of type ${showType(c.col.ty)} is not a condition: compare it with a value ${near(this.sql, o.pos)}`);
          }
          return { k: 'cmp', op: '=', ty: c.col.ty, l: { k: 'col', side: c.side, col: c.col.col }, r: { k: 'val', v: true } };
        }
        throw new SqlError(`expected a condition, found ${o.kind === 'param' ? ':sender' : `literal ${literalText(o.lit)}`} ${near(this.sql, o.pos)}`);
      }
    }
  }
}

export function applyOp(op: CmpOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

/** Top-level conjuncts of an expression (nested ANDs flattened). */
export function conjuncts(e: CExpr): CExpr[] {
  if (e.k === 'and') return e.args.flatMap(conjuncts);
  if (e.k === 'const' && e.v) return [];
  return [e];
}

export function andOf(parts: CExpr[]): CExpr {
  return parts.length === 0 ? TRUE : parts.length === 1 ? parts[0]! : { k: 'and', args: parts };
}

/** The sides an expression reads. */
function sidesRead(e: CExpr, out = new Set<number>()): Set<number> {
  switch (e.k) {
    case 'const':
      break;
    case 'and':
    case 'or':
      for (const a of e.args) sidesRead(a, out);
      break;
    case 'not':
      sidesRead(e.arg, out);
      break;
    case 'cmp':
      if (e.l.k === 'col') out.add(e.l.side);
      if (e.r.k === 'col') out.add(e.r.side);
      break;
  }
  return out;
}

/** A conjunct comparing one column of `side` with a constant: what upstream pushes down to that side's scan. */
function isPushedFilterOn(e: CExpr, side: number): boolean {
  return e.k === 'cmp' && ((e.l.k === 'col' && e.l.side === side && e.r.k === 'val') || (e.r.k === 'col' && e.r.side === side && e.l.k === 'val'));
}

function makeSide(ref: { name: string; alias: string | undefined; pos: number }, ctx: SqlContext, sql: string): Side {
  const rel = resolveRelation(ref.name, ctx, sql, ref.pos);
  const names = ref.alias !== undefined ? new Set([ref.alias]) : new Set([ref.name, rel.def.name, rel.def.sourceName]);
  const shown = ref.alias !== undefined && ref.alias !== ref.name ? `"${ref.name}" (alias "${ref.alias}")` : `"${ref.name}"`;
  return { rel, columns: rel.def.columns, names, shown };
}

export interface CompileOptions {
  /** Subscriptions must be executable as an index semijoin (spec §5.1); ad hoc queries need not be. */
  requireIndexJoin: boolean;
}

export function compileSelect(stmt: SelectStmt, sql: string, ctx: SqlContext, opts: CompileOptions): CompiledSelect & { binder: Binder } {
  const sides: Side[] = [makeSide(stmt.from, ctx, sql)];
  if (stmt.join) {
    const second = makeSide(stmt.join.rel, ctx, sql);
    const primary = (ref: { name: string; alias: string | undefined }) => ref.alias ?? ref.name;
    if (primary(stmt.from) === primary(stmt.join.rel)) {
      throw new SqlError(`relation name "${primary(stmt.from)}" is used twice; give each side of the join its own alias ${near(sql, stmt.join.rel.pos)}`);
    }
    // Secondary names (canonical/source) shared by both sides would be ambiguous: neither side keeps them.
    for (const n of [...sides[0]!.names]) {
      if (second.names.has(n) && n !== primary(stmt.from) && n !== primary(stmt.join.rel)) {
        sides[0]!.names.delete(n);
        second.names.delete(n);
      }
    }
    sides[0]!.names.delete(primary(stmt.join.rel));
    second.names.delete(primary(stmt.from));
    sides.push(second);
  }
  const binder = new Binder(sql, ctx, sides);

  // Which side the query returns.
  let ret: 0 | 1 = 0;
  const proj = stmt.projection;
  if (proj.kind === 'star' && stmt.join) {
    throw new SqlError(
      opts.requireIndexJoin
        ? 'SELECT * over a join is not supported: a subscription must be typed to a single table; use SELECT <table>.* to choose which side the query returns'
        : 'SELECT * over a join is not supported: use SELECT <table>.* or list the columns',
    );
  } else if (proj.kind === 'qualifiedStar') {
    const idx = sides.findIndex((s) => s.names.has(proj.qualifier));
    if (idx < 0) throw new SqlError(`"${proj.qualifier}" in SELECT ${proj.qualifier}.* is not a table or alias of this query ${near(sql, proj.pos)}`);
    ret = idx as 0 | 1;
  }

  const filter = stmt.where ? binder.predicate(stmt.where) : TRUE;
  const returns = sides[ret]!.rel;
  const reads: Relation[] = [];
  for (const s of sides) if (!reads.some((r) => r.kind === s.rel.kind && r.def.name === s.rel.def.name)) reads.push(s.rel);

  if (!stmt.join) {
    const rel = sides[0]!.rel;
    let probe: { col: number; value: unknown } | undefined;
    for (const c of conjuncts(filter)) {
      if (c.k !== 'cmp' || c.op !== '=') continue;
      const col = c.l.k === 'col' && c.r.k === 'val' ? c.l.col : c.r.k === 'col' && c.l.k === 'val' ? c.r.col : undefined;
      const v = c.l.k === 'val' ? c.l.v : c.r.k === 'val' ? c.r.v : undefined;
      if (col !== undefined && hasSingleColumnIndex(rel, col)) {
        probe = { col, value: v };
        break;
      }
    }
    return { plan: { kind: 'single', rel, filter, probe }, returns, reads, usesSender: binder.usesSender, binder };
  }

  const on = stmt.join.on;
  const a = binder.column(on.left);
  const b = binder.column(on.right);
  if (a.side === b.side) {
    throw new SqlError(`the join condition must compare a column of each side of the join ${near(sql, on.pos)}`);
  }
  const [c0, c1] = a.side === 0 ? [a.col, b.col] : [b.col, a.col];
  for (const [side, col, ref] of [[0, c0, on.left], [1, c1, on.right]] as const) {
    if (!isComparableType(col.ty)) {
      throw new SqlError(`cannot join on column ${sides[side]!.shown}."${col.name}" of type ${showType(col.ty)} ${near(sql, ref.pos)}`);
    }
  }
  if (!sameType(c0.ty, c1.ty)) {
    throw new SqlError(`cannot join ${sides[0]!.shown}."${c0.name}" of type ${showType(c0.ty)} with ${sides[1]!.shown}."${c1.name}" of type ${showType(c1.ty)}: the types differ ${near(sql, on.pos)}`);
  }
  const joinCols: [number, number] = [c0.col, c1.col];
  const rels: [Relation, Relation] = [sides[0]!.rel, sides[1]!.rel];
  const parts = conjuncts(filter);
  const canLookup = (side: 0 | 1) => hasSingleColumnIndex(rels[side], joinCols[side]) && !(rels[side].kind === 'table' && rels[side].def.isEvent);

  let lookup: 0 | 1;
  if (opts.requireIndexJoin) {
    // Mirror upstream's planner: the side carrying constant filters is scanned and the other side is
    // probed through an index on its join column. With filters on both sides upstream's choice is not
    // an index join at all; we accept whichever side can be probed.
    const pushed = [0, 1].map((s) => parts.some((p) => isPushedFilterOn(p, s)));
    if (pushed[0] && pushed[1]) lookup = canLookup(1) ? 1 : canLookup(0) ? 0 : 1;
    else lookup = !pushed[0] && pushed[1] ? 0 : 1;
    const probed = rels[lookup];
    if (probed.kind === 'table' && probed.def.isEvent) {
      throw new SqlError(`event table "${probed.def.name}" cannot be the looked-up side of a join: filter it in WHERE so it is scanned, or join the other way round`);
    }
    if (!hasSingleColumnIndex(probed, joinCols[lookup])) {
      const col = lookup === 0 ? c0 : c1;
      throw new SqlError(`Subscriptions require indexes on join columns: ${sides[lookup]!.shown}."${col.name}" has no single-column index`);
    }
  } else {
    lookup = canLookup(1) ? 1 : canLookup(0) ? 0 : 1;
  }
  const scanOnly = parts.filter((p) => {
    const read = sidesRead(p);
    return !read.has(lookup);
  });
  const rest = parts.filter((p) => !scanOnly.includes(p));
  return {
    plan: {
      kind: 'join',
      sides: rels,
      joinCols,
      joinTy: c0.ty,
      ret,
      lookup,
      scanFilter: andOf(scanOnly),
      pairFilter: andOf(rest),
    },
    returns,
    reads,
    usesSender: binder.usesSender,
    binder,
  };
}

/** Projection and LIMIT of an ad hoc query. */
export function compileAdhocProjection(stmt: SelectStmt, sql: string, compiled: CompiledSelect & { binder: Binder }): { projection: AdhocProjection; limit: number | undefined } {
  let limit: number | undefined;
  if (stmt.limit) {
    const v = parseDecimalInteger(stmt.limit.text);
    if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new SqlError(`invalid LIMIT ${stmt.limit.text}: expected a non-negative integer ${near(sql, stmt.limit.pos)}`);
    }
    limit = v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  const proj = stmt.projection;
  const ret = compiled.plan.kind === 'join' ? compiled.plan.ret : 0;
  switch (proj.kind) {
    case 'star':
    case 'qualifiedStar':
      return { projection: { kind: 'rows', side: ret }, limit };
    case 'count':
      return { projection: { kind: 'count', name: proj.alias ?? 'count' }, limit };
    case 'columns': {
      const seen = new Set<string>();
      const items = proj.items.map(({ column, alias }) => {
        const c = compiled.binder.column(column);
        const name = alias ?? c.col.name;
        if (seen.has(name)) throw new SqlError(`duplicate column name "${name}" in the SELECT list; rename one with AS ${near(sql, column.pos)}`);
        seen.add(name);
        return { side: c.side, col: c.col.col, name, ty: c.col.ty };
      });
      return { projection: { kind: 'columns', items }, limit };
    }
  }
}
