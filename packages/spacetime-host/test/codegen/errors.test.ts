// Module definitions bindings cannot express are rejected with a CodegenError that says where.
// The raw defs here are built by hand, since the TS module library never emits these shapes.
import { expect, it } from 'vitest';
import { CodegenError } from '../../src/codegen/model';
import { generateBindings } from '../../src/codegen/typescript';
import { buildCatalog } from '../../src/module/catalog';
import type { RawModuleDefV10 } from '../../src/module/rawdef';

type RawType = { tag: string; value?: unknown };
const prim = (tag: string): RawType => ({ tag, value: {} });
const product = (...els: [string | undefined, RawType][]): RawType => ({
  tag: 'Product',
  value: { elements: els.map(([name, algebraicType]) => ({ name, algebraicType })) },
});
const ref = (n: number): RawType => ({ tag: 'Ref', value: n });

function moduleWith(opts: { typespace: RawType[]; types?: [string, number][]; params: [string, RawType][] }): RawModuleDefV10 {
  return {
    sections: [
      { tag: 'Typespace', value: { types: opts.typespace } },
      { tag: 'Types', value: (opts.types ?? []).map(([name, ty]) => ({ sourceName: { scope: [], sourceName: name }, ty, customOrdering: true })) },
      {
        tag: 'Reducers',
        value: [
          {
            sourceName: 'doIt',
            params: (product(...opts.params) as { value: unknown }).value,
            visibility: { tag: 'ClientCallable', value: {} },
            okReturnType: product(),
            errReturnType: prim('String'),
          },
        ],
      },
    ],
  };
}

const generate = (raw: RawModuleDefV10) => () => generateBindings(buildCatalog(raw));

it('rejects an anonymous product used as a reducer parameter, naming the parameter', () => {
  const raw = moduleWith({ typespace: [], params: [['blob', product(['a', prim('U8')])]] });
  expect(generate(raw)).toThrow(CodegenError);
  expect(generate(raw)).toThrow('reducer do_it → blob: an anonymous product type cannot be used here');
});

it('rejects a named product with an unnamed field', () => {
  const raw = moduleWith({ typespace: [product([undefined, prim('U32')])], types: [['Thing', 0]], params: [] });
  expect(generate(raw)).toThrow('type Thing: product element 0 has no name');
});

it('rejects a named type that is neither a product nor a sum', () => {
  const raw = moduleWith({ typespace: [prim('U32')], types: [['Counter', 0]], params: [] });
  expect(generate(raw)).toThrow('type Counter: a named type must be a product or a sum, not U32');
});

it('rejects a ref outside the typespace', () => {
  // The catalog itself refuses such a def, so break the raw def after the catalog is built.
  const raw = moduleWith({ typespace: [], params: [['x', prim('U8')]] });
  const catalog = buildCatalog(raw);
  const reducers = raw.sections.find((s) => s.tag === 'Reducers')!.value as { params: { elements: { algebraicType: RawType }[] } }[];
  reducers[0]!.params.elements[0]!.algebraicType = ref(9);
  expect(() => generateBindings(catalog)).toThrow('reducer do_it → x: type ref 9 is not in the typespace');
});

it('rejects a recursive type that never passes through a named type', () => {
  const raw = moduleWith({ typespace: [{ tag: 'Array', value: ref(0) }], params: [['loop', ref(0)]] });
  expect(generate(raw)).toThrow('type ref 0 is recursive without passing through a named type');
});

it('follows refs to unnamed types down to what they stand for', () => {
  const raw = moduleWith({ typespace: [prim('String'), { tag: 'Array', value: ref(0) }], params: [['names', ref(1)]] });
  expect(generateBindings(buildCatalog(raw)).get('do_it_reducer.ts')).toContain('names: __t.array(__t.string()),');
});

it('writes an anonymous empty sum (never) as an empty enum, which the SDK encodes the same way', async () => {
  const raw = moduleWith({ typespace: [], params: [['impossible', { tag: 'Sum', value: { variants: [] } }]] });
  const file = generateBindings(buildCatalog(raw)).get('do_it_reducer.ts')!;
  expect(file).toContain('impossible: __t.enum("Never", []),');
  const { t } = await import('spacetimedb');
  expect(t.enum('Never', []).algebraicType).toEqual({ tag: 'Sum', value: { variants: [] } });
});
