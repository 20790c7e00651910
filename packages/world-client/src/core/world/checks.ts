// Argument checks for the world's calls: JSON-safe inputs (ids as decimal strings, identities as
// hex) are validated before anything is stored, so a bad input fails at once with a clear message
// and never reaches the outbox.
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import type { LineOpView } from './models';

/** Thrown by the checks; the write wrappers turn it into `{ ok: false, code: 'invalid_argument' }`. */
export class InvalidArgument extends Error {
  override readonly name = 'InvalidArgument';
}

/** A fresh idempotency key / op id: printable, unique, accepted by the module's key rule. */
export function newKey(prefix: string): string {
  return `${prefix}-${bytesToHex(randomBytes(16))}`;
}

const KEY = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const U64_MAX = (1n << 64n) - 1n;

export function checkKey(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw new InvalidArgument(`${field} must be 1-128 characters from [A-Za-z0-9._:@/+=-]`);
  }
  return value;
}

/** A u64 id given as a decimal string (or a safe integer); returned as its canonical string. */
export function checkId(value: string | number | undefined, field: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > U64_MAX) {
    throw new InvalidArgument(`${field} must be a u64 written as a decimal string, got ${JSON.stringify(value)}`);
  }
  return text;
}

export function checkCount(value: number | undefined, field: string, fallback = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidArgument(`${field} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkIdentity(value: string | undefined, field: string): string {
  if (typeof value !== 'string' || !HEX64.test(value)) throw new InvalidArgument(`${field} must be an identity as 64 lowercase hex characters`);
  return value;
}

export function checkString(value: unknown, field: string, options: { allowEmpty?: boolean; fallback?: string } = {}): string {
  if (value === undefined && options.fallback !== undefined) return options.fallback;
  if (typeof value !== 'string') throw new InvalidArgument(`${field} must be a string`);
  if (!options.allowEmpty && value === '') throw new InvalidArgument(`${field} must not be empty`);
  return value;
}

export function checkStrings(value: readonly string[] | undefined, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new InvalidArgument(`${field} must be a list of strings`);
  return [...value];
}

export function checkJsonObject(value: unknown, field: string): string {
  if (value === undefined) return '{}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgument(`${field} must be a JSON object`);
  try {
    return JSON.stringify(value);
  } catch {
    throw new InvalidArgument(`${field} must be serialisable as JSON`);
  }
}

export function checkLineOps(ops: readonly LineOpView[] | undefined, field: string): LineOpView[] {
  if (!Array.isArray(ops)) throw new InvalidArgument(`${field} must be a list of { start, deleteCount, lines }`);
  return ops.map((op, index) => {
    if (typeof op !== 'object' || op === null) throw new InvalidArgument(`${field}[${index}] must be an object`);
    return {
      start: checkCount(op.start, `${field}[${index}].start`, undefined, 0xffff_ffff),
      deleteCount: checkCount(op.deleteCount, `${field}[${index}].deleteCount`, undefined, 0xffff_ffff),
      lines: checkStrings(op.lines, `${field}[${index}].lines`),
    };
  });
}
