// The host's own view of SATS types: Refs resolved, special types marked, so the codec,
// the comparator and the SQL engine never need the typespace again.
import type { AlgebraicType as SdkAlgebraicType } from 'spacetimedb';

export type PrimitiveKind =
  | 'Bool' | 'U8' | 'I8' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64'
  | 'U128' | 'I128' | 'U256' | 'I256' | 'F32' | 'F64' | 'String';

export type SpecialKind = 'identity' | 'connection_id' | 'timestamp' | 'time_duration' | 'uuid';

export interface Field {
  name: string | undefined;
  ty: Ty;
}

export type Ty =
  | { kind: PrimitiveKind }
  | { kind: 'Product'; elements: Field[]; special?: SpecialKind }
  | { kind: 'Sum'; variants: Field[]; option?: boolean; scheduleAt?: boolean }
  | { kind: 'Array'; elem: Ty };

export interface SdkTypespace {
  types: SdkAlgebraicType[];
}

const SPECIAL_FIELDS: Record<string, SpecialKind> = {
  __identity__: 'identity',
  __connection_id__: 'connection_id',
  __timestamp_micros_since_unix_epoch__: 'timestamp',
  __time_duration_micros__: 'time_duration',
  __uuid__: 'uuid',
};

/** Resolve an SDK AlgebraicType (tag/value form, possibly with Refs) into a Ty. Recursive types are shared objects. */
export function resolveType(ty: SdkAlgebraicType, typespace: SdkTypespace, memo = new Map<number, Ty>()): Ty {
  const t = ty as { tag: string; value?: any };
  switch (t.tag) {
    case 'Ref': {
      const idx = t.value as number;
      const hit = memo.get(idx);
      if (hit) return hit;
      const target = typespace.types[idx];
      if (!target) throw new Error(`typespace has no type at ref ${idx}`);
      // Placeholder first, so a recursive reference resolves to the same object.
      const placeholder = {} as Ty;
      memo.set(idx, placeholder);
      Object.assign(placeholder, resolveType(target, typespace, memo));
      return placeholder;
    }
    case 'Product': {
      const elements: Field[] = (t.value.elements as any[]).map((e) => ({
        name: e.name ?? undefined,
        ty: resolveType(e.algebraicType, typespace, memo),
      }));
      const out: Ty = { kind: 'Product', elements };
      const only = elements.length === 1 ? elements[0] : undefined;
      if (only?.name && SPECIAL_FIELDS[only.name]) out.special = SPECIAL_FIELDS[only.name];
      return out;
    }
    case 'Sum': {
      const variants: Field[] = (t.value.variants as any[]).map((v) => ({
        name: v.name ?? undefined,
        ty: resolveType(v.algebraicType, typespace, memo),
      }));
      const out: Ty = { kind: 'Sum', variants };
      if (variants.length === 2 && variants[0]?.name === 'some' && variants[1]?.name === 'none') out.option = true;
      if (variants.length === 2 && variants[0]?.name === 'Interval' && variants[1]?.name === 'Time') out.scheduleAt = true;
      return out;
    }
    case 'Array':
      return { kind: 'Array', elem: resolveType(t.value, typespace, memo) };
    default:
      return { kind: t.tag as PrimitiveKind };
  }
}

export const isIntegerKind = (k: string): boolean => /^[UI](8|16|32|64|128|256)$/.test(k);
export const isBigIntKind = (k: string): boolean => /^[UI](64|128|256)$/.test(k);
export const intBits = (k: string): number => Number(k.slice(1));
export const isSigned = (k: string): boolean => k.startsWith('I');

export function describeType(ty: Ty): string {
  switch (ty.kind) {
    case 'Product':
      return ty.special ?? `(${ty.elements.map((e) => `${e.name ?? '_'}: ${describeType(e.ty)}`).join(', ')})`;
    case 'Sum':
      if (ty.option) return `Option<${describeType(ty.variants[0]!.ty)}>`;
      return ty.variants.map((v) => v.name ?? '_').join(' | ');
    case 'Array':
      return `Array<${describeType(ty.elem)}>`;
    default:
      return ty.kind;
  }
}
