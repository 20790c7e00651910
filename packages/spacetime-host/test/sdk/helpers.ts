// Shared helpers for tests that drive the host through the real `spacetimedb` SDK.
import { startHost, type RunningHost, type StartHostOptions } from '../../src/index';
import pino from 'pino';
import { fileURLToPath } from 'node:url';
import type { Identity } from 'spacetimedb';

/** A fixture module folder, by name, independent of the working directory. */
export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export async function withHost(opts: Omit<StartHostOptions, 'port' | 'logger'> & { port?: number }): Promise<RunningHost> {
  return startHost({ port: 0, logger: pino({ level: process.env.HOST_LOG ?? 'silent' }), ...opts });
}

/** Resolve when `predicate` holds, polling the SDK's caches; fail with `what` after `ms`. */
export async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Any generated `DbConnection` class: the tests use several modules' bindings. */
interface ConnectionClass<C> {
  builder(): {
    withUri(uri: string): any;
  };
  prototype: C;
}

export interface Connected<C> {
  conn: C;
  identity: Identity;
  token: string;
}

/** Connect a real SDK client to `url`/`database`; rejects on onConnectError. */
export function connectSdk<C>(
  Conn: ConnectionClass<C>,
  url: string,
  database: string,
  opts: { token?: string; compression?: 'gzip' | 'none' | 'brotli' } = {},
): Promise<Connected<C>> {
  const ready = deferred<Connected<C>>();
  let b = Conn.builder().withUri(url.replace(/^http/, 'ws')).withDatabaseName(database).withToken(opts.token);
  if (opts.compression) b = b.withCompression(opts.compression);
  b.onConnect((conn: C, identity: Identity, token: string) => ready.resolve({ conn, identity, token }))
    .onConnectError((_ctx: unknown, err: unknown) => ready.reject(err))
    .build();
  return ready.promise;
}
