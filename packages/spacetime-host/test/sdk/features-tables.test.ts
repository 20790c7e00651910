// Table and index semantics through reducers called by the real SDK: btree (single and
// multi-column, prefix and range scans with every bound kind, UTF-8 string order), hash and
// direct indexes, unique constraints, updates, deletes, clear, auto-inc and large rows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../src/index';
import type { ItemInput } from '../fixtures/features/module_bindings/types';
import { connect, rejection, startFeaturesHost, subscribe, type Client } from './features-helpers';
import { until } from './helpers';

const FATAL = 'The instance encountered a fatal error.';

let host: RunningHost;
let a: Client;
let b: Client;

const inc = <T>(value: T) => ({ tag: 'Included' as const, value });
const exc = <T>(value: T) => ({ tag: 'Excluded' as const, value });
const unb = { tag: 'Unbounded' as const };

function item(code: string, name: string, category: string, rank: number, kind: string, slot: number): ItemInput {
  return { code, name, category, rank, kind, slot };
}

/** Insert items in order; returns code → id as the module reported it (auto-inc write-back). */
async function seed(items: ItemInput[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const it of items) {
    await a.conn.reducers.addItem({ item: it });
    ids.set(it.code, probe(`inserted:${it.code}`)![0]!);
  }
  return ids;
}

const probe = (label: string): number[] | undefined => a.conn.db.probe.label.find(label)?.ids;
const probeNote = (label: string): string | undefined => a.conn.db.probe.label.find(label)?.note;

/** Translate ids the module recorded back to item codes, keeping the module's order. */
function codesOf(label: string, ids: Map<string, number>): string[] {
  const byId = new Map([...ids].map(([code, id]) => [id, code]));
  const recorded = probe(label);
  if (!recorded) throw new Error(`no probe result ${label}`);
  return recorded.map((id) => byId.get(id) ?? `?${id}`);
}

beforeAll(async () => {
  host = await startFeaturesHost();
  a = await connect(host);
  b = await connect(host);
  await subscribe(a.conn, ['SELECT * FROM item', 'SELECT * FROM probe', 'SELECT * FROM big_row']);
  await subscribe(b.conn, ['SELECT * FROM item']);
});
afterAll(async () => {
  a?.conn.disconnect();
  b?.conn.disconnect();
  await host?.close();
});
beforeEach(async () => {
  await a.conn.reducers.clearItems({ label: 'reset' });
});

// Names chosen so UTF-8 byte order differs from JS (UTF-16) order: U+1F600 encodes as a
// surrogate pair (0xD83D…) that sorts *below* U+E000 and U+FFFD in UTF-16 but above them in UTF-8.
const CATALOGUE = [
  item('c1', 'a', 'tools', 1, 'k1', 0),
  item('c2', 'z', 'tools', 5, 'k2', 3),
  item('c3', '\uFFFD', 'tools', 10, 'k1', 7),
  item('c4', '😀', 'toys', -3, 'k1', 3),
  item('c5', '\uE000', 'toys', 5, 'k3', 255),
  item('c6', 'a', 'food', 100, 'k2', 1),
];

describe('btree indexes', () => {
  it('scans a string index in UTF-8 byte order with every kind of bound', async () => {
    const ids = await seed(CATALOGUE);
    const scans: [string, Parameters<typeof a.conn.reducers.scanByName>[0]['from'], Parameters<typeof a.conn.reducers.scanByName>[0]['to'], string[]][] = [
      ['all', unb, unb, ['c1', 'c6', 'c2', 'c5', 'c3', 'c4']],
      ['z..<fffd', inc('z'), exc('\uFFFD'), ['c2', 'c5']],
      ['>z..', exc('z'), unb, ['c5', 'c3', 'c4']],
      ['..=e000', unb, inc('\uE000'), ['c1', 'c6', 'c2', 'c5']],
      ['>a..<z', exc('a'), exc('z'), []],
      ['=😀', inc('😀'), inc('😀'), ['c4']],
      ['empty: z..a', inc('z'), inc('a'), []],
    ];
    for (const [label, from, to, expected] of scans) {
      await a.conn.reducers.scanByName({ label, from, to });
      expect({ label, codes: codesOf(label, ids) }).toEqual({ label, codes: expected });
    }
    await a.conn.reducers.findByName({ label: 'point a', name: 'a' });
    expect(codesOf('point a', ids)).toEqual(['c1', 'c6']);
  });

  it('scans a two-column index by prefix, prefix + range, full key and first-column range', async () => {
    const ids = await seed(CATALOGUE);
    const ranked: [string, string, any, any, string[]][] = [
      ['tools >=5', 'tools', inc(5), unb, ['c2', 'c3']],
      ['tools (1,10)', 'tools', exc(1), exc(10), ['c2']],
      ['toys ..=5', 'toys', unb, inc(5), ['c4', 'c5']],
      ['toys all', 'toys', unb, unb, ['c4', 'c5']],
      ['nothing', 'garden', unb, unb, []],
    ];
    for (const [label, category, from, to, expected] of ranked) {
      await a.conn.reducers.scanByCategoryRank({ label, category, from, to });
      expect({ label, codes: codesOf(label, ids) }).toEqual({ label, codes: expected });
    }
    await a.conn.reducers.scanByCategory({ label: 'prefix tools', category: 'tools' });
    expect(codesOf('prefix tools', ids)).toEqual(['c1', 'c2', 'c3']);
    await a.conn.reducers.findByCategoryRank({ label: 'toys,5', category: 'toys', rank: 5 });
    expect(codesOf('toys,5', ids)).toEqual(['c5']);
    await a.conn.reducers.findByCategoryRank({ label: 'toys,6', category: 'toys', rank: 6 });
    expect(codesOf('toys,6', ids)).toEqual([]);
    await a.conn.reducers.scanByCategoryRange({ label: 'tools..', from: inc('tools'), to: unb });
    expect(codesOf('tools..', ids)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    await a.conn.reducers.scanByCategoryRange({ label: '(food,toys)', from: exc('food'), to: exc('toys') });
    expect(codesOf('(food,toys)', ids)).toEqual(['c1', 'c2', 'c3']);
  });
});

describe('hash and direct indexes', () => {
  it('looks up a hash index by point and refuses a range scan on it', async () => {
    const ids = await seed(CATALOGUE);
    await a.conn.reducers.findByKind({ label: 'k1', kind: 'k1' });
    expect(codesOf('k1', ids).sort()).toEqual(['c1', 'c3', 'c4']);
    await a.conn.reducers.findByKind({ label: 'k9', kind: 'k9' });
    expect(codesOf('k9', ids)).toEqual([]);
    // The module calls datastore_index_scan_range_bsatn on the hash index and reports the error class.
    expect(await rejection(a.conn.reducers.hashRangeScan({}))).toMatch(/^SpacetimeHostError: .*range/);
  });

  it('scans a direct (u8) index by point and by range', async () => {
    const ids = await seed(CATALOGUE);
    await a.conn.reducers.scanBySlot({ label: 'slot 3..=7', from: inc(3), to: inc(7) });
    expect(codesOf('slot 3..=7', ids)).toEqual(['c2', 'c4', 'c3']);
    await a.conn.reducers.scanBySlot({ label: 'slot >0', from: exc(0), to: unb });
    expect(codesOf('slot >0', ids)).toEqual(['c6', 'c2', 'c4', 'c3', 'c5']);
    await a.conn.reducers.findBySlot({ label: 'slot 3', slot: 3 });
    expect(codesOf('slot 3', ids)).toEqual(['c2', 'c4']);
  });
});

describe('unique constraints, auto-inc and updates', () => {
  it('writes the assigned id back into the inserted row', async () => {
    const ids = await seed(CATALOGUE.slice(0, 2));
    const rows = [...a.conn.db.item.iter()];
    for (const [code, id] of ids) expect(rows.find((r) => r.code === code)?.id).toBe(id);
    expect(ids.get('c2')).toBe(ids.get('c1')! + 1);
  });

  it('fails an uncaught duplicate without committing anything, and lets a reducer catch it', async () => {
    const ids = await seed(CATALOGUE.slice(0, 2));
    const bSawInsert: string[] = [];
    const onInsert = (_ctx: unknown, row: { code: string }) => void bSawInsert.push(row.code);
    b.conn.db.item.onInsert(onInsert);

    expect(await rejection(a.conn.reducers.addItem({ item: item('c1', 'dup', 'x', 0, 'k', 0) }))).toBe(FATAL);
    // The first insert of the failing call is rolled back with it.
    expect(await rejection(a.conn.reducers.addTwoItems({ first: item('n1', 'new', 'x', 0, 'k', 0), second: item('c2', 'dup', 'x', 0, 'k', 0) }))).toBe(FATAL);
    expect([...a.conn.db.item.iter()].map((r) => r.code).sort()).toEqual(['c1', 'c2']);
    // Ids consumed by the rolled-back inserts are never handed out again.
    const [next] = (await seed([item('c7', 'later', 'x', 0, 'k', 0)])).values();
    expect(next).toBeGreaterThan(ids.get('c2')! + 1);

    await a.conn.reducers.addItemOrNote({ item: item('c1', 'dup', 'x', 0, 'k', 0) });
    expect(probeNote('add-or-note:c1')).toBe('caught UniqueAlreadyExists');
    await a.conn.reducers.addItemOrNote({ item: item('n2', 'fresh', 'x', 0, 'k', 0) });
    expect(probeNote('add-or-note:n2')).toBe('inserted');
    await until(() => bSawInsert.includes('n2'), 'b sees the committed insert');
    expect(bSawInsert).toEqual(['c7', 'n2']);
    b.conn.db.item.removeOnInsert(onInsert);
  });

  it('updates through the primary key (others see onUpdate) and refuses to update a missing row', async () => {
    const ids = await seed(CATALOGUE);
    const updates: [string, string][] = [];
    const onUpdate = (_ctx: unknown, before: { name: string }, after: { name: string }) => void updates.push([before.name, after.name]);
    b.conn.db.item.onUpdate(onUpdate);
    const c1 = ids.get('c1')!;
    await a.conn.reducers.renameItem({ id: c1, name: 'renamed' });
    expect(a.conn.db.item.id.find(c1)?.name).toBe('renamed');
    expect(probeNote(`renamed:${c1}`)).toBe('renamed');
    await until(() => updates.length === 1, 'b sees the update');
    expect(updates).toEqual([['a', 'renamed']]);
    b.conn.db.item.removeOnUpdate(onUpdate);
    // The name index follows the update.
    await a.conn.reducers.findByName({ label: 'after rename: a', name: 'a' });
    expect(codesOf('after rename: a', ids)).toEqual(['c6']);
    await a.conn.reducers.findByName({ label: 'after rename: renamed', name: 'renamed' });
    expect(codesOf('after rename: renamed', ids)).toEqual(['c1']);

    expect(await rejection(a.conn.reducers.updateMissingItem({ id: 999_999 }))).toMatch(/^NoSuchRow: /);
  });

  it('enforces other unique columns on update, ignoring the row being replaced', async () => {
    const ids = await seed(CATALOGUE.slice(0, 2));
    const c1 = ids.get('c1')!;
    expect(await rejection(a.conn.reducers.setItemCode({ id: c1, code: 'c2' }))).toMatch(/^UniqueAlreadyExists: /);
    await a.conn.reducers.setItemCode({ id: c1, code: 'c1' });
    await a.conn.reducers.setItemCode({ id: c1, code: 'c1-new' });
    await a.conn.reducers.findByCode({ label: 'code c1', code: 'c1' });
    expect(probe('code c1')).toEqual([]);
    await a.conn.reducers.findByCode({ label: 'code c1-new', code: 'c1-new' });
    expect(probe('code c1-new')).toEqual([c1]);
    // The freed code can be taken by another row.
    await a.conn.reducers.setItemCode({ id: ids.get('c2')!, code: 'c1' });
    expect([...a.conn.db.item.iter()].map((r) => r.code).sort()).toEqual(['c1', 'c1-new']);
  });
});

describe('set semantics', () => {
  it('treats inserting a byte-identical row as a no-op, but a different row with the same key as a duplicate', async () => {
    await subscribe(a.conn, ['SELECT * FROM topic']);
    await a.conn.reducers.addTopic({ id: 7, title: 'same', featured: false });
    await a.conn.reducers.addTopic({ id: 7, title: 'same', featured: false });
    expect([...a.conn.db.topic.iter()].filter((t) => t.id === 7)).toHaveLength(1);
    expect(await rejection(a.conn.reducers.addTopic({ id: 7, title: 'different', featured: false }))).toBe(FATAL);
    expect(a.conn.db.topic.id.find(7)?.title).toBe('same');
  });

  it('sends nothing for an update that changes nothing', async () => {
    await subscribe(b.conn, ['SELECT * FROM topic']);
    await a.conn.reducers.addTopic({ id: 8, title: 'eight', featured: true });
    await until(() => Boolean(b.conn.db.topic.id.find(8)), 'b sees topic 8');
    const seen: string[] = [];
    const onUpdate = (_ctx: unknown, _before: { id: number }, after: { id: number }) => void seen.push(`update ${after.id}`);
    const onInsert = (_ctx: unknown, row: { id: number }) => void seen.push(`insert ${row.id}`);
    b.conn.db.topic.onUpdate(onUpdate);
    b.conn.db.topic.onInsert(onInsert);
    await a.conn.reducers.setFeatured({ id: 8, featured: true });
    await a.conn.reducers.addTopic({ id: 9, title: 'sentinel', featured: false });
    await until(() => seen.includes('insert 9'), 'b sees the sentinel');
    expect(seen).toEqual(['insert 9']);
    b.conn.db.topic.removeOnUpdate(onUpdate);
    b.conn.db.topic.removeOnInsert(onInsert);
  });
});

describe('deletes and clear', () => {
  it('deletes by btree point, by multi-column range, by direct range, by unique key and by value', async () => {
    const ids = await seed(CATALOGUE);
    const remaining = () => [...a.conn.db.item.iter()].map((r) => r.code).sort();
    await a.conn.reducers.deleteByName({ label: 'del z', name: 'z' });
    expect(probe('del z')).toEqual([1]);
    await a.conn.reducers.deleteByRankRange({ label: 'del toys <5', category: 'toys', from: unb, to: exc(5) });
    expect(probe('del toys <5')).toEqual([1]);
    expect(remaining()).toEqual(['c1', 'c3', 'c5', 'c6']);
    await a.conn.reducers.deleteBySlotRange({ label: 'del slot >=200', from: inc(200), to: unb });
    expect(probe('del slot >=200')).toEqual([1]);
    await a.conn.reducers.deleteByCode({ label: 'del c3', code: 'c3' });
    expect(probe('del c3')).toEqual([1]);
    await a.conn.reducers.deleteByCode({ label: 'del c3 again', code: 'c3' });
    expect(probe('del c3 again')).toEqual([0]);
    await a.conn.reducers.deleteItemValue({ label: 'del value c6', id: ids.get('c6')! });
    expect(probe('del value c6')).toEqual([1, 0]);
    expect(remaining()).toEqual(['c1']);
    await until(() => b.conn.db.item.count() === 1n, 'b sees the deletes');
  });

  it('clears a table (ABI 2.1) and reports how many rows went', async () => {
    await seed(CATALOGUE);
    await a.conn.reducers.clearItems({ label: 'clear' });
    expect(probe('clear')).toEqual([6, 6, 0]);
    expect(a.conn.db.item.count()).toBe(0n);
    await until(() => b.conn.db.item.count() === 0n, 'b sees the table emptied');
  });

  it('deletes rows while iterating the table and an index scan (iterators are snapshots)', async () => {
    await seed([
      item('d1', 'n1', 'x', -1, 'k', 10),
      item('d2', 'n2', 'x', 5, 'k', 20),
      item('d3', 'n3', 'x', 2000, 'k', 30),
      item('d4', 'n4', 'x', -2, 'k', 40),
      item('d5', 'n5', 'x', 3000, 'k', 50),
    ]);
    await a.conn.reducers.deleteWhileIterating({ label: 'iterate+delete' });
    // First pass visits all 5 and deletes 2; the index pass visits the 3 left and deletes 2.
    expect(probe('iterate+delete')).toEqual([8, 4, 1]);
    expect([...a.conn.db.item.iter()].map((r) => r.code)).toEqual(['d2']);
  });
});

describe('large rows', () => {
  it('iterates rows larger than the module iterator buffer and delivers them to subscribers', async () => {
    await a.conn.reducers.putBigRow({ id: 1, size: 70_000 });
    await a.conn.reducers.putBigRow({ id: 2, size: 200_000 });
    await a.conn.reducers.putBigRow({ id: 3, size: 10 });
    await a.conn.reducers.measureBigRows({ label: 'big' });
    expect(probe('big')).toEqual([70_000, 200_000, 10, 200_000]);
    expect([...a.conn.db.bigRow.iter()].map((r) => [r.id, r.payload.length, r.payload.slice(0, 3)])).toEqual([
      [1, 70_000, '1:x'],
      [2, 200_000, '2:x'],
      [3, 10, '3:x'],
    ]);
  });
});
