// The inbox alone: items of one turn are handled in order, runs of calls go to the module as one
// batch, and an undone batch's calls run again one by one. The module is a recorder of batches.
import { describe, expect, it } from 'vitest';
import { Inbox } from '../../src/server/inbox';
import type { BatchOutcome } from '../../src/module/host';

type Item = { id: string; call: boolean };
const call = (id: string): Item => ({ id, call: true });
const other = (id: string): Item => ({ id, call: false });

function setup(opts: { undo?: (batch: number) => boolean; budgetMs?: number } = {}) {
  const log: string[] = [];
  const turn: (() => void)[] = [];
  let batches = 0;
  const module = {
    callBudgetMs: opts.budgetMs ?? 1000,
    runBatch<T>(work: () => T): BatchOutcome<T> {
      const n = ++batches;
      log.push(`begin ${n}`);
      const value = work();
      if (opts.undo?.(n)) {
        log.push(`undo ${n}`);
        return { ok: false, reason: 'budget' };
      }
      log.push(`end ${n}`);
      return { ok: true, value };
    },
  };
  const inbox = new Inbox<Item>({ module, isCall: (i) => i.call, handle: (i) => void log.push(i.id), schedule: (fn) => void turn.push(fn) });
  const endTurn = () => {
    for (const fn of turn.splice(0)) fn();
  };
  return { inbox, log, endTurn };
}

describe('Inbox', () => {
  it('handles a turn in arrival order, runs of two or more calls as one batch', () => {
    const { inbox, log, endTurn } = setup();
    inbox.push([call('c1'), other('s1'), call('c2'), call('c3')]);
    inbox.push([other('s2')]);
    expect(log).toEqual([]);
    endTurn();
    expect(log).toEqual(['c1', 's1', 'begin 1', 'c2', 'c3', 'end 1', 's2']);
  });

  it('runs an undone batch again one call at a time', () => {
    const { inbox, log, endTurn } = setup({ undo: (n) => n === 1 });
    inbox.push([call('c1'), call('c2')]);
    endTurn();
    expect(log).toEqual(['begin 1', 'c1', 'c2', 'undo 1', 'c1', 'c2']);
  });

  it('does not batch without a budget', () => {
    const { inbox, log, endTurn } = setup({ budgetMs: 0 });
    inbox.push([call('c1'), call('c2')]);
    endTurn();
    expect(log).toEqual(['c1', 'c2']);
  });

  it('drainIfHolding handles what is queued now, and only when it holds a matching item', () => {
    const { inbox, log, endTurn } = setup();
    inbox.push([other('a')]);
    inbox.drainIfHolding((i) => i.id === 'zzz');
    expect(log).toEqual([]);
    inbox.drainIfHolding((i) => i.id === 'a');
    expect(log).toEqual(['a']);
    endTurn();
    expect(log).toEqual(['a']);
  });
});
