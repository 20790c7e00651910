// The module on the host's ModuleHost without sockets or SDK: reducer calls by name with plain
// object arguments, a controllable clock and hand-made token claims. For long deterministic runs
// (the SDK tests cover the wire path and real tokens).
import { bundleModule, ModuleHost } from '@autopilot/spacetime-host';
import { pino } from 'pino';
import { encode } from '../../../packages/spacetime-host/src/sats/codec';
import type { Ty } from '../../../packages/spacetime-host/src/sats/types';
import { MODULE_DIR } from '../../scripts/bindings';

export const ISSUER = 'http://control.test';
export const ALL_SCOPES = ['world:join', 'comms:write', 'compute:request', 'compute:provide', 'files:write', 'bridge:publish'];

let bundle: ReturnType<typeof bundleModule> | undefined;

export interface Actor {
  /** The connection identity (ctx.sender). */
  identity: bigint;
  /** The user's principal: the Nostr pubkey as a u256 (what rows hold); the admin has none. */
  principal: bigint;
  connectionId: bigint;
}

export interface DirectWorld {
  module: ModuleHost;
  clock: { micros: bigint };
  admin: Actor;
  /** Calls a reducer; returns the outcome kind and message (never throws for user errors). */
  call(actor: Actor, reducer: string, args: Record<string, unknown>): { ok: true } | { ok: false; message: string };
  /** Same, but a failure throws (for set-up steps). */
  must(actor: Actor, reducer: string, args: Record<string, unknown>): void;
  /**
   * Connects actor `index` with token claims from ISSUER carrying `scopes` (nothing is joined yet);
   * `claims` overrides or (with undefined) removes claims.
   */
  connect(index: number, scopes?: string[], claims?: Record<string, unknown>): Actor;
  close(): void;
}

export async function startDirectWorld(tunables: Record<string, number> = {}): Promise<DirectWorld> {
  bundle ??= bundleModule(MODULE_DIR);
  const clock = { micros: 1_750_000_000_000_000n };
  const admin: Actor = { identity: 0xad01n, principal: 0xad01n, connectionId: 0n };
  const module = await ModuleHost.create({
    module: await bundle,
    name: 'direct',
    databaseIdentity: 0xdb01n,
    ownerIdentity: admin.identity,
    logger: pino({ level: 'silent' }),
    now: () => clock.micros,
  });
  let connections = 0;
  const init = module.initialize();
  if (init && init.kind !== 'committed') throw new Error(`init failed: ${init.kind}`);

  const call: DirectWorld['call'] = (actor, reducer, args) => {
    const def = module.catalog.reducerByName.get(reducer);
    if (!def) throw new Error(`no reducer ${reducer}`);
    const outcome = module.callReducer(reducer, encode(def.paramsTy, toPositional(def.paramsTy, args, reducer)), actor);
    if (outcome.kind === 'committed') return { ok: true };
    if (outcome.kind === 'user_error') return { ok: false, message: outcome.message };
    throw new Error(`${reducer} failed internally: ${'detail' in outcome ? outcome.detail : outcome.message}`);
  };
  const world: DirectWorld = {
    module,
    clock,
    admin,
    call,
    must(actor, reducer, args) {
      const outcome = call(actor, reducer, args);
      if (!outcome.ok) throw new Error(`${reducer}: ${outcome.message}`);
    },
    connect(index, scopes = ALL_SCOPES, overrides = {}) {
      const actor = { identity: (0xc200n << 240n) + BigInt(index), principal: BigInt(index), connectionId: BigInt(1000 + index + 100 * connections++) };
      const pubkey = index.toString(16).padStart(64, '0');
      const nowSeconds = Number(clock.micros / 1_000_000n);
      const claims: Record<string, unknown> = {
        iss: ISSUER,
        sub: pubkey,
        aud: ['spacetimedb'],
        iat: nowSeconds,
        exp: nowSeconds + 365 * 86_400,
        control_exp: nowSeconds + 365 * 86_400,
        hex_identity: actor.identity.toString(16).padStart(64, '0'),
        nostr_pubkey: pubkey,
        device_id: `device-${index}`,
        session_id: `session-${index}`,
        org: 'test',
        scopes,
        ...overrides,
      };
      const connected = module.connectClient(actor.identity, actor.connectionId, JSON.stringify(claims));
      if (connected && connected.kind !== 'committed') throw new Error(`connect ${index} refused`);
      return actor;
    },
    close() {
      module.close();
    },
  };
  world.must(admin, 'configure_world', {
    trusted_issuers: [ISSUER],
    heartbeat_interval_ms: 0,
    presence_ttl_ms: 0,
    presence_sweep_ms: 0,
    checkpoint_every_ops: 0,
    max_message_bytes: 0,
    max_file_bytes: 0,
    ...tunables,
  });
  return world;
}

/** Named arguments → the host codec's positional values (identities as bigints, options as undefined or a value). */
function toPositional(ty: Ty, value: unknown, where: string): unknown {
  switch (ty.kind) {
    case 'Product':
      if (ty.special) return [value];
      return ty.elements.map((element) => {
        const name = element.name!;
        const field = (value as Record<string, unknown>)[name];
        if (field === undefined && !(element.ty.kind === 'Sum' && element.ty.option)) throw new Error(`${where}: missing ${name}`);
        return toPositional(element.ty, field, `${where}.${name}`);
      });
    case 'Sum':
      if (!ty.option) throw new Error(`${where}: only option sums are supported here`);
      return value === undefined ? { tag: 1, value: [] } : { tag: 0, value: toPositional(ty.variants[0]!.ty, value, where) };
    case 'Array':
      return (value as unknown[]).map((item, i) => toPositional(ty.elem, item, `${where}[${i}]`));
    default:
      return value;
  }
}
