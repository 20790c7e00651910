// The module description `spacetime describe --json` prints: the RawModuleDefV10 a server hands
// out from `GET /v1/database/:name/schema?version=10`, in SATS-JSON. Like upstream it is the
// *validated* def written back out: canonical names resolved (kept as ExplicitNames), lifecycle
// and scheduled functions marked private, generated index/constraint/sequence names filled in,
// schedules and view primary keys in their own sections, and the typespace case-converted.
// Unlike upstream (hash-map order), tables keep module order and their indexes, constraints and
// sequences are sorted by name, so the output is deterministic.
import type { Catalog, TableDef } from '../module/catalog';
import { toCamelCase, toPascalCase, toSnakeCase } from './case';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface RawType {
  tag: string;
  value?: any;
}
interface RawElement {
  name?: string;
  algebraicType: RawType;
}

const unit: Json = [];
const some = (v: Json): Json => ({ some: v });
const none: Json = { none: unit };
const option = (v: Json | undefined): Json => (v === undefined ? none : some(v));
const variant = (name: string, v: Json = unit): Json => ({ [name]: v });

/** i128/u64-sized integers: a JSON number when exact, else its decimal string. */
function bigNumber(v: bigint | number): Json {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function singleField(t: RawType, field: string): boolean {
  const els = (t.value?.elements ?? []) as RawElement[];
  return t.tag === 'Product' && els.length === 1 && els[0]!.name === field;
}

/** Upstream's `is_special`: Identity-like products, and the Option, Result and ScheduleAt sums. */
function isSpecial(t: RawType): boolean {
  if (t.tag === 'Product') {
    return ['__identity__', '__connection_id__', '__timestamp_micros_since_unix_epoch__', '__time_duration_micros__', '__uuid__'].some((f) => singleField(t, f));
  }
  if (t.tag === 'Sum') {
    const names = ((t.value?.variants ?? []) as RawElement[]).map((v) => v.name);
    const is = (a: string, b: string) => names.length === 2 && names[0] === a && names[1] === b;
    return is('some', 'none') || is('ok', 'err') || is('Interval', 'Time');
  }
  return false;
}

type NameCase = (name: string) => string;

function algebraicTypeJson(t: RawType, fieldCase: NameCase, variantCase: NameCase): Json {
  switch (t.tag) {
    case 'Ref':
      return variant('Ref', t.value as number);
    case 'Array':
      return variant('Array', algebraicTypeJson(t.value as RawType, fieldCase, variantCase));
    case 'Product':
    case 'Sum': {
      // Special types keep their names: clients recognise them by those names.
      const special = isSpecial(t);
      const keep: NameCase = (s) => s;
      const isProduct = t.tag === 'Product';
      const members = (isProduct ? t.value.elements : t.value.variants) as RawElement[];
      const rename = special ? keep : isProduct ? fieldCase : variantCase;
      const inner = special ? [keep, keep] as const : [fieldCase, variantCase] as const;
      const list = members.map((m) => ({
        name: option(m.name === undefined ? undefined : rename(m.name)),
        algebraic_type: algebraicTypeJson(m.algebraicType, inner[0], inner[1]),
      }));
      return isProduct ? variant('Product', { elements: list }) : variant('Sum', { variants: list });
    }
    default:
      return variant(t.tag);
  }
}

/** A params/product type as stored (not case-converted). */
function productJson(elements: RawElement[]): Json {
  const same: NameCase = (s) => s;
  return { elements: elements.map((e) => ({ name: option(e.name), algebraic_type: algebraicTypeJson(e.algebraicType, same, same) })) };
}

const rawTypeJson = (t: RawType): Json => algebraicTypeJson(t, (s) => s, (s) => s);

function section<T>(catalog: Catalog, tag: string): T | undefined {
  return catalog.raw.sections.find((s) => s.tag === tag)?.value as T | undefined;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function tableJson(table: TableDef, raw: any): Json {
  const rawSequences = (raw?.sequences ?? []) as { column: number; start?: bigint; minValue?: bigint; maxValue?: bigint; increment: bigint }[];
  const algorithm = (ix: TableDef['indexes'][number]): Json =>
    ix.algorithm === 'direct' ? variant('Direct', ix.columns[0]!) : variant(ix.algorithm === 'btree' ? 'BTree' : 'Hash', ix.columns);
  return {
    source_name: table.sourceName,
    product_type_ref: table.rowTypeRef,
    primary_key: table.primaryKey === undefined ? [] : [table.primaryKey],
    indexes: [...table.indexes].sort(byName).map((ix) => ({
      source_name: some(ix.sourceName),
      accessor_name: option(ix.accessorName),
      algorithm: algorithm(ix),
    })),
    constraints: [...table.uniqueConstraints].sort(byName).map((c) => ({
      source_name: some(c.name),
      data: variant('Unique', { columns: [...c.columns].sort((a, b) => a - b) }),
    })),
    sequences: [...table.sequences].sort(byName).map((s) => {
      const r = rawSequences.find((x) => x.column === s.col);
      const opt = (v: bigint | undefined) => option(v === undefined ? undefined : bigNumber(v));
      return {
        source_name: some(s.name),
        column: s.col,
        start: opt(r?.start),
        min_value: opt(r?.minValue),
        max_value: opt(r?.maxValue),
        increment: bigNumber(s.increment),
      };
    }),
    table_type: variant('User'),
    table_access: variant(table.isPublic ? 'Public' : 'Private'),
    default_values: ((raw?.defaultValues ?? []) as { colId: number; value: Uint8Array }[]).map((d) => ({ col_id: d.colId, value: hex(d.value) })),
    is_event: table.isEvent,
  };
}

/** `spacetime describe --json` for this module (SATS-JSON of the validated RawModuleDefV10). */
export function describeModule(catalog: Catalog): { sections: Json[] } {
  const snake = catalog.caseConversion === 'SnakeCase';
  const fieldCase: NameCase = snake ? toSnakeCase : (s) => s;
  const variantCase: NameCase = snake ? toCamelCase : (s) => s;
  const typeCase: NameCase = snake ? toPascalCase : (s) => s;
  const rawTables = section<any[]>(catalog, 'Tables') ?? [];
  const rawReducers = section<any[]>(catalog, 'Reducers') ?? [];
  const rawProcedures = section<any[]>(catalog, 'Procedures') ?? [];
  const rawViews = section<any[]>(catalog, 'Views') ?? [];
  const typespace = (section<{ types: RawType[] }>(catalog, 'Typespace')?.types ?? []) as RawType[];

  const sections: Json[] = [];
  const push = (tag: string, value: Json, always = false) => {
    if (always || !Array.isArray(value) || value.length > 0) sections.push({ [tag]: value });
  };
  const visibility = (callable: boolean) => variant(callable ? 'ClientCallable' : 'Private');

  push('Typespace', { types: typespace.map((t) => algebraicTypeJson(t, fieldCase, variantCase)) }, true);
  push(
    'Types',
    catalog.typeNames.map((tn) => ({
      source_name: { scope: tn.scope.map(typeCase), source_name: typeCase(tn.name) },
      ty: tn.ty,
      custom_ordering: (section<any[]>(catalog, 'Types') ?? []).find((t) => t.ty === tn.ty)?.customOrdering ?? true,
    })),
  );
  push(
    'Tables',
    catalog.tables.map((t) => tableJson(t, rawTables[t.id])),
  );
  push(
    'Reducers',
    catalog.reducers.map((r) => {
      const raw = rawReducers[r.id];
      return {
        source_name: r.sourceName,
        params: productJson(raw?.params?.elements ?? []),
        visibility: visibility(r.clientCallable),
        ok_return_type: rawTypeJson(raw?.okReturnType ?? { tag: 'Product', value: { elements: [] } }),
        err_return_type: rawTypeJson(raw?.errReturnType ?? { tag: 'String' }),
      };
    }),
  );
  push(
    'Procedures',
    catalog.procedures.map((p) => {
      const raw = rawProcedures[p.id];
      return {
        source_name: p.sourceName,
        params: productJson(raw?.params?.elements ?? []),
        return_type: rawTypeJson(raw?.returnType ?? { tag: 'Product', value: { elements: [] } }),
        visibility: visibility(p.clientCallable),
      };
    }),
  );
  const handlers = section<{ sourceName: string }[]>(catalog, 'HttpHandlers') ?? [];
  push(
    'HttpHandlers',
    handlers.map((h) => ({ source_name: h.sourceName })),
  );
  const routes = section<{ handlerFunction: string; method: { tag: string; value?: any }; path: string }[]>(catalog, 'HttpRoutes') ?? [];
  push(
    'HttpRoutes',
    routes.map((r) => ({
      handler_function: r.handlerFunction,
      method: r.method.tag === 'Any' ? variant('Any') : variant('Method', r.method.value.tag === 'Extension' ? variant('Extension', r.method.value.value) : variant(r.method.value.tag)),
      path: r.path,
    })),
  );
  push(
    'Views',
    catalog.views.map((v) => {
      const raw = rawViews.find((x) => x.sourceName === v.sourceName);
      return {
        source_name: v.sourceName,
        index: v.hookIndex,
        is_public: v.isPublic,
        is_anonymous: v.isAnonymous,
        params: productJson(raw?.params?.elements ?? []),
        return_type: rawTypeJson(raw?.returnType ?? { tag: 'Array', value: { tag: 'Product', value: { elements: [] } } }),
      };
    }),
  );
  push(
    'ViewPrimaryKeys',
    catalog.views
      .filter((v) => v.primaryKey !== undefined)
      .map((v) => ({ view_source_name: v.sourceName, columns: [v.columns[v.primaryKey!]!.name] })),
  );
  push(
    'Schedules',
    catalog.tables
      .filter((t) => t.schedule)
      .map((t) => ({
        source_name: some(t.schedule!.name),
        table_name: t.name,
        schedule_at_col: t.schedule!.atCol,
        function_name: t.schedule!.functionName,
      })),
  );
  const lifecycleOrder = ['init', 'on_connect', 'on_disconnect'] as const;
  const lifecycleTag = { init: 'Init', on_connect: 'OnConnect', on_disconnect: 'OnDisconnect' } as const;
  push(
    'LifeCycleReducers',
    lifecycleOrder.flatMap((lc) =>
      catalog.reducers.filter((r) => r.lifecycle === lc).map((r) => ({ lifecycle_spec: variant(lifecycleTag[lc]), function_name: r.name })),
    ),
  );
  push(
    'RowLevelSecurity',
    catalog.rls.map((sql) => ({ sql })),
  );
  const mapping = (source: string, canonical: string) => ({ source_name: source, canonical_name: canonical });
  push(
    'ExplicitNames',
    {
      entries: [
        ...catalog.tables.map((t) => variant('Table', mapping(t.sourceName, t.name))),
        ...catalog.reducers.map((r) => variant('Function', mapping(r.sourceName, r.name))),
        ...catalog.procedures.map((p) => variant('Function', mapping(p.sourceName, p.name))),
        ...catalog.views.map((v) => variant('Function', mapping(v.sourceName, v.name))),
      ],
    },
    true,
  );
  return { sections };
}
