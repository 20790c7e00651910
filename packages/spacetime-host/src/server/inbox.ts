// The inbox: client messages received in one event-loop turn, handled together in arrival order.
// Runs of reducer calls go to the module as one batch under one call budget (ModuleHost.runBatch);
// if the batch is undone (the budget ran out somewhere in it), its calls run again one by one, each
// with its own budget, so only a real runaway fails. Everything else is handled on its own.
import { performance } from 'node:perf_hooks';
import type { ModuleHost } from '../module/host';

export interface InboxOptions<T> {
  module: Pick<ModuleHost, 'runBatch' | 'callBudgetMs'>;
  /** Whether the item is a reducer call (may join a batch). */
  isCall(item: T): boolean;
  /** Handle one item; must not throw (errors are the handler's to report). */
  handle(item: T): void;
  /** How "later in this turn" is scheduled (default setImmediate). */
  schedule?: (fn: () => void) => void;
}

export class Inbox<T> {
  private items: T[] = [];
  private draining = false;
  private readonly schedule: (fn: () => void) => void;

  constructor(private readonly opts: InboxOptions<T>) {
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
  }

  push(items: T[]): void {
    if (!items.length) return;
    if (!this.items.length) this.schedule(() => this.drain());
    for (const item of items) this.items.push(item);
  }

  /** Handle now what `holds` matches, with everything before it (e.g. before its sender's close). */
  drainIfHolding(holds: (item: T) => boolean): void {
    if (!this.draining && this.items.some(holds)) this.drain();
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.items.length) {
        const items = this.items;
        this.items = [];
        let i = 0;
        while (i < items.length) {
          let j = i;
          while (j < items.length && this.opts.isCall(items[j]!)) j++;
          if (j - i < 2 || this.opts.module.callBudgetMs <= 0) this.opts.handle(items[i++]!);
          else i = this.runBatch(items, i, j);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Handle items[from..to), all reducer calls, as one batch; returns the index to go on from. */
  private runBatch(items: T[], from: number, to: number): number {
    const module = this.opts.module;
    // Stop adding calls once a quarter of the budget is used, so a slow but honest call rarely
    // runs out of time because of the calls before it (and if it does, it runs again alone).
    const softLimitMs = module.callBudgetMs / 4;
    let next = from;
    const outcome = module.runBatch(() => {
      const started = performance.now();
      while (next < to && (next === from || performance.now() - started < softLimitMs)) this.opts.handle(items[next++]!);
    });
    if (outcome.ok) return next;
    // `next` was running (or had just finished) when the budget ran out.
    const end = Math.max(Math.min(next, to), from + 1);
    for (let k = from; k < end; k++) this.opts.handle(items[k]!);
    return end;
  }
}
