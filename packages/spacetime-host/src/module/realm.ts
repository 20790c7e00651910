// Evaluates a module bundle in its own realm (node:vm) with the `spacetime:sys` ABI objects
// installed, then asks the module for its hooks. The realm gets only what upstream's isolate
// has: no timers, no fetch, no process; Math.random throws (modules must use ctx.random).
import vm from 'node:vm';
import { MODULE_GLOBAL, SYS_GLOBAL, type ModuleBundle } from './bundle';
import { CallInterruptedError } from '../datastore/errors';

/** Every syscall of ABI 2.0 + 2.1, by name. The host object implements them all. */
export const SYSCALLS_2_0 = [
  'table_id_from_name',
  'index_id_from_name',
  'datastore_table_row_count',
  'datastore_table_scan_bsatn',
  'datastore_index_scan_point_bsatn',
  'datastore_index_scan_range_bsatn',
  'row_iter_bsatn_advance',
  'row_iter_bsatn_close',
  'datastore_insert_bsatn',
  'datastore_update_bsatn',
  'datastore_delete_by_index_scan_point_bsatn',
  'datastore_delete_by_index_scan_range_bsatn',
  'datastore_delete_all_by_eq_bsatn',
  'volatile_nonatomic_schedule_immediate',
  'console_log',
  'console_timer_start',
  'console_timer_end',
  'identity',
  'get_jwt_payload',
  'procedure_start_mut_tx',
  'procedure_commit_mut_tx',
  'procedure_abort_mut_tx',
  'procedure_http_request',
] as const;
export const SYSCALLS_2_1 = ['datastore_clear'] as const;

export type SyscallName = (typeof SYSCALLS_2_0)[number] | (typeof SYSCALLS_2_1)[number];
export type SyscallImpl = Record<SyscallName, (...args: any[]) => any>;

export interface ModuleHooks {
  __describe_module__(): Uint8Array;
  __get_error_constructor__(code: number): new (msg: string) => Error;
  readonly __sender_error_class__: new (msg: string) => Error;
  __call_reducer__(id: number, sender: bigint, connId: bigint, ts: bigint, args: DataView): unknown;
  __call_view__(id: number, sender: bigint, args: Uint8Array): { data: Uint8Array } | Uint8Array;
  __call_view_anon__(id: number, args: Uint8Array): { data: Uint8Array } | Uint8Array;
  __call_procedure__(id: number, sender: bigint, connId: bigint, ts: bigint, args: Uint8Array): Uint8Array;
  __call_http_handler__?(id: number, ts: bigint, request: Uint8Array, body: Uint8Array): [Uint8Array, Uint8Array];
}

export interface LoadedRealm {
  hooks: ModuleHooks;
  context: vm.Context;
  /** The realm's own DataView, so reducer args are native to the module. */
  DataView: DataViewConstructor;
  /**
   * Run `fn` (which calls into the module) with a time budget: past it, execution is interrupted
   * and a `ReducerTimeoutError` is thrown. A budget of 0 runs without a limit.
   */
  invoke<T>(fn: () => T, budgetMs: number): T;
}

/** Interrupts a call anywhere, even mid-change: the datastore rebuilds derived state on rollback. */
export class ReducerTimeoutError extends CallInterruptedError {
  override name = 'ReducerTimeoutError';
}

const INVOKE_SCRIPT = new vm.Script('globalThis.__spacetime_host_invoke__()', { filename: 'spacetime-host:invoke' });

// Node 20 lacks ES2025 Set methods; the runtime calls isSubsetOf for every indexed table.
// It also lacks Symbol.dispose: the runtime's iterator class keys its dispose method by it and
// esbuild's lowered \`using\` looks it up (falling back to Symbol.for('Symbol.dispose')), so
// without it every table/index iteration fails with "Object not disposable".
const REALM_PRELUDE = `
(() => {
  for (const name of ['dispose', 'asyncDispose']) {
    if (typeof Symbol[name] !== 'symbol') Object.defineProperty(Symbol, name, { value: Symbol.for('Symbol.' + name) });
  }
  const P = Set.prototype;
  const def = (name, fn) => { if (!P[name]) Object.defineProperty(P, name, { value: fn, writable: true, configurable: true }); };
  def('isSubsetOf', function (other) { for (const v of this) if (!other.has(v)) return false; return true; });
  def('isSupersetOf', function (other) { for (const v of other.keys()) if (!this.has(v)) return false; return true; });
  def('union', function (other) { const s = new Set(this); for (const v of other.keys()) s.add(v); return s; });
  def('intersection', function (other) { const s = new Set(); for (const v of this) if (other.has(v)) s.add(v); return s; });
  def('difference', function (other) { const s = new Set(); for (const v of this) if (!other.has(v)) s.add(v); return s; });
  def('symmetricDifference', function (other) { const s = new Set(this); for (const v of other.keys()) { if (this.has(v)) s.delete(v); else s.add(v); } return s; });
  def('isDisjointFrom', function (other) { for (const v of this) if (other.has(v)) return false; return true; });
  Object.defineProperty(Math, 'random', { get() { throw new Error('Math.random is not available in a module: use ctx.random'); }, configurable: true });
})();
`;

export function evaluateModule(bundle: ModuleBundle, sys: SyscallImpl, opts: { evalTimeoutMs?: number } = {}): LoadedRealm {
  const moduleHooks = Symbol('SpacetimeDB.moduleHooks.v2');
  const sys20: Record<string | symbol, unknown> = { moduleHooks, register_hooks: () => undefined };
  for (const name of SYSCALLS_2_0) sys20[name] = (...args: unknown[]) => sys[name](...args);
  const sys21: Record<string, unknown> = {};
  for (const name of SYSCALLS_2_1) sys21[name] = (...args: unknown[]) => sys[name](...args);

  const context = vm.createContext({
    TextEncoder,
    TextDecoder,
    [SYS_GLOBAL]: { '2.0': sys20, '2.1': sys21 },
  });
  vm.runInContext(REALM_PRELUDE, context, { filename: 'spacetime-host:prelude.js' });
  vm.runInContext(bundle.code, context, { filename: bundle.entry, timeout: opts.evalTimeoutMs ?? 10_000 });
  const ns = context[MODULE_GLOBAL] as Record<string, any> | undefined;
  if (!ns || typeof ns !== 'object') throw new Error('module bundle did not produce an export namespace');
  const schema = ns.default;
  if (!schema || typeof schema[moduleHooks] !== 'function') {
    throw new Error('module has no default export from schema({...}); is it a spacetimedb/server module?');
  }
  const hooks = schema[moduleHooks](ns) as ModuleHooks;
  let depth = 0;
  const invoke = <T>(fn: () => T, budgetMs: number): T => {
    // Nested calls (a view materialised while a call runs) share the outer budget.
    if (depth > 0 || budgetMs <= 0) return fn();
    let result: T;
    context.__spacetime_host_invoke__ = () => {
      result = fn();
    };
    depth++;
    try {
      INVOKE_SCRIPT.runInContext(context, { timeout: budgetMs });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new ReducerTimeoutError(`module call exceeded its time budget of ${budgetMs} ms`);
      }
      throw e;
    } finally {
      depth--;
      context.__spacetime_host_invoke__ = undefined;
    }
    return result!;
  };
  return { hooks, context, DataView: vm.runInContext('DataView', context) as DataViewConstructor, invoke };
}
