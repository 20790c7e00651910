// The host's SQL engine: subscription queries (spec §5) and ad hoc `sql` queries.
import type { Ty } from '../sats/types';
import { compileAdhocProjection, compileSelect, type Plan } from './compile';
import { SqlError } from './errors';
import { deltaPlan, evaluatePlan, forEachMatch } from './eval';
import { RESERVED, checkLength, parseSelect } from './parser';
import type { Relation, RelationChange, Row, SqlContext, SqlDataSource } from './types';

export type { Relation, RelationChange, Row, RowDelta, SqlContext, SqlDataSource } from './types';
export { SqlError } from './errors';
export { MAX_SQL_BYTES } from './parser';
export { parseRfc3339Micros } from './literals';

export interface CompiledQuery {
  /** The SQL text: identity of the query within a query set. */
  text: string;
  /** The one relation whose rows the query yields. */
  returns: Relation;
  /** The relations it reads (one, or two for a semijoin; a self-join reads one). */
  reads: Relation[];
  /** Whether the query uses `:sender`, i.e. its result depends on the subscriber. */
  usesSender: boolean;
  plan: Plan;
}

export type CompileResult = { ok: true; queries: CompiledQuery[] } | { ok: false; error: string };

/** Legacy "all tables" subscription, matched like upstream: case-insensitive, whitespace-tolerant. */
const SELECT_ALL = /^\s*select\s+\*\s+from\s+\*\s*;?\s*$/i;
const PLAIN_IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function selectAllText(name: string): string {
  const bare = PLAIN_IDENT.test(name) && !RESERVED.has(name.toUpperCase());
  return bare ? `SELECT * FROM ${name}` : `SELECT * FROM "${name.replace(/"/g, '""')}"`;
}

function compileOne(sql: string, ctx: SqlContext): CompiledQuery {
  const stmt = parseSelect(sql, 'subscription');
  const c = compileSelect(stmt, sql, ctx, { requireIndexJoin: true });
  return { text: sql, returns: c.returns, reads: c.reads, usesSender: c.usesSender, plan: c.plan };
}

/**
 * Compile one subscription query. `SELECT * FROM *` expands to one `SELECT * FROM <table>` per
 * non-event table the subscriber may read (public ones; private ones too for the owner).
 */
export function compileSubscription(sql: string, ctx: SqlContext): CompileResult {
  try {
    checkLength(sql);
    if (SELECT_ALL.test(sql)) {
      const queries = ctx.catalog.tables
        .filter((t) => !t.isEvent && (t.isPublic || ctx.isOwner))
        .map((t) => compileOne(selectAllText(t.name), ctx));
      return { ok: true, queries };
    }
    return { ok: true, queries: [compileOne(sql, ctx)] };
  } catch (e) {
    if (e instanceof SqlError) return { ok: false, error: e.message };
    throw e;
  }
}

/** The query's rows in `src` (bag semantics: a semijoin yields a row once per matching partner). */
export function evaluate(q: CompiledQuery, src: SqlDataSource): Row[] {
  return evaluatePlan(q.plan, src);
}

/**
 * The change of the query's result caused by one transaction, from the transaction's net changes
 * (keyed by relation canonical name) and the state after it. Inserts and deletes are netted.
 */
export function delta(q: CompiledQuery, changes: Map<string, RelationChange>, after: SqlDataSource): { inserts: Row[]; deletes: Row[] } {
  return deltaPlan(q.plan, changes, after);
}

export type AdhocResult = { ok: true; columns: { name: string; ty: Ty }[]; rows: unknown[][] } | { ok: false; error: string };

/**
 * Run a one-off SELECT (the `sql` debugging command and OneOffQuery): `*`, `<table>.*`, a column
 * list or COUNT(*), optional JOIN (no index needed), WHERE and LIMIT. The owner may read private tables.
 */
export function runAdhocQuery(sql: string, ctx: SqlContext, src: SqlDataSource): AdhocResult {
  try {
    const stmt = parseSelect(sql, 'query');
    const compiled = compileSelect(stmt, sql, ctx, { requireIndexJoin: false });
    const { projection, limit } = compileAdhocProjection(stmt, sql, compiled);
    const max = limit ?? Infinity;
    if (projection.kind === 'count') {
      let n = 0n;
      forEachMatch(compiled.plan, src, () => {
        n++;
        return true;
      });
      return { ok: true, columns: [{ name: projection.name, ty: { kind: 'U64' } }], rows: max > 0 ? [[n]] : [] };
    }
    const rows: unknown[][] = [];
    if (max > 0) {
      forEachMatch(compiled.plan, src, (matched) => {
        if (projection.kind === 'rows') rows.push(matched[projection.side]!.value);
        else rows.push(projection.items.map((it) => matched[it.side]!.value[it.col]));
        return rows.length < max;
      });
    }
    const columns =
      projection.kind === 'rows'
        ? compiled.returns.def.columns.map((c) => ({ name: c.name, ty: c.ty }))
        : projection.items.map((it) => ({ name: it.name, ty: it.ty }));
    return { ok: true, columns, rows };
  } catch (e) {
    if (e instanceof SqlError) return { ok: false, error: e.message };
    throw e;
  }
}
