// TypeScript client bindings, file for file and export for export what upstream's
// `spacetime generate --lang typescript` emits for the 2.x SDK: `index.ts` (DbConnection, tables,
// reducers, procedures, context types), one `<x>_table.ts` per client-visible table or view,
// one `<x>_reducer.ts` / `<x>_procedure.ts` per callable function, `types.ts` with every named
// type, and `types/reducers.ts` / `types/procedures.ts` with parameter/result type aliases.
import type { Catalog } from '../module/catalog';
import { toCamelCase, toPascalCase } from './case';
import { buildCodegenModel, CodegenError, type ClientProcedure, type ClientReducer, type ClientTable, type CodegenModel } from './model';
import {
  BINDINGS_SDK_VERSION,
  INDEX_IMPORTS,
  Out,
  TYPE_BUILDER_IMPORTS,
  byCodeUnits,
  header,
  procedureArgsName,
  procedureModule,
  propertyKey,
  quote,
  reducerArgsName,
  reducerModule,
  rowName,
  tableModule,
} from './emit';
import { TypeBuilders } from './type_builders';

export { BINDINGS_SDK_VERSION, GENERATED_FILE_PREFIX } from './emit';

export interface GenerateOptions {
  /** Also generate private tables and private (scheduled, lifecycle) reducers and procedures. */
  includePrivate?: boolean;
}

class Generator {
  private readonly types: TypeBuilders;

  constructor(
    private readonly model: CodegenModel,
    private readonly options: GenerateOptions,
  ) {
    this.types = new TypeBuilders(model);
  }

  // ---- selections, in upstream's orders ----

  private clientTables(): ClientTable[] {
    return this.model.tables.filter((t) => this.options.includePrivate || t.isPublic).sort((a, b) => byCodeUnits(a.name, b.name));
  }

  private clientViews(): ClientTable[] {
    return [...this.model.views].sort((a, b) => byCodeUnits(a.name, b.name));
  }

  /** Reducers in module order, without `init`, without private ones unless asked. */
  private clientReducers(): ClientReducer[] {
    return this.model.reducers.filter((r) => !r.isInit && (this.options.includePrivate || !r.isPrivate));
  }

  private invokableReducers(): ClientReducer[] {
    return this.clientReducers().filter((r) => !r.isLifecycle);
  }

  private clientProcedures(): ClientProcedure[] {
    return this.model.procedures
      .filter((p) => this.options.includePrivate || !p.isPrivate)
      .sort((a, b) => byCodeUnits(a.name, b.name));
  }

  // ---- files ----

  private tableFile(table: ClientTable): string {
    const out = new Out();
    header(out, { version: false, imports: TYPE_BUILDER_IMPORTS });
    this.types.typeImports(
      out,
      table.columns.map((c) => c.ty),
    );
    out.line();
    out.line('export default __t.row({');
    out.indented(() =>
      this.types.fields(
        out,
        table.columns.map((c, i) => {
          const key = toCamelCase(c.name);
          const suffix = (table.primaryKey === i ? '.primaryKey()' : '') + (c.canonical !== key ? `.name(${quote(c.canonical)})` : '');
          return { key, use: c.ty, suffix };
        }),
      ),
    );
    out.line('});');
    return out.toString();
  }

  private reducerFile(reducer: ClientReducer): string {
    const out = new Out();
    header(out, { version: false, imports: TYPE_BUILDER_IMPORTS });
    out.line();
    this.types.typeImports(
      out,
      reducer.params.map((p) => p.ty),
    );
    if (reducer.params.length === 0) {
      out.line('export default {};');
    } else {
      out.line('export default {');
      out.indented(() => this.types.plainFields(out, reducer.params));
      out.line('};');
    }
    return out.toString();
  }

  private procedureFile(procedure: ClientProcedure): string {
    const out = new Out();
    header(out, { version: false, imports: TYPE_BUILDER_IMPORTS });
    out.line();
    this.types.typeImports(out, [...procedure.params.map((p) => p.ty), procedure.returnType]);
    out.line('export const params = {');
    out.indented(() => this.types.plainFields(out, procedure.params));
    out.line('};');
    out.line(`export const returnType = ${this.types.builder(procedure.returnType)};`);
    return out.toString();
  }

  private reducerTypesFile(): string {
    const out = new Out();
    header(out, { version: false, imports: 'infer-only' });
    out.line();
    out.line('// Parameter schemas of every reducer');
    for (const r of this.clientReducers()) out.line(`import ${reducerArgsName(r)} from "../${reducerModule(r)}";`);
    out.line();
    for (const r of this.clientReducers()) out.line(`export type ${toPascalCase(r.accessor)}Params = __Infer<typeof ${reducerArgsName(r)}>;`);
    return out.toString();
  }

  private procedureTypesFile(): string {
    const out = new Out();
    header(out, { version: false, imports: 'infer-only' });
    out.line();
    out.line('// Parameter and return schemas of every procedure');
    for (const p of this.clientProcedures()) out.line(`import * as ${procedureArgsName(p)} from "../${procedureModule(p)}";`);
    out.line();
    for (const p of this.clientProcedures()) {
      const base = toPascalCase(p.accessor);
      out.line(`export type ${base}Args = __Infer<typeof ${procedureArgsName(p)}.params>;`);
      out.line(`export type ${base}Result = __Infer<typeof ${procedureArgsName(p)}.returnType>;`);
    }
    return out.toString();
  }

  private tableOptions(out: Out, t: ClientTable): void {
    out.line(`name: ${quote(t.name)},`);
    out.line('indexes: [');
    out.indented(() => {
      for (const ix of [...t.indexes].sort((a, b) => byCodeUnits(a.name, b.name))) {
        // Clients answer every index lookup from their own cache, so the algorithm is always btree.
        out.line(`{ accessor: ${quote(ix.accessor)}, name: ${quote(ix.name)}, algorithm: "btree", columns: [`);
        out.indented(() => {
          for (const col of ix.columns) out.line(`${quote(toCamelCase(t.columns[col]!.name))},`);
        });
        out.line('] },');
      }
    });
    out.line('],');
    out.line('constraints: [');
    out.indented(() => {
      for (const c of [...t.constraints].sort((a, b) => byCodeUnits(a.name, b.name))) {
        const cols = c.columns.map((col) => quote(toCamelCase(t.columns[col]!.name))).join(', ');
        out.line(`{ name: ${quote(c.name)}, constraint: "unique", columns: [${cols}] },`);
      }
    });
    out.line('],');
    if (t.isEvent) out.line('event: true,');
  }

  private indexFile(): string {
    const out = new Out();
    header(out, { version: true, imports: INDEX_IMPORTS });
    const tables = this.clientTables();
    const views = this.clientViews();
    const reducers = this.invokableReducers();
    const procedures = this.clientProcedures();
    const rowSources = [...tables, ...views].sort((a, b) => byCodeUnits(a.accessor, b.accessor));

    out.line();
    out.line('// Parameter schemas of the reducers clients may call');
    for (const r of reducers) out.line(`import ${reducerArgsName(r)} from "./${reducerModule(r)}";`);
    out.line();
    out.line('// Parameter and return schemas of the procedures');
    for (const p of procedures) out.line(`import * as ${procedureArgsName(p)} from "./${procedureModule(p)}";`);
    out.line();
    out.line('// Row schemas of the tables and views');
    for (const t of rowSources) out.line(`import ${rowName(t)} from "./${tableModule(t)}";`);
    out.line();

    const aliases: [deprecated: string, accessor: string][] = [];
    const accessorKeys = new Set<string>();
    out.line('/** Every table and view, declared as the module declares them. */');
    out.line('const tablesSchema = __schema({');
    out.indented(() => {
      for (const t of [...tables, ...views]) {
        const key = toCamelCase(t.accessor);
        accessorKeys.add(key);
        if (key !== t.accessor) aliases.push([t.accessor, key]);
        out.line(`${propertyKey(key)}: __table({`);
        out.indented(() => this.tableOptions(out, t));
        out.line(`}, ${rowName(t)}),`);
      }
    });
    out.line('});');
    // Older bindings used the module's own accessor; keep it working as a deprecated alias.
    const tableAliases = aliases.filter(([deprecated]) => !accessorKeys.has(deprecated));
    const hasAliases = tableAliases.length > 0;

    out.line();
    out.line('/** Every reducer clients may call, with its parameter schema. */');
    out.line('const reducersSchema = __reducers(');
    out.indented(() => {
      for (const r of reducers) out.line(`__reducerSchema(${quote(r.name)}, ${reducerArgsName(r)}),`);
    });
    out.line(');');
    out.line();
    out.line('/** Every procedure clients may call, with its parameter and return schemas. */');
    out.line('const proceduresSchema = __procedures(');
    out.indented(() => {
      for (const p of procedures) {
        out.line(`__procedureSchema(${quote(p.name)}, ${procedureArgsName(p)}.params, ${procedureArgsName(p)}.returnType),`);
      }
    });
    out.line(');');

    const deprecation = (target: string) => `/** @deprecated Renamed to \`${target}\`; this alias goes away with the next major version. */`;
    if (hasAliases) {
      out.line();
      out.line('type __SchemaWithTableAccessorAliases = Omit<typeof tablesSchema.schemaType, "tables"> & {');
      out.indented(() => {
        out.line('tables: typeof tablesSchema.schemaType.tables & {');
        out.indented(() => {
          for (const [deprecated, target] of tableAliases) {
            out.line(deprecation(target));
            out.line(
              `readonly ${quote(deprecated)}: Omit<typeof tablesSchema.schemaType.tables[${quote(target)}], "accessorName"> & { readonly accessorName: ${quote(deprecated)} };`,
            );
          }
        });
        out.line('};');
      });
      out.line('};');
    }

    const schemaType = hasAliases ? '__SchemaWithTableAccessorAliases' : 'typeof tablesSchema.schemaType';
    out.line();
    out.line('/** The module as the SDK sees it: runtime schemas plus their static types. */');
    out.line('const REMOTE_MODULE = {');
    out.indented(() => {
      out.line('versionInfo: {');
      out.indented(() => out.line(`cliVersion: ${quote(BINDINGS_SDK_VERSION)} as const,`));
      out.line('},');
      out.line(hasAliases ? 'tables: tablesSchema.schemaType.tables as __SchemaWithTableAccessorAliases["tables"],' : 'tables: tablesSchema.schemaType.tables,');
      out.line('reducers: reducersSchema.reducersType.reducers,');
      out.line('...proceduresSchema,');
    });
    out.line('} satisfies __RemoteModule<');
    out.indented(() => {
      out.line(`${schemaType},`);
      out.line('typeof reducersSchema.reducersType,');
      out.line('typeof proceduresSchema');
    });
    out.line('>;');

    if (hasAliases) {
      out.line();
      out.line('const tableAccessorAliases = {');
      out.indented(() => {
        for (const [deprecated, target] of tableAliases) out.line(`${quote(deprecated)}: ${quote(target)},`);
      });
      out.line('} as const;');
      out.line();
      out.line('/** A copy of `target` that also answers to the deprecated accessors. */');
      out.line('function __withTableAccessorAliases<T extends object>(target: T, freeze = false): T {');
      out.indented(() => {
        out.line('const copy = Object.create(Object.getPrototypeOf(target), Object.getOwnPropertyDescriptors(target)) as T & Record<string, unknown>;');
        out.line('for (const [alias, accessor] of Object.entries(tableAccessorAliases)) {');
        out.indented(() => {
          out.line('if (!(alias in copy)) {');
          out.indented(() => out.line('Object.defineProperty(copy, alias, { enumerable: true, configurable: false, get: () => copy[accessor] });'));
          out.line('}');
        });
        out.line('}');
        out.line('return freeze ? Object.freeze(copy) : copy;');
      });
      out.line('}');
      out.line();
      out.line('type __DbViewBase = __DbConnectionImpl<typeof REMOTE_MODULE>["db"];');
      out.line('export type DbView = __DbViewBase & {');
      out.indented(() => {
        for (const [deprecated, target] of tableAliases) {
          out.line(deprecation(target));
          out.line(`readonly ${quote(deprecated)}: __DbViewBase[${quote(target)}];`);
        }
      });
      out.line('};');
      out.line();
      out.line('type __TablesBase = __QueryBuilder<typeof tablesSchema.schemaType>;');
      out.line('export type Tables = __TablesBase & {');
      out.indented(() => {
        for (const [deprecated, target] of tableAliases) {
          out.line(deprecation(target));
          out.line(`readonly ${quote(deprecated)}: __TablesBase[${quote(target)}];`);
        }
      });
      out.line('};');
    }

    out.line();
    out.line('/** The tables and views of the module; each one is also a query builder for subscriptions. */');
    if (hasAliases) {
      out.line('const tablesBase: __TablesBase = __makeQueryBuilder(tablesSchema.schemaType);');
      out.line('export const tables: Tables = __withTableAccessorAliases(tablesBase, true) as Tables;');
    } else {
      out.line('export const tables: __QueryBuilder<typeof tablesSchema.schemaType> = __makeQueryBuilder(tablesSchema.schemaType);');
    }
    out.line();
    out.line('/** The reducers of the module, keyed by camelCase accessor. */');
    out.line('export const reducers = __convertToAccessorMap(reducersSchema.reducersType.reducers);');
    out.line();
    out.line('/** The procedures of the module, keyed by camelCase accessor. */');
    out.line('export const procedures = __convertToAccessorMap(proceduresSchema.procedures);');
    out.line();

    const context = (exported: string, iface: string, doc: string) => {
      out.line(`/** ${doc} */`);
      out.line(
        hasAliases
          ? `export type ${exported} = Omit<${iface}<typeof REMOTE_MODULE>, "db"> & { db: DbView };`
          : `export type ${exported} = ${iface}<typeof REMOTE_MODULE>;`,
      );
    };
    context('EventContext', '__EventContextInterface', 'Context passed to row callbacks, for any kind of event.');
    context('ReducerEventContext', '__ReducerEventContextInterface', 'Context passed to reducer callbacks.');
    context('SubscriptionEventContext', '__SubscriptionEventContextInterface', 'Context passed to subscription callbacks.');
    context('ErrorContext', '__ErrorContextInterface', 'Context passed to error callbacks.');
    out.line('/** Handle to one subscription made with a {@link SubscriptionBuilder}. */');
    out.line('export type SubscriptionHandle = __SubscriptionHandleImpl<typeof REMOTE_MODULE>;');
    out.line();
    out.line('/** Configures and starts subscriptions on a connection. */');
    out.line('export class SubscriptionBuilder extends __SubscriptionBuilderImpl<typeof REMOTE_MODULE> {}');
    out.line();
    out.line('/** Configures and opens a {@link DbConnection}. */');
    out.line('export class DbConnectionBuilder extends __DbConnectionBuilder<DbConnection> {}');
    out.line();
    out.line('/** A connection to the database, typed for this module. */');
    out.line('export class DbConnection extends __DbConnectionImpl<typeof REMOTE_MODULE> {');
    out.indented(() => {
      if (hasAliases) {
        out.line('declare db: DbView;');
        out.line();
        out.line('constructor(config: __DbConnectionConfig<typeof REMOTE_MODULE>) {');
        out.indented(() => {
          out.line('super(config);');
          out.line('this.db = __withTableAccessorAliases(this.db) as DbView;');
        });
        out.line('}');
        out.line();
      }
      out.line('/** Starts configuring a new connection. */');
      out.line('static builder = (): DbConnectionBuilder => {');
      out.indented(() =>
        out.line('return new DbConnectionBuilder(REMOTE_MODULE, (config: __DbConnectionConfig<typeof REMOTE_MODULE>) => new DbConnection(config));'),
      );
      out.line('};');
      out.line();
      out.line('/** Starts configuring a subscription on this connection. */');
      out.line('override subscriptionBuilder = (): SubscriptionBuilder => {');
      out.indented(() => out.line('return new SubscriptionBuilder(this);'));
      out.line('};');
    });
    out.line('}');
    return out.toString();
  }

  generate(): Map<string, string> {
    const files: [string, string][] = [];
    const add = (path: string, contents: string) => {
      if (files.some(([p]) => p === path)) throw new CodegenError(`two generated files would both be ${path}`);
      files.push([path, contents]);
    };
    for (const t of [...this.clientTables(), ...this.clientViews()]) add(`${tableModule(t)}.ts`, this.tableFile(t));
    for (const r of this.clientReducers()) add(`${reducerModule(r)}.ts`, this.reducerFile(r));
    for (const p of this.clientProcedures()) add(`${procedureModule(p)}.ts`, this.procedureFile(p));
    add('index.ts', this.indexFile());
    add('types/reducers.ts', this.reducerTypesFile());
    add('types/procedures.ts', this.procedureTypesFile());
    add('types.ts', this.types.typesFile());
    return new Map(files.sort((a, b) => byCodeUnits(a[0], b[0])));
  }
}

/**
 * Client bindings for `catalog`, as relative path → file contents, in path order. Throws
 * `CodegenError` when the module uses a type bindings cannot express.
 */
export function generateBindings(catalog: Catalog, options: GenerateOptions = {}): Map<string, string> {
  return new Generator(buildCodegenModel(catalog), options).generate();
}
