// The FileSession engine against an in-memory world with the module's line-ops rules, with
// delivery order chosen by each test: coalescing, one batch in flight, merging concurrent edits
// on other lines, same-line conflicts that keep the user's text, undo/redo, retries, bad input.
import { describe, expect, it } from 'vitest';
import { FileSession, type FileConflict } from '../../src/core/files/index';
import { ManualTimers, MemoryFileWorld, MemoryTransport } from '../support/file-world';

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function open(world: MemoryFileWorld, actor: string, timers: ManualTimers, auto = false) {
  const transport = new MemoryTransport(world, actor, auto);
  let n = 0;
  const session = new FileSession({
    head: { version: world.version, content: world.content },
    transport,
    timers,
    clock: timers.clock,
    coalesceMs: 20,
    newOpId: () => `${actor}-${++n}`,
  });
  return { transport, session };
}

/** Types `text` at `at`, one character per edit, like keystrokes. */
function type(session: FileSession, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) expect(session.edit([{ from: at + i, to: at + i, insert: text[i]! }])).toEqual({ ok: true });
}

describe('FileSession', () => {
  it('coalesces keystrokes into one batch and keeps at most one in flight', async () => {
    const world = new MemoryFileWorld('alpha\nbeta');
    const timers = new ManualTimers();
    const { transport, session } = open(world, 'a', timers);
    type(session, 5, ' one');
    expect(transport.sent).toHaveLength(0);
    timers.advance(20);
    expect(transport.sent).toEqual([{ opId: 'a-1', baseVersion: 0, ops: [{ kind: 'replace', start: 0, deleteCount: 1, lines: ['alpha one'] }] }]);

    // More typing while the first batch is in flight waits for it.
    type(session, session.text.length, '!');
    timers.advance(100);
    expect(transport.sent).toHaveLength(1);
    expect(session.state).toBe('pending');

    transport.deliverCalls();
    transport.deliverResults();
    await settle();
    expect(transport.sent).toHaveLength(1); // the result alone does not confirm: the row does
    transport.deliverRows();
    expect(session.version).toBe(1);
    expect(transport.sent[1]).toEqual({ opId: 'a-2', baseVersion: 1, ops: [{ kind: 'replace', start: 1, deleteCount: 1, lines: ['beta!'] }] });
    transport.deliverCalls();
    transport.deliverRows();
    expect(session.state).toBe('synced');
    expect(world.content).toBe('alpha one\nbeta!');
    expect(session.text).toBe(world.content);
  });

  it('merges concurrent edits on other lines into both documents without losing a keystroke', async () => {
    const world = new MemoryFileWorld('one\ntwo\nthree\nfour\nfive');
    const timers = new ManualTimers();
    const a = open(world, 'a', timers);
    const b = open(world, 'b', timers);
    const remote: string[] = [];
    a.session.onChange((changes, origin) => origin === 'remote' && remote.push(JSON.stringify(changes)));

    type(a.session, 3, ' A'); // line 0
    timers.advance(20);
    type(b.session, b.session.text.length, ' B'); // line 4
    timers.advance(20);
    // a keeps typing on line 0 (unsent) while b's batch lands first.
    type(a.session, 5, 'a');
    b.transport.deliverCalls();
    b.transport.deliverResults();
    a.transport.deliverRows();
    b.transport.deliverRows();
    expect(a.session.text).toBe('one Aa\ntwo\nthree\nfour\nfive B');
    expect(remote).toEqual([JSON.stringify([{ from: 22, to: 26, insert: 'five B' }])]);

    a.transport.deliverCalls(); // a's stale batch (base 0) is rebased by the world
    a.transport.deliverResults();
    await settle();
    a.transport.deliverRows();
    b.transport.deliverRows();
    timers.advance(20);
    a.transport.deliverCalls();
    a.transport.deliverRows();
    b.transport.deliverRows();
    expect(world.content).toBe('one Aa\ntwo\nthree\nfour\nfive B');
    expect(a.session.text).toBe(world.content);
    expect(b.session.text).toBe(world.content);
    expect(world.tickets).toHaveLength(0);
    expect(a.session.state).toBe('synced');
  });

  it('turns a same-line collision into a conflict that keeps the user text, then returns to head', async () => {
    const world = new MemoryFileWorld('shared line\nother');
    const timers = new ManualTimers();
    const a = open(world, 'a', timers);
    const b = open(world, 'b', timers);
    const conflicts: FileConflict[] = [];
    b.session.onConflict((conflict) => conflicts.push(conflict));

    type(a.session, 0, 'A:');
    type(b.session, 0, 'B:');
    timers.advance(20);
    a.transport.deliverCalls();
    a.transport.deliverResults();
    await settle();
    a.transport.deliverRows();
    // b's batch (base 0) reaches the world after a's: the world opens a ticket.
    b.transport.deliverCalls();
    b.transport.deliverResults();
    await settle();
    expect(b.session.state).toBe('conflicted');
    expect(b.session.text).toBe('B:shared line\nother'); // frozen, not overwritten
    b.transport.deliverRows();
    await settle();
    expect(world.tickets).toHaveLength(1);
    expect(world.tickets[0]!.batch.ops).toEqual([{ kind: 'replace', start: 0, deleteCount: 1, lines: ['B:shared line'] }]);
    expect(conflicts).toEqual([
      {
        ticketIds: ['t1'],
        failures: [],
        baseVersion: 0,
        base: 'shared line\nother',
        mine: 'B:shared line\nother',
        headVersion: 1,
        head: 'A:shared line\nother',
      },
    ]);
    expect(b.session.text).toBe(world.content);
    expect(b.session.state).toBe('synced');
    // Editing goes on normally afterwards.
    type(b.session, b.session.text.length, '!');
    timers.advance(20);
    b.transport.deliverCalls();
    b.transport.deliverRows();
    a.transport.deliverRows();
    expect(world.content).toBe('A:shared line\nother!');
    expect(a.session.text).toBe(world.content);
  });

  it('sends unsent work that collides with an arriving op, so the world holds a ticket for it', async () => {
    const world = new MemoryFileWorld('x\ny');
    const timers = new ManualTimers();
    const a = open(world, 'a', timers, true);
    const b = open(world, 'b', timers);
    const conflicts: FileConflict[] = [];
    b.session.onConflict((conflict) => conflicts.push(conflict));
    type(b.session, 1, 'b'); // not flushed yet
    type(a.session, 1, 'a');
    timers.advance(0);
    a.session.flush();
    await settle();
    b.transport.deliverRows(); // a's edit of line 0 arrives at b, which has unsent edits on line 0
    expect(b.session.state).toBe('conflicted');
    expect(b.transport.sent).toEqual([{ opId: 'b-1', baseVersion: 0, ops: [{ kind: 'replace', start: 0, deleteCount: 1, lines: ['xb'] }] }]);
    b.transport.deliverCalls();
    b.transport.deliverResults();
    await settle();
    expect(conflicts.map((c) => [c.ticketIds, c.mine, c.head])).toEqual([[['t1'], 'xb\ny', 'xa\ny']]);
    expect(b.session.text).toBe('xa\ny');
  });

  it('undoes and redoes only the user own edits, as new operations, across remote edits', async () => {
    const world = new MemoryFileWorld('first\nmiddle\nlast');
    const timers = new ManualTimers();
    const a = open(world, 'a', timers, true);
    const b = open(world, 'b', timers, true);
    type(a.session, a.session.text.length, ' mine');
    timers.advance(20);
    await settle();
    timers.advance(1000); // a new undo group
    type(b.session, 0, 'theirs ');
    timers.advance(20);
    await settle();
    expect(world.content).toBe('theirs first\nmiddle\nlast mine');
    a.transport.deliverRows();
    expect(a.session.text).toBe('theirs first\nmiddle\nlast mine');
    expect(a.session.undo()).toBe(true);
    expect(a.session.text).toBe('theirs first\nmiddle\nlast');
    timers.advance(20);
    await settle();
    b.transport.deliverRows();
    expect(world.content).toBe('theirs first\nmiddle\nlast');
    expect(a.session.redo()).toBe(true);
    timers.advance(20);
    await settle();
    b.transport.deliverRows();
    expect(world.content).toBe('theirs first\nmiddle\nlast mine');
    expect(b.session.text).toBe(world.content);
    expect(a.session.undo()).toBe(true);
    expect(a.session.undo()).toBe(false); // b's edit is not a's to undo
  });

  it('sends a batch again with the same op id after a retryable failure', async () => {
    const world = new MemoryFileWorld('a');
    const timers = new ManualTimers();
    const { transport, session } = open(world, 'a', timers, true);
    transport.failNext = { ok: false, code: 'offline', message: 'no link', retryable: true };
    type(session, 1, 'b');
    timers.advance(20);
    await settle();
    expect(world.version).toBe(0);
    timers.advance(250);
    await settle();
    expect(transport.sent.map((batch) => batch.opId)).toEqual(['a-1', 'a-1']);
    expect(world.content).toBe('ab');
    expect(session.state).toBe('synced');
  });

  it('keeps the text of a batch the world refuses, as a conflict with the failure', async () => {
    const world = new MemoryFileWorld('a');
    const timers = new ManualTimers();
    const { transport, session } = open(world, 'a', timers, true);
    const conflicts: FileConflict[] = [];
    session.onConflict((conflict) => conflicts.push(conflict));
    transport.failNext = { ok: false, code: 'too_large', message: 'the file is too large', retryable: false };
    type(session, 1, 'b');
    timers.advance(20);
    await settle();
    await settle();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ failures: [{ code: 'too_large', message: 'the file is too large' }], mine: 'ab', head: 'a' });
  });

  it('types into a 10,000-line file sending only the touched lines, and merges a remote edit far away', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}`);
    const world = new MemoryFileWorld(lines.join('\n'));
    const timers = new ManualTimers();
    const a = open(world, 'a', timers, true);
    const b = open(world, 'b', timers, true);
    const at = a.session.doc.line(5_001).to; // end of line 5000
    type(a.session, at, ' edited');
    type(b.session, 0, '// ');
    timers.advance(20);
    await settle();
    a.transport.deliverRows();
    b.transport.deliverRows();
    // Each batch carries the one line it changed, not the file.
    expect(a.transport.sent.map((batch) => batch.ops)).toEqual([[{ kind: 'replace', start: 5000, deleteCount: 1, lines: ['line 5000 edited'] }]]);
    expect(b.transport.sent.map((batch) => batch.ops)).toEqual([[{ kind: 'replace', start: 0, deleteCount: 1, lines: ['// line 0'] }]]);
    expect(a.session.text).toBe(world.content);
    expect(b.session.text).toBe(world.content);
    expect(world.content.split('\n')[5000]).toBe('line 5000 edited');
    expect(world.content.startsWith('// line 0\n')).toBe(true);
  });

  it('refuses bad changes with a clear error and changes nothing', () => {
    const world = new MemoryFileWorld('abc');
    const timers = new ManualTimers();
    const { session } = open(world, 'a', timers);
    expect(session.edit([{ from: 2, to: 9, insert: 'x' }])).toMatchObject({ ok: false, code: 'bad_change' });
    expect(session.edit([{ from: 2, to: 3, insert: 'x' }, { from: 0, to: 1, insert: 'y' }])).toMatchObject({ ok: false, code: 'bad_change' });
    expect(session.edit([{ from: 0, to: 0, insert: 5 as unknown as string }])).toMatchObject({ ok: false, code: 'bad_change' });
    expect(session.text).toBe('abc');
    expect(session.state).toBe('synced');
  });

  it('orders rows by version, ignores repeats, and stops on a hash that does not match', async () => {
    const world = new MemoryFileWorld('a\nb\nc');
    const timers = new ManualTimers();
    const writer = open(world, 'a', timers, true);
    type(writer.session, 1, '1');
    writer.session.flush();
    await settle();
    type(writer.session, 6, '3');
    writer.session.flush();
    await settle();
    expect(world.version).toBe(2);
    const [first, second] = world.records;

    /** A session whose incoming rows the test feeds by hand. */
    const reader = () => {
      const feed: { deliver: (ops: typeof world.records) => void } = { deliver: () => undefined };
      const session = new FileSession({
        head: { version: 0, content: 'a\nb\nc' },
        transport: { sendBatch: async () => ({ ok: true, outcome: 'applied' }), onOps: (listener) => ((feed.deliver = listener), () => undefined) },
      });
      return { session, feed };
    };
    const ordered = reader();
    ordered.feed.deliver([second!]);
    expect(ordered.session.version).toBe(0);
    ordered.feed.deliver([first!, first!]);
    expect(ordered.session.version).toBe(2);
    expect(ordered.session.text).toBe('a1\nb\nc3');

    const tampered = reader();
    tampered.feed.deliver([{ ...first!, afterHash: '0'.repeat(64) }]);
    expect(tampered.session.state).toBe('desynced');
    expect(tampered.session.edit([{ from: 0, to: 0, insert: 'x' }])).toMatchObject({ ok: false, code: 'desynced' });
  });
});
