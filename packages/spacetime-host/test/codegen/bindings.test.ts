// Generates bindings for every fixture module into a scratch folder, type-checks them with tsc,
// imports them and checks what the SDK builds from them against the catalog the host loaded.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCamelCase } from '../../src/codegen/case';
import { BINDINGS_SDK_VERSION, generateBindings } from '../../src/codegen/typescript';
import { writeBindings } from '../../src/codegen/write';
import type { Catalog } from '../../src/module/catalog';
import { loadModuleCatalog } from '../../src/module/describe';
import type { Ty } from '../../src/sats/types';
import { exportedNames, fixturePath, importGenerated, KITCHEN_SINK, makeWorkspace, SDK_DIR, typecheck, type Workspace } from './harness';

const FIXTURES = {
  'kitchen-sink': KITCHEN_SINK,
  basic: fixturePath('basic'),
  'case-conversion': fixturePath('case-conversion'),
  'all-types': fixturePath('all-types'),
  'no-case-policy': fixturePath('no-case-policy'),
} as const;
type FixtureName = keyof typeof FIXTURES | 'all-types-private';

let ws: Workspace;
const catalogs = {} as Record<FixtureName, Catalog>;
const dirs = {} as Record<FixtureName, string>;
let tsc: { code: number; output: string };

beforeAll(async () => {
  ws = await makeWorkspace();
  for (const [name, path] of Object.entries(FIXTURES) as [keyof typeof FIXTURES, string][]) {
    catalogs[name] = await loadModuleCatalog(path);
    dirs[name] = join(ws.root, name);
    await writeBindings(catalogs[name], dirs[name]);
  }
  catalogs['all-types-private'] = catalogs['all-types'];
  dirs['all-types-private'] = join(ws.root, 'all-types-private');
  await writeBindings(catalogs['all-types'], dirs['all-types-private'], { includePrivate: true });
  tsc = await typecheck(ws.root);
});

afterAll(async () => {
  await ws?.cleanup();
});

/** A type's wire shape with names left out (bindings rename fields), recursion marked. */
function sdkShape(t: any, ancestors: Set<unknown> = new Set()): string {
  if (ancestors.has(t)) return '<rec>';
  const inner = (list: any[]) => {
    ancestors.add(t);
    const s = list.map((m: any) => sdkShape(m.algebraicType, ancestors)).join(',');
    ancestors.delete(t);
    return s;
  };
  switch (t.tag) {
    case 'Product':
      return `(${inner(t.value.elements)})`;
    case 'Sum':
      return `<${inner(t.value.variants)}>`;
    case 'Array':
      return `[${sdkShape(t.value, ancestors)}]`;
    case 'Ref':
      throw new Error('client type builders should not contain refs');
    default:
      return t.tag;
  }
}

function tyShape(ty: Ty, ancestors: Set<unknown> = new Set()): string {
  if (ancestors.has(ty)) return '<rec>';
  const inner = (list: { ty: Ty }[]) => {
    ancestors.add(ty);
    const s = list.map((m) => tyShape(m.ty, ancestors)).join(',');
    ancestors.delete(ty);
    return s;
  };
  switch (ty.kind) {
    case 'Product':
      return `(${inner(ty.elements)})`;
    case 'Sum':
      return `<${inner(ty.variants)}>`;
    case 'Array':
      return `[${tyShape(ty.elem, ancestors)}]`;
    default:
      return ty.kind;
  }
}

it('writes the SDK version it targets into the bindings, and it is the installed SDK', async () => {
  const sdk = JSON.parse(await readFile(join(SDK_DIR, 'package.json'), 'utf8')) as { version: string };
  expect(BINDINGS_SDK_VERSION).toBe(sdk.version);
  expect(await readFile(join(dirs.basic, 'index.ts'), 'utf8')).toContain(`cliVersion: "${sdk.version}"`);
});

it('type-checks every generated file with tsc (strict, Bundler resolution)', () => {
  expect(tsc.output).toBe('');
  expect(tsc.code).toBe(0);
});

it('generates the same files twice in the same order (deterministic)', () => {
  for (const name of Object.keys(FIXTURES) as (keyof typeof FIXTURES)[]) {
    const a = generateBindings(catalogs[name]);
    const b = generateBindings(catalogs[name]);
    expect([...a.keys()]).toEqual([...a.keys()].sort());
    expect([...b.entries()]).toEqual([...a.entries()]);
  }
});

describe.each(Object.keys(FIXTURES) as (keyof typeof FIXTURES)[])('bindings for %s', (name) => {
  const load = () => importGenerated(join(dirs[name], 'index.ts'));

  it('index.ts exports the connection classes, query builder, reducers and procedures', async () => {
    const mod = await load();
    expect(exportedNames(await readFile(join(dirs[name], 'index.ts'), 'utf8'))).toEqual(
      expect.arrayContaining([
        'DbConnection',
        'DbConnectionBuilder',
        'ErrorContext',
        'EventContext',
        'ReducerEventContext',
        'SubscriptionBuilder',
        'SubscriptionEventContext',
        'SubscriptionHandle',
        'procedures',
        'reducers',
        'tables',
      ]),
    );
    expect(typeof mod.DbConnection.builder).toBe('function');
    expect(mod.DbConnection.builder()).toBeInstanceOf(mod.DbConnectionBuilder);
    expect(typeof mod.SubscriptionBuilder).toBe('function');
  });

  it('has one query-builder table per public table and view, with the catalog names', async () => {
    const { tables } = await load();
    const catalog = catalogs[name];
    const expected = [
      ...catalog.tables.filter((t) => t.isPublic).map((t) => ({ key: toCamelCase(t.sourceName), name: t.name, columns: t.columns.map((c) => c.name), rowTy: t.rowTy })),
      ...catalog.views.map((v) => ({ key: toCamelCase(v.sourceName), name: v.name, columns: v.columns.map((c) => c.name), rowTy: v.rowTy })),
    ];
    // The module's own accessor stays available as a deprecated alias when camelCase changes it.
    const sources = [...catalog.tables.filter((t) => t.isPublic), ...catalog.views].map((t) => t.sourceName);
    const aliases = sources.filter((s) => s !== toCamelCase(s) && !expected.some((e) => e.key === s));
    expect(Object.keys(tables).sort()).toEqual([...expected.map((e) => e.key), ...aliases].sort());
    for (const alias of aliases) expect(tables[alias]).toBe(tables[toCamelCase(alias)]);
    for (const e of expected) {
      const ref = tables[e.key];
      expect(ref.sourceName, e.key).toBe(e.name);
      const canonicalColumns = Object.entries(ref.columns as Record<string, any>).map(([key, col]) => col.columnMetadata.name ?? key);
      expect(canonicalColumns, e.key).toEqual(e.columns);
      expect(sdkShape(ref.rowType.algebraicType ?? { tag: 'Product', value: ref.rowType }), e.key).toBe(tyShape(e.rowTy));
    }
    for (const hidden of catalog.tables.filter((t) => !t.isPublic)) expect(tables[toCamelCase(hidden.sourceName)]).toBeUndefined();
  });

  it('declares every accessor-named index and unique constraint of each table', async () => {
    const { tables } = await load();
    for (const t of catalogs[name].tables.filter((x) => x.isPublic)) {
      const ref = tables[toCamelCase(t.sourceName)];
      const camelCol = (c: number) => toCamelCase(t.columns[c]!.sourceName);
      const expectedIndexes = t.indexes
        .filter((ix) => ix.accessorName !== undefined)
        .map((ix) => ({ accessor: ix.accessorName, name: ix.name, columns: ix.columns.map(camelCol) }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(
        (ref.indexes as any[]).map((ix) => ({ accessor: ix.accessor, name: ix.name, columns: ix.columns })),
        t.name,
      ).toEqual(expectedIndexes);
      // The SDK adds an unnamed unique constraint of its own for a `.primaryKey()` column.
      const named = (ref.constraints as any[]).filter((c) => c.name !== undefined);
      expect(named.map((c) => c.name).sort(), t.name).toEqual(t.uniqueConstraints.map((c) => c.name).sort());
      expect(Boolean(ref.tableDef.isEvent), t.name).toBe(t.isEvent);
    }
  });

  it('lists exactly the client-callable reducers and procedures, by canonical name', async () => {
    const mod = await load();
    const catalog = catalogs[name];
    const reducers = Object.values(mod.reducers as Record<string, any>);
    expect(reducers.map((r) => r.name)).toEqual(catalog.reducers.filter((r) => r.clientCallable).map((r) => r.name));
    for (const r of reducers) {
      const def = catalog.reducerByName.get(r.name)!;
      expect(r.accessorName).toBe(toCamelCase(r.name));
      expect(sdkShape({ tag: 'Product', value: r.paramsType }), r.name).toBe(tyShape(def.paramsTy));
    }
    const procedures = Object.values(mod.procedures as Record<string, any>);
    expect(procedures.map((p) => p.name)).toEqual(
      catalog.procedures
        .filter((p) => p.clientCallable)
        .map((p) => p.name)
        .sort(),
    );
    for (const p of procedures) {
      expect(sdkShape(p.returnType.algebraicType), p.name).toBe(tyShape(catalog.procedureByName.get(p.name)!.returnTy));
    }
  });
});

describe('kitchen-sink specifics', () => {
  it('keeps a multi-column index in declaration order under its generated canonical name', async () => {
    const { tables } = await importGenerated(join(dirs['kitchen-sink'], 'index.ts'));
    expect(tables.person.indexes).toContainEqual({ accessor: 'by_age_name', name: 'person_age_name_idx_btree', algorithm: 'btree', columns: ['age', 'name'] });
    expect(tables.person.where((p: any) => p.age.eq(30)).toSql()).toContain('"person"');
  });

  it('leaves the init reducer out of the files and the reducer map', async () => {
    const files = generateBindings(catalogs['kitchen-sink']);
    expect([...files.keys()].filter((f) => f.endsWith('_reducer.ts'))).toEqual(['add_person_reducer.ts']);
    const { reducers } = await importGenerated(join(dirs['kitchen-sink'], 'index.ts'));
    expect(Object.keys(reducers)).toEqual(['addPerson']);
  });
});

describe('all-types specifics', () => {
  const files = () => generateBindings(catalogs['all-types']);

  it('maps every SATS type to the matching type builder', () => {
    const row = files().get('everything_table.ts')!;
    for (const expected of [
      'id: __t.u64().primaryKey(),',
      'tinySigned: __t.i8().name("tiny_signed"),',
      'hugeSigned: __t.i128().name("huge_signed"),',
      'giant: __t.u256(),',
      'ratio: __t.f32(),',
      'blob: __t.byteArray(),',
      'numbers: __t.array(__t.i32()),',
      'maybeName: __t.option(__t.string()).name("maybe_name"),',
      'return __t.option(Point).name("maybe_point");',
      'return __t.array(Point);',
      'maybeList: __t.option(__t.array(__t.string())).name("maybe_list"),',
      'listOfMaybe: __t.array(__t.option(__t.u8())).name("list_of_maybe"),',
      'return Color;',
      'return Shape;',
      'return TreeNode;',
      'owner: __t.identity(),',
      'connection: __t.connectionId(),',
      'createdAt: __t.timestamp().name("created_at"),',
      'ttl: __t.timeDuration(),',
      'uid: __t.uuid(),',
      'outcome: __t.result(__t.u32(), __t.string()),',
      'nothing: __t.unit(),',
    ]) {
      expect(row).toContain(expected);
    }
    expect(row).toMatch(/import \{\s+Point,\s+Color,\s+Shape,\s+Route,\s+TreeNode,\s+\} from "\.\/types";/);
    expect(files().get('tick_timer_table.ts')).toContain('scheduledAt: __t.scheduleAt().name("scheduled_at"),');
  });

  it('writes named types with Pascal-case enum variants and leaves out reducer parameter records', () => {
    const types = files().get('types.ts')!;
    expect(types).toMatch(/export const Color = __t\.enum\("Color", \{\s+Red: __t\.unit\(\),\s+Green: __t\.unit\(\),\s+Blue: __t\.unit\(\),\s+\}\);/);
    expect(types).toMatch(/get Rect\(\) \{\s+return Size;/);
    expect(types).toMatch(/get children\(\): __TypeBuilder<any, any> \{\s+return __t\.array\(TreeNode\);/);
    const names = exportedNames(types);
    expect(names).toEqual(expect.arrayContaining(['Color', 'Everything', 'Point', 'Route', 'ScoreRow', 'Secret', 'Shape', 'Size', 'TreeNode']));
    for (const reducerRecord of ['Init', 'OnConnect', 'Tick', 'SetEverything', 'RenameCell', 'NoArgs']) expect(names).not.toContain(reducerRecord);
  });

  it('encodes values with the generated types exactly as the module types do', async () => {
    const types = await importGenerated(join(dirs['all-types'], 'types.ts'));
    const sdk = await import('spacetimedb');
    const catalog = catalogs['all-types'];
    const typespace = catalog.raw.sections.find((x) => x.tag === 'Typespace')!.value as { types: any[] };
    const moduleType = (name: string) => typespace.types[catalog.typeNames.find((n) => n.name === name)!.ty];
    const encode = (serialize: (w: InstanceType<typeof sdk.BinaryWriter>) => void) => {
      const w = new sdk.BinaryWriter(64);
      serialize(w);
      return [...w.getBuffer()];
    };
    const cases = [
      // Bindings Pascal-case enum variants; the module keeps its own names. Same variant index.
      { type: 'Shape', client: { tag: 'Rect', value: { width: 3, height: 4 } }, module: { tag: 'rect', value: { width: 3, height: 4 } } },
      { type: 'Color', client: { tag: 'Blue' }, module: { tag: 'blue' } },
      { type: 'Route', client: { stops: [{ x: 1, y: -1 }], label: 'home' }, module: { stops: [{ x: 1, y: -1 }], label: 'home' } },
      { type: 'TreeNode', client: { value: 1n, children: [{ value: 2n, children: [] }] }, module: { value: 1n, children: [{ value: 2n, children: [] }] } },
    ];
    for (const c of cases) {
      const generated = encode((w) => types[c.type].serialize(w, c.client));
      const expected = encode((w) => sdk.AlgebraicType.makeSerializer(moduleType(c.type), typespace)(w, c.module));
      expect(generated, c.type).toEqual(expected);
      const decoded = types[c.type].deserialize(new sdk.BinaryReader(Uint8Array.from(generated)));
      expect(decoded, c.type).toMatchObject(c.client);
      expect(encode((w) => types[c.type].serialize(w, decoded)), c.type).toEqual(generated);
    }
  });

  it('hides private tables and private functions unless asked, and aliases snake_case accessors', async () => {
    const mod = await importGenerated(join(dirs['all-types'], 'index.ts'));
    expect(mod.tables.secret).toBeUndefined();
    expect(mod.tables.grid_cell).toBe(mod.tables.gridCell);
    expect(mod.tables.tick_timer).toBe(mod.tables.tickTimer);
    expect(mod.tables.all_cells).toBe(mod.tables.allCells);
    expect(mod.tables.score.sourceName).toBe('HighScore');
    expect(mod.reducers.tick).toBeUndefined();
    expect(mod.reducers.renameTheCell.name).toBe('RenameTheCell');
    expect(Object.keys(mod.procedures).sort()).toEqual(['serverTime', 'sumPoints']);
    expect(mod.tables.gridCell.where((c: any) => c.cellId.eq(1)).toSql()).toContain('"cell_id"');

    const all = await importGenerated(join(dirs['all-types-private'], 'index.ts'));
    expect(all.tables.secret.sourceName).toBe('secret');
    expect(all.reducers.tick.name).toBe('tick');
    expect(all.reducers.onConnect).toBeUndefined();
    const privateFiles = generateBindings(catalogs['all-types'], { includePrivate: true });
    expect(privateFiles.has('on_connect_reducer.ts')).toBe(true);
    expect(privateFiles.has('init_reducer.ts')).toBe(false);
    expect(privateFiles.get('types/reducers.ts')).toContain('export type OnConnectParams');
  });

  it('declares indexes with their explicit names and the event flag', async () => {
    const { tables } = await importGenerated(join(dirs['all-types'], 'index.ts'));
    expect(tables.gridCell.indexes.map((ix: any) => [ix.accessor, ix.name, ix.algorithm, ix.columns])).toEqual([
      ['cellId', 'grid_cell_cell_id_idx_btree', 'btree', ['cellId']],
      ['code', 'grid_cell_code_idx_btree', 'btree', ['code']],
      ['byKind', 'grid_cell_kind_idx_hash', 'btree', ['kind']],
      ['bySlot', 'grid_cell_slot_idx_direct', 'btree', ['slot']],
      ['byXY', 'grid_cell_xy_explicit', 'btree', ['x', 'y']],
    ]);
    expect(tables.damageEvent.tableDef.isEvent).toBe(true);
  });
});

describe('no-case-policy specifics', () => {
  it('uses source names as canonical names and maps columns whose camelCase differs', async () => {
    const { tables, reducers } = await importGenerated(join(dirs['no-case-policy'], 'index.ts'));
    expect(tables.userProfiles.sourceName).toBe('userProfiles');
    expect(tables.userProfiles.columns.scoreTotal.columnMetadata.name).toBe('score_total');
    expect(tables.userProfiles.columns.displayName.columnMetadata.name).toBeUndefined();
    expect(reducers.setDisplayName.name).toBe('setDisplayName');
  });
});
