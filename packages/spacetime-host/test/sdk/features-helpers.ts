// Helpers for the feature suites: SDK clients of the `features` fixture module.
import type { Identity } from 'spacetimedb';
import type { RunningHost } from '../../src/index';
import { DbConnection, type ErrorContext, type SubscriptionHandle } from '../fixtures/features/module_bindings/index';
import { deferred, fixture, withHost } from './helpers';

export { DbConnection };

export interface Client {
  conn: DbConnection;
  identity: Identity;
  token: string;
}

export const FEATURES_DB = 'features';

export async function startFeaturesHost(): Promise<RunningHost> {
  return withHost({ module: fixture('features'), name: FEATURES_DB });
}

function builder(host: RunningHost, token: string | undefined) {
  return DbConnection.builder().withUri(host.url.replace('http', 'ws')).withDatabaseName(FEATURES_DB).withToken(token);
}

/** Connect a client (anonymous without a token); rejects on onConnectError. */
export async function connect(host: RunningHost, token?: string): Promise<Client> {
  const ready = deferred<Client>();
  builder(host, token)
    .onConnect((conn, identity, tok) => ready.resolve({ conn, identity, token: tok }))
    .onConnectError((_ctx, err) => ready.reject(err))
    .build();
  return ready.promise;
}

export type ConnectOutcome = { ok: true; client: Client } | { ok: false; via: 'connectError' | 'disconnect'; error: Error };

/** Try to connect and report how it ended: refused connections resolve with the callback that fired. */
export async function connectOutcome(host: RunningHost, token?: string): Promise<ConnectOutcome> {
  const done = deferred<ConnectOutcome>();
  builder(host, token)
    .onConnect((conn, identity, tok) => done.resolve({ ok: true, client: { conn, identity, token: tok } }))
    .onConnectError((_ctx, error) => done.resolve({ ok: false, via: 'connectError', error }))
    .onDisconnect((_ctx, error) => done.resolve({ ok: false, via: 'disconnect', error: error ?? new Error('disconnected') }))
    .build();
  return done.promise;
}

/** Fail instead of hanging when the host never answers (e.g. it closed the socket). */
async function answered<T>(conn: DbConnection, p: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms to ${what} (connection active: ${conn.isActive})`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Subscribe one query set; resolves with its handle once applied, rejects on a subscription error. */
export async function subscribe(conn: DbConnection, queries: string[]): Promise<SubscriptionHandle> {
  const applied = deferred<SubscriptionHandle>();
  const handle: SubscriptionHandle = conn
    .subscriptionBuilder()
    .onApplied(() => applied.resolve(handle))
    .onError((ctx: ErrorContext) => applied.reject(ctx.event ?? new Error('subscription error')))
    .subscribe(queries);
  return answered(conn, applied.promise, `subscribe ${queries.join('; ')}`);
}

/** Subscribe a query set that must fail; resolves with the error the SDK reported. */
export async function subscriptionError(conn: DbConnection, queries: string[]): Promise<Error> {
  const failed = deferred<Error>();
  conn
    .subscriptionBuilder()
    .onApplied(() => failed.reject(new Error(`subscription unexpectedly applied: ${queries.join('; ')}`)))
    .onError((ctx: ErrorContext) => failed.resolve(ctx.event ?? new Error('subscription error without details')))
    .subscribe(queries);
  return answered(conn, failed.promise, `subscribe (expecting an error) ${queries.join('; ')}`);
}

/** Unsubscribe and wait for UnsubscribeApplied. */
export async function unsubscribe(conn: DbConnection, handle: SubscriptionHandle): Promise<void> {
  const ended = deferred<void>();
  handle.unsubscribeThen(() => ended.resolve());
  return answered(conn, ended.promise, 'unsubscribe');
}

/** The message a rejected reducer/procedure promise carries. */
export async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error('expected the call to fail, but it succeeded');
}
