// The shapes of RawModuleDef (V10) as the 2.10 runtime emits them, declared with the SDK's
// type builders so BSATN decoding comes from the `spacetimedb` package itself. Field order is
// BSATN order; see spacetimedb-host-spec.md §2.2.
import { BinaryReader, t } from 'spacetimedb';

const Typ: any = t.enum('AlgebraicType', {
  get Ref() {
    return t.u32();
  },
  get Sum() {
    return SumType;
  },
  get Product() {
    return ProductType;
  },
  get Array() {
    return Typ;
  },
  String: t.unit(),
  Bool: t.unit(),
  I8: t.unit(),
  U8: t.unit(),
  I16: t.unit(),
  U16: t.unit(),
  I32: t.unit(),
  U32: t.unit(),
  I64: t.unit(),
  U64: t.unit(),
  I128: t.unit(),
  U128: t.unit(),
  I256: t.unit(),
  U256: t.unit(),
  F32: t.unit(),
  F64: t.unit(),
});
const ProductType: any = t.object('ProductType', {
  get elements() {
    return t.array(t.object('ProductTypeElement', { name: t.option(t.string()), get algebraicType() { return Typ; } }));
  },
});
const SumType: any = t.object('SumType', {
  get variants() {
    return t.array(t.object('SumTypeVariant', { name: t.option(t.string()), get algebraicType() { return Typ; } }));
  },
});

const Typespace = t.object('Typespace', { types: t.array(Typ) });
const ScopedName = t.object('RawScopedTypeNameV10', { scope: t.array(t.string()), sourceName: t.string() });
const TypeDef = t.object('RawTypeDefV10', { sourceName: ScopedName, ty: t.u32(), customOrdering: t.bool() });
const IndexAlgorithm = t.enum('RawIndexAlgorithm', { BTree: t.array(t.u16()), Hash: t.array(t.u16()), Direct: t.u16() });
const IndexDef = t.object('RawIndexDefV10', { sourceName: t.option(t.string()), accessorName: t.option(t.string()), algorithm: IndexAlgorithm });
const ConstraintData = t.enum('RawConstraintDataV9', { Unique: t.object('RawUniqueConstraintDataV9', { columns: t.array(t.u16()) }) });
const ConstraintDef = t.object('RawConstraintDefV10', { sourceName: t.option(t.string()), data: ConstraintData });
const SequenceDef = t.object('RawSequenceDefV10', {
  sourceName: t.option(t.string()),
  column: t.u16(),
  start: t.option(t.i128()),
  minValue: t.option(t.i128()),
  maxValue: t.option(t.i128()),
  increment: t.i128(),
});
const TableDef = t.object('RawTableDefV10', {
  sourceName: t.string(),
  productTypeRef: t.u32(),
  primaryKey: t.array(t.u16()),
  indexes: t.array(IndexDef),
  constraints: t.array(ConstraintDef),
  sequences: t.array(SequenceDef),
  tableType: t.enum('TableType', { System: t.unit(), User: t.unit() }),
  tableAccess: t.enum('TableAccess', { Public: t.unit(), Private: t.unit() }),
  defaultValues: t.array(t.object('RawColumnDefaultValueV10', { colId: t.u16(), value: t.byteArray() })),
  isEvent: t.bool(),
});
const FunctionVisibility = t.enum('FunctionVisibility', { Private: t.unit(), ClientCallable: t.unit() });
const ReducerDef = t.object('RawReducerDefV10', {
  sourceName: t.string(),
  params: ProductType,
  visibility: FunctionVisibility,
  okReturnType: Typ,
  errReturnType: Typ,
});
const ProcedureDef = t.object('RawProcedureDefV10', {
  sourceName: t.string(),
  params: ProductType,
  returnType: Typ,
  visibility: FunctionVisibility,
});
const ViewDef = t.object('RawViewDefV10', {
  sourceName: t.string(),
  index: t.u32(),
  isPublic: t.bool(),
  isAnonymous: t.bool(),
  params: ProductType,
  returnType: Typ,
});
const ScheduleDef = t.object('RawScheduleDefV10', {
  sourceName: t.option(t.string()),
  tableName: t.string(),
  scheduleAtCol: t.u16(),
  functionName: t.string(),
});
const LifecycleDef = t.object('RawLifeCycleReducerDefV10', {
  lifecycleSpec: t.enum('Lifecycle', { Init: t.unit(), OnConnect: t.unit(), OnDisconnect: t.unit() }),
  functionName: t.string(),
});
const RlsDef = t.object('RawRowLevelSecurityDefV9', { sql: t.string() });
const NameMapping = t.object('NameMapping', { sourceName: t.string(), canonicalName: t.string() });
const ExplicitNames = t.object('ExplicitNames', {
  entries: t.array(t.enum('ExplicitNameEntry', { Table: NameMapping, Function: NameMapping, Index: NameMapping })),
});
const MethodOrAny = t.enum('MethodOrAny', {
  Any: t.unit(),
  Method: t.enum('HttpMethod', {
    Get: t.unit(),
    Head: t.unit(),
    Post: t.unit(),
    Put: t.unit(),
    Delete: t.unit(),
    Connect: t.unit(),
    Options: t.unit(),
    Trace: t.unit(),
    Patch: t.unit(),
    Extension: t.string(),
  }),
});

const Section: any = t.enum('RawModuleDefV10Section', {
  Typespace,
  Types: t.array(TypeDef),
  Tables: t.array(TableDef),
  Reducers: t.array(ReducerDef),
  Procedures: t.array(ProcedureDef),
  Views: t.array(ViewDef),
  Schedules: t.array(ScheduleDef),
  LifeCycleReducers: t.array(LifecycleDef),
  RowLevelSecurity: t.array(RlsDef),
  CaseConversionPolicy: t.enum('CaseConversionPolicy', { None: t.unit(), SnakeCase: t.unit() }),
  ExplicitNames,
  HttpHandlers: t.array(t.object('RawHttpHandlerDefV10', { sourceName: t.string() })),
  HttpRoutes: t.array(t.object('RawHttpRouteDefV10', { handlerFunction: t.string(), method: MethodOrAny, path: t.string() })),
  ViewPrimaryKeys: t.array(t.object('RawViewPrimaryKeyDefV10', { viewSourceName: t.string(), columns: t.array(t.string()) })),
  get Submodules() {
    return t.array(t.object('RawSubmoduleDefV10', { namespace: t.string(), get module() { return ModuleDefV10; } }));
  },
});
const ModuleDefV10: any = t.object('RawModuleDefV10', { sections: t.array(Section) });
const RawModuleDef = t.enum('RawModuleDef', { V8BackCompat: t.unit(), V9: t.unit(), V10: ModuleDefV10 });

export interface RawNamed<V> {
  tag: string;
  value: V;
}
export interface RawModuleDefV10 {
  sections: RawNamed<any>[];
}

export function decodeRawModuleDef(bytes: Uint8Array): RawModuleDefV10 {
  const tag = bytes[0];
  if (tag !== 2) throw new Error(`unsupported RawModuleDef variant ${tag}: this host understands V10 (spacetimedb 2.x modules)`);
  const v = (RawModuleDef as any).deserialize(new BinaryReader(bytes)) as RawNamed<RawModuleDefV10>;
  return v.value;
}
