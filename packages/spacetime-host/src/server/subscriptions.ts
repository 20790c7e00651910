// Query sets per connection, their initial rows, and per-transaction deltas (spec §5).
// Each committed transaction becomes at most one update per connection, in commit order.
import type { CommitEvent, ModuleHost, ViewHandle } from '../module/host';
import {
  compileSubscription,
  delta,
  evaluate,
  type CompiledQuery,
  type RelationChange,
  type SqlDataSource,
} from '../sql/index';
import { datastoreSource } from './data_source';
import { rowList, type QueryRowsV, type QuerySetUpdateV, type SingleTableRowsV, type TableUpdateRowsV, type TableUpdateV } from './wire';

export interface Subscriber {
  connectionId: bigint;
  identity: bigint;
  isOwner: boolean;
}

interface QuerySet {
  id: number;
  queries: CompiledQuery[];
  /** The view instances its queries read, held while the set is subscribed. */
  views: ViewHandle[];
}

interface SubscriberState {
  sub: Subscriber;
  sets: Map<number, QuerySet>;
  /**
   * Same value for subscribers whose updates are always identical (same query sets, none depending
   * on who asks); undefined when an update must be computed for this subscriber alone.
   */
  sharedKey: string | undefined;
}

/** Key of a query's result for one commit: its text, plus the subscriber when the result depends on them. */
function queryKey(q: CompiledQuery, identity: bigint): string {
  const base = `${q.text}\u0000${q.returns.def.name}`;
  return dependsOnSubscriber(q) ? `${base}\u0000${identity}` : base;
}

function dependsOnSubscriber(q: CompiledQuery): boolean {
  return q.usesSender || q.reads.some((r) => r.kind === 'view');
}

function sharedKeyOf(sets: Map<number, QuerySet>): string | undefined {
  const parts: string[] = [];
  for (const set of sets.values()) {
    for (const q of set.queries) {
      if (dependsOnSubscriber(q)) return undefined;
      parts.push(`${set.id}\u0001${q.text}\u0000${q.returns.def.name}`);
    }
  }
  return parts.join('\u0002');
}

/** Documented limits: query sets per connection and queries per set. */
export const SUBSCRIPTION_LIMITS = { maxQuerySetsPerConnection: 256, maxQueriesPerSet: 1024 };

export type SubscribeResult = { ok: true; rows: QueryRowsV } | { ok: false; error: string };
export type UnsubscribeResult = { ok: true; rows: QueryRowsV } | { ok: false; error: string };

export class SubscriptionManager {
  private readonly subscribers = new Map<bigint, SubscriberState>();

  constructor(private readonly host: ModuleHost) {}

  /** Committed state as the SQL engine sees it, for one subscriber (sender views are per identity). */
  sourceFor(identity: bigint): SqlDataSource {
    return datastoreSource(this.host.datastore, (def) => {
      const view = this.host.acquireView(def, identity);
      try {
        return view.instance.allRows();
      } finally {
        view.release();
      }
    });
  }

  addSubscriber(sub: Subscriber): void {
    this.subscribers.set(sub.connectionId, { sub, sets: new Map(), sharedKey: '' });
  }

  removeSubscriber(connectionId: bigint): void {
    const st = this.subscribers.get(connectionId);
    if (!st) return;
    for (const set of st.sets.values()) for (const v of set.views) v.release();
    this.subscribers.delete(connectionId);
  }

  subscribe(connectionId: bigint, querySetId: number, sqls: string[]): SubscribeResult {
    const st = this.subscribers.get(connectionId);
    if (!st) return { ok: false, error: 'unknown connection' };
    if (st.sets.has(querySetId)) return { ok: false, error: `query set ${querySetId} is already subscribed on this connection` };
    if (st.sets.size >= SUBSCRIPTION_LIMITS.maxQuerySetsPerConnection) {
      return { ok: false, error: `too many query sets on this connection (limit ${SUBSCRIPTION_LIMITS.maxQuerySetsPerConnection})` };
    }
    if (sqls.length > SUBSCRIPTION_LIMITS.maxQueriesPerSet) {
      return { ok: false, error: `too many queries in one query set: ${sqls.length} (limit ${SUBSCRIPTION_LIMITS.maxQueriesPerSet})` };
    }
    const ctx = { catalog: this.host.catalog, sender: st.sub.identity, isOwner: st.sub.isOwner };
    const queries: CompiledQuery[] = [];
    const seen = new Set<string>();
    for (const sql of sqls) {
      const compiled = compileSubscription(sql, ctx);
      if (!compiled.ok) return { ok: false, error: `${compiled.error} (query: ${sql})` };
      for (const q of compiled.queries) {
        // Identical query text within one set counts once.
        const key = `${q.text}\u0000${q.returns.def.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        queries.push(q);
      }
    }
    const views: ViewHandle[] = [];
    const set: QuerySet = { id: querySetId, queries, views };
    let rows: QueryRowsV;
    try {
      // Materialising a view runs module code, which may throw: that fails this set, nothing else.
      for (const q of queries) for (const rel of q.reads) if (rel.kind === 'view') views.push(this.host.acquireView(rel.def, st.sub.identity));
      rows = this.currentRows(st.sub.identity, set);
    } catch (e) {
      for (const v of views) v.release();
      return { ok: false, error: `query set failed: ${(e as Error).message}` };
    }
    st.sets.set(querySetId, set);
    st.sharedKey = sharedKeyOf(st.sets);
    return { ok: true, rows };
  }

  unsubscribe(connectionId: bigint, querySetId: number): UnsubscribeResult {
    const st = this.subscribers.get(connectionId);
    const set = st?.sets.get(querySetId);
    if (!st || !set) return { ok: false, error: `no query set ${querySetId} on this connection` };
    const rows = this.currentRows(st.sub.identity, set);
    st.sets.delete(querySetId);
    st.sharedKey = sharedKeyOf(st.sets);
    for (const v of set.views) v.release();
    return { ok: true, rows };
  }

  private currentRows(identity: bigint, set: QuerySet): QueryRowsV {
    const src = this.sourceFor(identity);
    const tables: SingleTableRowsV[] = [];
    for (const q of set.queries) {
      if (q.returns.kind === 'table' && q.returns.def.isEvent) continue; // event tables are empty between transactions
      const rows = evaluate(q, src);
      if (rows.length) tables.push({ table: q.returns.def.name, rows: rowList(rows) });
    }
    return { tables };
  }

  /**
   * Per-connection updates for one committed transaction. Each distinct query is evaluated once
   * per transaction (per subscriber only when its result depends on who asks: `:sender` or a
   * view), and subscribers whose updates are identical get the same array, so the server can
   * encode it once for all of them.
   */
  updatesFor(commit: CommitEvent): Map<bigint, QuerySetUpdateV[]> {
    const out = new Map<bigint, QuerySetUpdateV[]>();
    const base = new Map<string, RelationChange>();
    for (const d of commit.tables) base.set(d.table.name, { inserts: d.inserts, deletes: d.deletes });
    for (const d of commit.events) base.set(d.table.name, { inserts: d.inserts, deletes: [] });
    const eventTables = new Set(commit.events.map((d) => d.table.name));
    /** Query key → its rows for this transaction (undefined: no change). */
    const evaluated = new Map<string, TableUpdateRowsV | undefined>();
    /** Signature of a subscriber's whole update → the update, shared by every subscriber with it. */
    const shared = new Map<string, QuerySetUpdateV[]>();
    /** Shared key → the update of every subscriber with that key (undefined: nothing for them). */
    const byGroup = new Map<string, QuerySetUpdateV[] | undefined>();
    for (const st of this.subscribers.values()) {
      if (st.sets.size === 0) continue;
      if (st.sharedKey !== undefined && byGroup.has(st.sharedKey)) {
        const same = byGroup.get(st.sharedKey);
        if (same) out.set(st.sub.connectionId, same);
        continue;
      }
      let changes = base;
      const viewDeltas = commit.views.filter((v) => v.instance.sender === null || v.instance.sender === st.sub.identity);
      if (viewDeltas.length) {
        changes = new Map(base);
        for (const v of viewDeltas) changes.set(v.instance.def.name, { inserts: v.inserts, deletes: v.deletes });
      }
      if (changes.size === 0) continue;
      let src: SqlDataSource | undefined;
      const signature: string[] = [];
      const sets: QuerySetUpdateV[] = [];
      for (const set of st.sets.values()) {
        const byTable = new Map<string, TableUpdateRowsV[]>();
        for (const q of set.queries) {
          if (!q.reads.some((r) => changes.has(r.def.name))) continue;
          const key = queryKey(q, st.sub.identity);
          let entry: TableUpdateRowsV | undefined;
          if (evaluated.has(key)) entry = evaluated.get(key);
          else {
            src ??= this.sourceFor(st.sub.identity);
            const d = delta(q, changes, src);
            const name = q.returns.def.name;
            entry =
              !d.inserts.length && !d.deletes.length
                ? undefined
                : eventTables.has(name)
                  ? { tag: 'EventTable', value: { events: rowList(d.inserts) } }
                  : { tag: 'PersistentTable', value: { inserts: rowList(d.inserts), deletes: rowList(d.deletes) } };
            evaluated.set(key, entry);
          }
          if (!entry) continue;
          const list = byTable.get(q.returns.def.name) ?? [];
          list.push(entry);
          byTable.set(q.returns.def.name, list);
          signature.push(`${set.id}\u0001${key}`);
        }
        if (byTable.size) {
          const tables: TableUpdateV[] = [...byTable].map(([tableName, rows]) => ({ tableName, rows }));
          sets.push({ querySetId: { id: set.id }, tables });
        }
      }
      if (st.sharedKey !== undefined) byGroup.set(st.sharedKey, sets.length ? sets : undefined);
      if (!sets.length) continue;
      const sig = signature.join('\u0002');
      const same = shared.get(sig);
      if (same) out.set(st.sub.connectionId, same);
      else {
        shared.set(sig, sets);
        out.set(st.sub.connectionId, sets);
      }
    }
    return out;
  }
}
