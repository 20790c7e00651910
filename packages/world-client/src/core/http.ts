// The slice of `fetch` the core uses; the global fetch satisfies it, and tests or hosts without
// one pass their own.

export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface RequestInitLike {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export type FetchLike = (url: string, init?: RequestInitLike) => Promise<ResponseLike>;

export function defaultFetch(): FetchLike {
  if (typeof globalThis.fetch !== 'function') {
    throw new TypeError('this runtime has no global fetch: pass a fetch implementation in the options');
  }
  return (url, init) => globalThis.fetch(url, init);
}

/** Reads `{ error: { code, message } }` bodies (the control service's shape) without throwing. */
export async function readErrorBody(response: ResponseLike): Promise<{ code: string | undefined; message: string }> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    return { code: undefined, message: `${response.status} ${response.statusText}` };
  }
  try {
    const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof json.error?.code === 'string' ? json.error.code : undefined;
    const message = typeof json.error?.message === 'string' ? json.error.message : `${response.status} ${response.statusText}`;
    return { code, message };
  } catch {
    return { code: undefined, message: text.trim().slice(0, 200) || `${response.status} ${response.statusText}` };
  }
}
