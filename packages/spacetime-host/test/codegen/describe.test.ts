// describeModule: the SATS-JSON RawModuleDefV10 that `spacetime describe --json` prints.
import { beforeAll, describe, expect, it } from 'vitest';
import { describeModule, type Json } from '../../src/codegen/describe';
import type { Catalog } from '../../src/module/catalog';
import { loadModuleCatalog } from '../../src/module/describe';
import { fixturePath, KITCHEN_SINK } from './harness';

let allTypes: Catalog;
let kitchenSink: Catalog;
let noCasePolicy: Catalog;
beforeAll(async () => {
  allTypes = await loadModuleCatalog(fixturePath('all-types'));
  kitchenSink = await loadModuleCatalog(KITCHEN_SINK);
  noCasePolicy = await loadModuleCatalog(fixturePath('no-case-policy'));
});

const sectionOf = (doc: { sections: Json[] }, tag: string): any => {
  const found = doc.sections.find((s) => Object.keys(s as object)[0] === tag) as Record<string, Json> | undefined;
  return found?.[tag];
};
const rowElements = (doc: { sections: Json[] }, ref: number): any[] => sectionOf(doc, 'Typespace').types[ref].Product.elements;

describe('describeModule', () => {
  it('is plain JSON with the sections in upstream order', () => {
    const doc = describeModule(allTypes);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(doc.sections.map((s) => Object.keys(s as object)[0])).toEqual([
      'Typespace',
      'Types',
      'Tables',
      'Reducers',
      'Procedures',
      'Views',
      'ViewPrimaryKeys',
      'Schedules',
      'LifeCycleReducers',
      'ExplicitNames',
    ]);
  });

  it('case-converts the typespace: snake_case fields, camelCase variants, special types untouched', () => {
    const doc = describeModule(allTypes);
    const everything = allTypes.tableByName.get('everything')!;
    const els = rowElements(doc, everything.rowTypeRef);
    expect(els.map((e) => e.name.some)).toEqual(everything.columns.map((c) => c.name));
    expect(els.find((e) => e.name.some === 'tiny_signed').algebraic_type).toEqual({ I8: [] });
    expect(els.find((e) => e.name.some === 'owner').algebraic_type).toEqual({
      Product: { elements: [{ name: { some: '__identity__' }, algebraic_type: { U256: [] } }] },
    });
    expect(els.find((e) => e.name.some === 'maybe_name').algebraic_type).toEqual({
      Sum: {
        variants: [
          { name: { some: 'some' }, algebraic_type: { String: [] } },
          { name: { some: 'none' }, algebraic_type: { Product: { elements: [] } } },
        ],
      },
    });
    expect(els.find((e) => e.name.some === 'blob').algebraic_type).toEqual({ Array: { U8: [] } });
    expect(els.find((e) => e.name.some === 'color').algebraic_type).toEqual({ Ref: allTypes.typeNames.find((n) => n.name === 'Color')!.ty });
  });

  it('describes tables with generated names, sorted indexes, constraints, sequences, access and event flag', () => {
    const tables = sectionOf(describeModule(allTypes), 'Tables') as any[];
    expect(tables.map((t) => t.source_name)).toEqual(['everything', 'grid_cell', 'secret', 'damage_event', 'tick_timer', 'score']);
    const grid = tables[1];
    expect(grid.indexes).toEqual([
      { source_name: { some: 'grid_cell_cellId_idx_btree' }, accessor_name: { some: 'cellId' }, algorithm: { BTree: [0] } },
      { source_name: { some: 'grid_cell_code_idx_btree' }, accessor_name: { some: 'code' }, algorithm: { BTree: [5] } },
      { source_name: { some: 'grid_cell_kind_idx_hash' }, accessor_name: { some: 'byKind' }, algorithm: { Hash: [3] } },
      { source_name: { some: 'grid_cell_slot_idx_direct' }, accessor_name: { some: 'bySlot' }, algorithm: { Direct: 4 } },
      { source_name: { some: 'grid_cell_x_y_idx_btree' }, accessor_name: { some: 'byXY' }, algorithm: { BTree: [1, 2] } },
    ]);
    expect(grid.constraints).toEqual([
      { source_name: { some: 'grid_cell_cell_id_key' }, data: { Unique: { columns: [0] } } },
      { source_name: { some: 'grid_cell_code_key' }, data: { Unique: { columns: [5] } } },
    ]);
    expect(grid.primary_key).toEqual([0]);
    expect(grid.table_type).toEqual({ User: [] });
    expect(tables[0].sequences).toEqual([
      { source_name: { some: 'everything_id_seq' }, column: 0, start: { none: [] }, min_value: { none: [] }, max_value: { none: [] }, increment: 1 },
    ]);
    expect(tables[2].table_access).toEqual({ Private: [] });
    expect(tables[0].table_access).toEqual({ Public: [] });
    expect(tables[3].is_event).toBe(true);
    expect(tables[0].is_event).toBe(false);
  });

  it('marks lifecycle and scheduled functions private and lists schedules and lifecycles by canonical name', () => {
    const doc = describeModule(allTypes);
    const reducers = sectionOf(doc, 'Reducers') as any[];
    const visibility = Object.fromEntries(reducers.map((r) => [r.source_name, Object.keys(r.visibility)[0]]));
    expect(visibility).toEqual({
      init: 'Private',
      noArgs: 'ClientCallable',
      onConnect: 'Private',
      renameCell: 'ClientCallable',
      setEverything: 'ClientCallable',
      tick: 'Private',
    });
    expect(reducers.find((r) => r.source_name === 'renameCell').params.elements.map((e: any) => e.name.some)).toEqual(['cellId', 'newKind']);
    expect(sectionOf(doc, 'Schedules')).toEqual([{ source_name: { some: 'tick_timer_sched' }, table_name: 'tick_timer', schedule_at_col: 1, function_name: 'tick' }]);
    expect(sectionOf(doc, 'LifeCycleReducers')).toEqual([
      { lifecycle_spec: { Init: [] }, function_name: 'init' },
      { lifecycle_spec: { OnConnect: [] }, function_name: 'on_connect' },
    ]);
    expect((sectionOf(doc, 'Procedures') as any[]).map((p) => [p.source_name, p.return_type])).toEqual([
      ['serverTime', { U64: [] }],
      [
        'sumPoints',
        {
          Sum: {
            variants: [
              { name: { some: 'some' }, algebraic_type: { Ref: allTypes.typeNames.find((n) => n.name === 'Point')!.ty } },
              { name: { some: 'none' }, algebraic_type: { Product: { elements: [] } } },
            ],
          },
        },
      ],
    ]);
  });

  it('describes views with their hook index, kind and canonical primary-key column', () => {
    const doc = describeModule(allTypes);
    expect((sectionOf(doc, 'Views') as any[]).map((v) => [v.source_name, v.index, v.is_anonymous, v.is_public])).toEqual([
      ['all_cells', 0, true, true],
      ['myScore', 0, false, true],
    ]);
    expect(sectionOf(doc, 'ViewPrimaryKeys')).toEqual([
      { view_source_name: 'all_cells', columns: ['cell_id'] },
      { view_source_name: 'myScore', columns: ['player'] },
    ]);
  });

  it('keeps every canonical name as an explicit name and Pascal-cases type names', () => {
    const doc = describeModule(allTypes);
    const entries = sectionOf(doc, 'ExplicitNames').entries as any[];
    expect(entries).toContainEqual({ Table: { source_name: 'score', canonical_name: 'HighScore' } });
    expect(entries).toContainEqual({ Table: { source_name: 'grid_cell', canonical_name: 'grid_cell' } });
    expect(entries).toContainEqual({ Function: { source_name: 'renameCell', canonical_name: 'RenameTheCell' } });
    expect(entries).toContainEqual({ Function: { source_name: 'myScore', canonical_name: 'my_score' } });
    expect(entries).toHaveLength(allTypes.tables.length + allTypes.reducers.length + allTypes.procedures.length + allTypes.views.length);
    expect((sectionOf(doc, 'Types') as any[]).map((t) => t.source_name.source_name)).toContain('TreeNode');
  });

  it('leaves names alone when the module turns case conversion off', () => {
    const doc = describeModule(noCasePolicy);
    const table = noCasePolicy.tables[0]!;
    expect(rowElements(doc, table.rowTypeRef).map((e) => e.name.some)).toEqual(['profileId', 'displayName', 'score_total']);
    expect((sectionOf(doc, 'Tables') as any[])[0].constraints[0].source_name).toEqual({ some: 'userProfiles_profileId_key' });
  });

  it('describes the kitchen-sink multi-column index under its source name', () => {
    const tables = sectionOf(describeModule(kitchenSink), 'Tables') as any[];
    expect(tables[0].indexes).toContainEqual({ source_name: { some: 'person_age_name_idx_btree' }, accessor_name: { some: 'by_age_name' }, algorithm: { BTree: [2, 1] } });
    expect(sectionOf(describeModule(kitchenSink), 'Schedules')).toBeUndefined();
  });
});
