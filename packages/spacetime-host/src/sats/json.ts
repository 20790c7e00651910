// JSON ↔ raw values for the debugging HTTP routes (`call`, `sql`). Mirrors the SATS-JSON shapes
// the `spacetime` CLI uses: products as arrays or objects, sums as {"variant": payload}, options
// as the value or null, big integers as numbers or decimal strings, special types as hex/number.
import type { SumValue } from './codec';
import { describeType, isBigIntKind, isIntegerKind, intBits, isSigned, type Ty } from './types';

export class JsonValueError extends Error {
  override name = 'JsonValueError';
}

function intFromJson(kind: string, j: unknown, path: string): number | bigint {
  let v: bigint;
  if (typeof j === 'number' && Number.isInteger(j)) v = BigInt(j);
  else if (typeof j === 'string' && /^-?\d+$/.test(j)) v = BigInt(j);
  else throw new JsonValueError(`${path}: expected an integer for ${kind}, got ${JSON.stringify(j)}`);
  const bits = BigInt(intBits(kind));
  const min = isSigned(kind) ? -(1n << (bits - 1n)) : 0n;
  const max = isSigned(kind) ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new JsonValueError(`${path}: ${v} is out of range for ${kind}`);
  return isBigIntKind(kind) ? v : Number(v);
}

export function jsonToValue(ty: Ty, j: unknown, path = '$'): unknown {
  if (isIntegerKind(ty.kind)) return intFromJson(ty.kind, j, path);
  switch (ty.kind) {
    case 'Bool':
      if (typeof j !== 'boolean') throw new JsonValueError(`${path}: expected a boolean`);
      return j;
    case 'F32':
    case 'F64':
      if (typeof j !== 'number') throw new JsonValueError(`${path}: expected a number`);
      return j;
    case 'String':
      if (typeof j !== 'string') throw new JsonValueError(`${path}: expected a string`);
      return j;
    case 'Array':
      if (ty.elem.kind === 'U8') {
        if (typeof j === 'string' && /^(0x)?([0-9a-fA-F]{2})*$/.test(j)) return Uint8Array.from(Buffer.from(j.replace(/^0x/, ''), 'hex'));
        if (Array.isArray(j)) return Uint8Array.from(j.map((x, i) => intFromJson('U8', x, `${path}[${i}]`) as number));
        throw new JsonValueError(`${path}: expected hex bytes`);
      }
      if (!Array.isArray(j)) throw new JsonValueError(`${path}: expected an array`);
      return j.map((x, i) => jsonToValue(ty.elem, x, `${path}[${i}]`));
    case 'Product': {
      if (ty.special) {
        const inner = ty.elements[0]!.ty.kind;
        if (typeof j === 'string' && /^(0x)?[0-9a-fA-F]+$/.test(j) && ty.special !== 'timestamp' && ty.special !== 'time_duration') {
          return [BigInt(`0x${j.replace(/^0x/, '')}`)];
        }
        if (j && typeof j === 'object' && !Array.isArray(j)) {
          const k = Object.keys(j)[0]!;
          return [intFromJson(inner, (j as Record<string, unknown>)[k], path)];
        }
        return [intFromJson(inner, j, path)];
      }
      if (Array.isArray(j)) {
        if (j.length !== ty.elements.length) throw new JsonValueError(`${path}: expected ${ty.elements.length} elements, got ${j.length}`);
        return ty.elements.map((e, i) => jsonToValue(e.ty, j[i], `${path}[${i}]`));
      }
      if (j && typeof j === 'object') {
        const o = j as Record<string, unknown>;
        return ty.elements.map((e, i) => {
          const name = e.name ?? String(i);
          if (!(name in o)) throw new JsonValueError(`${path}: missing field ${name}`);
          return jsonToValue(e.ty, o[name], `${path}.${name}`);
        });
      }
      throw new JsonValueError(`${path}: expected ${describeType(ty)}`);
    }
    case 'Sum': {
      if (ty.option) {
        if (j === null || j === undefined) return { tag: 1, value: [] } satisfies SumValue;
        if (j && typeof j === 'object' && !Array.isArray(j) && 'some' in j) return { tag: 0, value: jsonToValue(ty.variants[0]!.ty, (j as { some: unknown }).some, path) };
        return { tag: 0, value: jsonToValue(ty.variants[0]!.ty, j, path) } satisfies SumValue;
      }
      let name: string;
      let payload: unknown = [];
      if (typeof j === 'string') name = j;
      else if (j && typeof j === 'object' && !Array.isArray(j) && Object.keys(j).length === 1) {
        name = Object.keys(j)[0]!;
        payload = (j as Record<string, unknown>)[name];
      } else throw new JsonValueError(`${path}: expected a variant of ${describeType(ty)}`);
      const tag = ty.variants.findIndex((v) => v.name === name);
      if (tag < 0) throw new JsonValueError(`${path}: unknown variant ${name}`);
      return { tag, value: jsonToValue(ty.variants[tag]!.ty, payload, `${path}.${name}`) } satisfies SumValue;
    }
  }
  throw new JsonValueError(`${path}: unsupported type ${describeType(ty)}`);
}

export function valueToJson(ty: Ty, v: unknown): unknown {
  if (isBigIntKind(ty.kind)) {
    const b = v as bigint;
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
  }
  switch (ty.kind) {
    case 'Array':
      if (ty.elem.kind === 'U8') return Buffer.from(v as Uint8Array).toString('hex');
      return (v as unknown[]).map((x) => valueToJson(ty.elem, x));
    case 'Product': {
      const arr = v as unknown[];
      if (ty.special === 'identity' || ty.special === 'connection_id' || ty.special === 'uuid') {
        const width = ty.special === 'identity' ? 64 : 32;
        return `0x${(arr[0] as bigint).toString(16).padStart(width, '0')}`;
      }
      if (ty.special) return valueToJson(ty.elements[0]!.ty, arr[0]);
      const o: Record<string, unknown> = {};
      ty.elements.forEach((e, i) => (o[e.name ?? String(i)] = valueToJson(e.ty, arr[i])));
      return o;
    }
    case 'Sum': {
      const s = v as SumValue;
      if (ty.option) return s.tag === 1 ? null : valueToJson(ty.variants[0]!.ty, s.value);
      const variant = ty.variants[s.tag]!;
      return { [variant.name ?? String(s.tag)]: valueToJson(variant.ty, s.value) };
    }
    default:
      return v;
  }
}
