// What client codegen needs from a module, taken from the catalog plus the raw module def (which
// keeps the typespace's Refs, so named types stay named). Mirrors upstream's "typespace for
// generate": a use of a type is either a special/structural type or a Ref to a named definition
// from the Types section; anonymous products and sums are not allowed in use position.
import type { Catalog, IndexDef, ReducerDef, ProcedureDef, TableDef, ViewDef } from '../module/catalog';
import { toPascalCase, toSnakeCase } from './case';

export class CodegenError extends Error {
  override name = 'CodegenError';
}

export type PrimitiveName =
  | 'Bool' | 'I8' | 'U8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64'
  | 'I128' | 'U128' | 'I256' | 'U256' | 'F32' | 'F64';

const PRIMITIVES = new Set<string>(['Bool', 'I8', 'U8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'I128', 'U128', 'I256', 'U256', 'F32', 'F64']);

/** A use of a type inside a field, parameter or return type. */
export type TypeUse =
  | { kind: 'ref'; ref: number }
  | { kind: 'array'; elem: TypeUse }
  | { kind: 'option'; inner: TypeUse }
  | { kind: 'result'; ok: TypeUse; err: TypeUse }
  | { kind: 'scheduleAt' | 'identity' | 'connectionId' | 'timestamp' | 'timeDuration' | 'uuid' | 'unit' | 'never' | 'string' }
  | { kind: 'primitive'; name: PrimitiveName };

/** A named field of a product (or variant of a sum). `name` is as the module wrote it. */
export interface FieldUse {
  name: string;
  ty: TypeUse;
}

export interface TypeDefinition {
  ref: number;
  /** Upstream's scoped type name (Pascal-cased segments unless the case policy is None), for ordering. */
  scope: string[];
  baseName: string;
  /** The identifier bindings use: every segment Pascal-cased and joined. */
  name: string;
  kind: 'product' | 'sum';
  members: FieldUse[];
}

/** A table or view as the client sees it. */
export interface ClientTable {
  accessor: string;
  name: string;
  rowRef: number;
  /** Row fields with the canonical (wire) column name of each. */
  columns: (FieldUse & { canonical: string })[];
  primaryKey: number | undefined;
  indexes: { accessor: string; name: string; columns: number[] }[];
  constraints: { name: string; columns: number[] }[];
  isEvent: boolean;
  isPublic: boolean;
  isView: boolean;
}

export interface ClientReducer {
  accessor: string;
  name: string;
  params: FieldUse[];
  isLifecycle: boolean;
  isInit: boolean;
  isPrivate: boolean;
}

export interface ClientProcedure {
  accessor: string;
  name: string;
  params: FieldUse[];
  returnType: TypeUse;
  isPrivate: boolean;
}

export interface CodegenModel {
  caseConversion: 'SnakeCase' | 'None';
  types: Map<number, TypeDefinition>;
  tables: ClientTable[];
  views: ClientTable[];
  reducers: ClientReducer[];
  procedures: ClientProcedure[];
}

// The raw (BSATN-decoded) AlgebraicType shape: `{ tag, value }` with Refs intact.
interface RawType {
  tag: string;
  value?: any;
}
interface RawElement {
  name?: string;
  algebraicType: RawType;
}

const elementsOf = (t: RawType): RawElement[] => (t.value?.elements ?? []) as RawElement[];
const variantsOf = (t: RawType): RawElement[] => (t.value?.variants ?? []) as RawElement[];

function isSingleField(t: RawType, field: string, tag: string): boolean {
  if (t.tag !== 'Product') return false;
  const els = elementsOf(t);
  return els.length === 1 && els[0]!.name === field && els[0]!.algebraicType.tag === tag;
}

const isUnitType = (t: RawType): boolean => t.tag === 'Product' && elementsOf(t).length === 0;

function twoVariants(t: RawType, first: string, second: string): [RawElement, RawElement] | undefined {
  if (t.tag !== 'Sum') return undefined;
  const vs = variantsOf(t);
  if (vs.length !== 2 || vs[0]!.name !== first || vs[1]!.name !== second) return undefined;
  return [vs[0]!, vs[1]!];
}

/** Structural special types, checked in upstream's order; `undefined` when `t` is not one. */
function specialUse(t: RawType): TypeUse | 'option' | 'result' | undefined {
  if (isSingleField(t, '__connection_id__', 'U128')) return { kind: 'connectionId' };
  if (isSingleField(t, '__identity__', 'U256')) return { kind: 'identity' };
  if (isSingleField(t, '__timestamp_micros_since_unix_epoch__', 'I64')) return { kind: 'timestamp' };
  if (isSingleField(t, '__time_duration_micros__', 'I64')) return { kind: 'timeDuration' };
  if (isSingleField(t, '__uuid__', 'U128')) return { kind: 'uuid' };
  if (isUnitType(t)) return { kind: 'unit' };
  if (t.tag === 'Sum' && variantsOf(t).length === 0) return { kind: 'never' };
  const opt = twoVariants(t, 'some', 'none');
  if (opt && isUnitType(opt[1].algebraicType)) return 'option';
  if (twoVariants(t, 'ok', 'err')) return 'result';
  const sched = twoVariants(t, 'Interval', 'Time');
  if (sched && isSingleField(sched[0].algebraicType, '__time_duration_micros__', 'I64') && isSingleField(sched[1].algebraicType, '__timestamp_micros_since_unix_epoch__', 'I64')) {
    return { kind: 'scheduleAt' };
  }
  return undefined;
}

function section<T>(catalog: Catalog, tag: string): T | undefined {
  return catalog.raw.sections.find((s) => s.tag === tag)?.value as T | undefined;
}

export function buildCodegenModel(catalog: Catalog): CodegenModel {
  const rawTypes = (section<{ types: RawType[] }>(catalog, 'Typespace')?.types ?? []) as RawType[];
  const pascalIfConverted = (s: string) => (catalog.caseConversion === 'None' ? s : toPascalCase(s));

  // Named definitions. When two names point at one ref, the last one names it (as upstream's refmap).
  const typeNames = new Map<number, { scope: string[]; baseName: string }>();
  for (const tn of catalog.typeNames) {
    typeNames.set(tn.ty, { scope: tn.scope.map(pascalIfConverted), baseName: pascalIfConverted(tn.name) });
  }

  const knownUses = new Map<number, TypeUse>();
  const touching = new Set<number>();
  const where: string[] = [];
  const fail = (msg: string): never => {
    throw new CodegenError(`${where.join(' → ') || 'module'}: ${msg}`);
  };

  const parseUse = (t: RawType): TypeUse => {
    const special = specialUse(t);
    if (special === 'option') return { kind: 'option', inner: parseUse(variantsOf(t)[0]!.algebraicType) };
    if (special === 'result') {
      const [ok, err] = variantsOf(t);
      return { kind: 'result', ok: parseUse(ok!.algebraicType), err: parseUse(err!.algebraicType) };
    }
    if (special) return special;
    switch (t.tag) {
      case 'Ref':
        return parseRef(t.value as number);
      case 'Array':
        return { kind: 'array', elem: parseUse(t.value as RawType) };
      case 'String':
        return { kind: 'string' };
      case 'Product':
      case 'Sum':
        return fail(`an anonymous ${t.tag.toLowerCase()} type cannot be used here; give it a name (t.object / t.enum)`);
      default:
        if (PRIMITIVES.has(t.tag)) return { kind: 'primitive', name: t.tag as PrimitiveName };
        return fail(`unknown algebraic type tag ${JSON.stringify(t.tag)}`);
    }
  };

  const parseRef = (ref: number): TypeUse => {
    if (typeNames.has(ref)) return { kind: 'ref', ref };
    const known = knownUses.get(ref);
    if (known) return known;
    const target = rawTypes[ref];
    if (!target) return fail(`type ref ${ref} is not in the typespace`);
    if (touching.has(ref)) return fail(`type ref ${ref} is recursive without passing through a named type`);
    touching.add(ref);
    try {
      const use = parseUse(target);
      knownUses.set(ref, use);
      return use;
    } finally {
      touching.delete(ref);
    }
  };

  const parseFields = (elements: RawElement[], what: string): FieldUse[] =>
    elements.map((e, i) => {
      if (!e.name) return fail(`${what} element ${i} has no name`);
      where.push(e.name);
      try {
        return { name: e.name, ty: parseUse(e.algebraicType) };
      } finally {
        where.pop();
      }
    });

  const within = <T>(label: string, f: () => T): T => {
    where.push(label);
    try {
      return f();
    } finally {
      where.pop();
    }
  };

  const types = new Map<number, TypeDefinition>();
  for (const [ref, tn] of [...typeNames].sort((a, b) => a[0] - b[0])) {
    within(`type ${tn.baseName}`, () => {
      const def = rawTypes[ref];
      if (!def) return fail(`type ref ${ref} is not in the typespace`);
      if (def.tag !== 'Product' && def.tag !== 'Sum') return fail(`a named type must be a product or a sum, not ${def.tag}`);
      const members = parseFields(def.tag === 'Product' ? elementsOf(def) : variantsOf(def), def.tag === 'Product' ? 'product' : 'sum');
      types.set(ref, {
        ref,
        scope: tn.scope,
        baseName: tn.baseName,
        name: [...tn.scope, tn.baseName].map(toPascalCase).join(''),
        kind: def.tag === 'Product' ? 'product' : 'sum',
        members,
      });
      return undefined;
    });
  }

  const rowFields = (rowRef: number, label: string): FieldUse[] =>
    within(label, () => {
      const named = types.get(rowRef);
      if (named) {
        if (named.kind !== 'product') return fail('row type must be a product');
        return named.members;
      }
      // Rows are always named types in modules built with the TS library; be lenient otherwise.
      let target = rawTypes[rowRef];
      const seen = new Set<number>();
      while (target?.tag === 'Ref' && !seen.has(target.value as number)) {
        seen.add(target.value as number);
        target = rawTypes[target.value as number];
      }
      if (!target || target.tag !== 'Product') return fail(`row type ref ${rowRef} is not a product`);
      return parseFields(elementsOf(target), 'row');
    });

  const paramName = (source: string) => (catalog.caseConversion === 'SnakeCase' ? toSnakeCase(source) : source);

  const tableFromDef = (t: TableDef): ClientTable => {
    const fields = rowFields(t.rowTypeRef, `table ${t.name}`);
    return {
      accessor: t.sourceName,
      name: t.name,
      rowRef: t.rowTypeRef,
      columns: fields.map((f, i) => ({ ...f, canonical: t.columns[i]?.name ?? f.name })),
      primaryKey: t.primaryKey,
      indexes: t.indexes
        .filter((ix): ix is IndexDef & { accessorName: string } => ix.accessorName !== undefined)
        .map((ix) => ({ accessor: ix.accessorName, name: ix.name, columns: ix.columns })),
      constraints: t.uniqueConstraints.map((c) => ({ name: c.name, columns: [...c.columns].sort((a, b) => a - b) })),
      isEvent: t.isEvent,
      isPublic: t.isPublic,
      isView: false,
    };
  };

  const rawViews = section<{ sourceName: string; returnType: RawType }[]>(catalog, 'Views') ?? [];
  const viewFromDef = (v: ViewDef): ClientTable => {
    const raw = rawViews.find((r) => r.sourceName === v.sourceName);
    const ret = raw?.returnType;
    const inner = ret?.tag === 'Array' ? (ret.value as RawType) : ret && twoVariants(ret, 'some', 'none')?.[0].algebraicType;
    if (!inner || inner.tag !== 'Ref') {
      return fail(`view ${v.name} must return an array or option of a named row type`);
    }
    const rowRef = inner.value as number;
    const fields = rowFields(rowRef, `view ${v.name}`);
    return {
      accessor: v.sourceName,
      name: v.name,
      rowRef,
      columns: fields.map((f, i) => ({ ...f, canonical: v.columns[i]?.name ?? f.name })),
      primaryKey: v.primaryKey,
      indexes: [],
      constraints: [],
      isEvent: false,
      isPublic: v.isPublic,
      isView: true,
    };
  };

  const rawReducers = section<{ params: { elements: RawElement[] } }[]>(catalog, 'Reducers') ?? [];
  const reducerFromDef = (r: ReducerDef): ClientReducer =>
    within(`reducer ${r.name}`, () => ({
      accessor: r.sourceName,
      name: r.name,
      params: parseFields(rawReducers[r.id]?.params.elements ?? [], 'parameter').map((p) => ({ ...p, name: paramName(p.name) })),
      isLifecycle: r.lifecycle !== undefined,
      isInit: r.lifecycle === 'init',
      isPrivate: !r.clientCallable,
    }));

  const rawProcedures = section<{ params: { elements: RawElement[] }; returnType: RawType }[]>(catalog, 'Procedures') ?? [];
  const procedureFromDef = (p: ProcedureDef): ClientProcedure =>
    within(`procedure ${p.name}`, () => {
      const raw = rawProcedures[p.id];
      if (!raw) return fail('missing from the raw module def');
      return {
        accessor: p.sourceName,
        name: p.name,
        params: parseFields(raw.params.elements, 'parameter').map((f) => ({ ...f, name: paramName(f.name) })),
        returnType: within('return type', () => parseUse(raw.returnType)),
        isPrivate: !p.clientCallable,
      };
    });

  return {
    caseConversion: catalog.caseConversion,
    types,
    tables: catalog.tables.map(tableFromDef),
    views: catalog.views.map(viewFromDef),
    reducers: catalog.reducers.map(reducerFromDef),
    procedures: catalog.procedures.map(procedureFromDef),
  };
}

/** Every Ref a use mentions directly (through arrays, options and results, not into definitions). */
export function refsOf(use: TypeUse, into: Set<number> = new Set()): Set<number> {
  switch (use.kind) {
    case 'ref':
      into.add(use.ref);
      break;
    case 'array':
      refsOf(use.elem, into);
      break;
    case 'option':
      refsOf(use.inner, into);
      break;
    case 'result':
      refsOf(use.ok, into);
      refsOf(use.err, into);
      break;
    default:
      break;
  }
  return into;
}
