// Named types in generated bindings: the SDK type-builder expression for each use of a type,
// object members (as getters where a type may be declared later, annotated on recursive cycles),
// the imports a file needs from `types.ts`, and `types.ts` itself.
import { toCamelCase, toPascalCase } from './case';
import { Out, TYPE_BUILDER_IMPORTS, byCodeUnits, header, propertyKey, quote } from './emit';
import { CodegenError, refsOf, type CodegenModel, type FieldUse, type TypeUse } from './model';

export class TypeBuilders {
  private readonly typeNames = new Map<number, string>();

  constructor(private readonly model: CodegenModel) {
    for (const def of model.types.values()) this.typeNames.set(def.ref, def.name);
  }

  typeName(ref: number): string {
    const name = this.typeNames.get(ref);
    if (!name) throw new CodegenError(`type ref ${ref} has no name`);
    return name;
  }

  builder(use: TypeUse): string {
    switch (use.kind) {
      case 'ref':
        return this.typeName(use.ref);
      case 'array':
        return use.elem.kind === 'primitive' && use.elem.name === 'U8' ? '__t.byteArray()' : `__t.array(${this.builder(use.elem)})`;
      case 'option':
        return `__t.option(${this.builder(use.inner)})`;
      case 'result':
        return `__t.result(${this.builder(use.ok)}, ${this.builder(use.err)})`;
      case 'primitive':
        return `__t.${use.name.toLowerCase()}()`;
      case 'string':
        return '__t.string()';
      case 'unit':
        return '__t.unit()';
      // The SDK has no `t.never()`; an empty sum has the same wire type.
      case 'never':
        return '__t.enum("Never", [])';
      case 'identity':
        return '__t.identity()';
      case 'connectionId':
        return '__t.connectionId()';
      case 'timestamp':
        return '__t.timestamp()';
      case 'timeDuration':
        return '__t.timeDuration()';
      case 'uuid':
        return '__t.uuid()';
      case 'scheduleAt':
        return '__t.scheduleAt()';
    }
  }

  /**
   * Object-literal members; fields whose type mentions a named type become getters (types may be
   * declared later). A getter that leads back into its own recursive group gets an explicit
   * `any`-typed builder annotation: without it TypeScript cannot infer the recursive type at all.
   */
  fields(out: Out, fields: { key: string; use: TypeUse; suffix?: string }[], recursiveGroup?: ReadonlySet<number>): void {
    for (const f of fields) {
      const expr = this.builder(f.use) + (f.suffix ?? '');
      const refs = refsOf(f.use);
      if (refs.size > 0) {
        const backEdge = recursiveGroup !== undefined && [...refs].some((r) => recursiveGroup.has(r));
        out.line(`get ${propertyKey(f.key)}()${backEdge ? ': __TypeBuilder<any, any>' : ''} {`);
        out.indented(() => out.line(`return ${expr};`));
        out.line('},');
      } else {
        out.line(`${propertyKey(f.key)}: ${expr},`);
      }
    }
  }

  plainFields(out: Out, fields: FieldUse[], recursiveGroup?: ReadonlySet<number>): void {
    this.fields(
      out,
      fields.map((f) => ({ key: toCamelCase(f.name), use: f.ty })),
      recursiveGroup,
    );
  }

  typeImports(out: Out, uses: TypeUse[]): void {
    const refs = new Set<number>();
    for (const u of uses) refsOf(u, refs);
    if (refs.size === 0) return;
    out.line('import {');
    out.indented(() => {
      for (const ref of [...refs].sort((a, b) => a - b)) out.line(`${this.typeName(ref)},`);
    });
    out.line('} from "./types";');
    out.line();
  }

  /** `types.ts`: every named type, in upstream's order. */
  typesFile(): string {
    const out = new Out();
    header(out, { version: false, imports: TYPE_BUILDER_IMPORTS });
    out.line();
    // Upstream leaves out types named like a reducer: those are the reducers' parameter records.
    const reducerTypeNames = new Set(this.model.reducers.map((r) => toPascalCase(r.accessor)));
    const defs = [...this.model.types.values()].sort((a, b) => {
      for (let i = 0; i < Math.min(a.scope.length, b.scope.length); i++) {
        const c = byCodeUnits(a.scope[i]!, b.scope[i]!);
        if (c !== 0) return c;
      }
      return a.scope.length - b.scope.length || byCodeUnits(a.baseName, b.baseName) || a.ref - b.ref;
    });
    const groups = recursiveGroups(this.model);
    const emitted = new Set<string>();
    for (const def of defs) {
      const group = groups.get(def.ref);
      if (reducerTypeNames.has(def.name)) continue;
      if (emitted.has(def.name)) throw new CodegenError(`two types are both named ${def.name} in the generated bindings`);
      emitted.add(def.name);
      if (def.kind === 'product') {
        if (def.members.length === 0) {
          out.line(`export const ${def.name} = __t.object(${quote(def.name)}, {});`);
        } else {
          out.line(`export const ${def.name} = __t.object(${quote(def.name)}, {`);
          out.indented(() => this.plainFields(out, def.members, group));
          out.line('});');
        }
      } else {
        out.line(`// Sum type \`${def.name}\`: one variant per case, as a tagged union.`);
        const annotation = def.name === 'AlgebraicType' ? ': __TypeBuilder<__AlgebraicTypeType, __AlgebraicTypeType>' : '';
        out.line(`export const ${def.name}${annotation} = __t.enum(${quote(def.name)}, {`);
        out.indented(() =>
          this.fields(
            out,
            def.members.map((v) => ({ key: toPascalCase(v.name), use: v.ty })),
            group,
          ),
        );
        out.line('});');
      }
      out.line(`export type ${def.name} = __Infer<typeof ${def.name}>;`);
      out.line();
    }
    return out.toString();
  }
}

/** For every named type on a reference cycle, the set of types on its cycle (Tarjan's SCCs). */
function recursiveGroups(model: CodegenModel): Map<number, ReadonlySet<number>> {
  const edges = new Map<number, number[]>();
  for (const def of model.types.values()) {
    const refs = new Set<number>();
    for (const m of def.members) refsOf(m.ty, refs);
    edges.set(def.ref, [...refs].filter((r) => model.types.has(r)));
  }
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const groups = new Map<number, ReadonlySet<number>>();
  let next = 0;
  const visit = (v: number): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const members = new Set<number>();
      let w: number;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        members.add(w);
      } while (w !== v);
      const selfLoop = (edges.get(v) ?? []).includes(v);
      if (members.size > 1 || selfLoop) for (const m of members) groups.set(m, members);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups;
}
