// Results that callers branch on: `{ ok: true, ... } | { ok: false, code, message }`.

export type Failure<Code extends string = string> = { ok: false; code: Code; message: string };
export type Success<Value extends object = object> = { ok: true } & Value;
export type Result<Value extends object = object, Code extends string = string> = Success<Value> | Failure<Code>;

export function failure<Code extends string>(code: Code, message: string): Failure<Code> {
  return { ok: false, code, message };
}

/** The message of anything thrown, without stack traces or secrets that may sit in other fields. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return 'unknown error';
}
