// World creation and administration: init records the publisher as admin; configure_world sets
// the trusted control issuer(s) and tunables. Until configured, every client call is refused.
import { ScheduleAt, t } from 'spacetimedb/server';
import { configOf, requireWorldAdmin, type Ctx } from './auth';
import { CONFIG_ROW_ID, DEFAULT_TUNABLES, Limits } from './constants';
import spacetimedb from './schema';
import { utf8Length } from './validate';
import { refuse } from './refuse';

const ISSUER = /^https?:\/\/[^\s]+$/;

export const init = spacetimedb.init((ctx) => {
  ctx.db.world_admin.insert({ admin: ctx.sender, added_by: ctx.sender, added_at: ctx.timestamp });
  ctx.db.world_config.insert({
    config_id: CONFIG_ROW_ID,
    configured: false,
    trusted_issuers: [],
    ...DEFAULT_TUNABLES,
    updated_by: ctx.sender,
    updated_at: ctx.timestamp,
  });
  ctx.db.presence_sweep.insert({ sweep_id: 0n, scheduled_at: sweepInterval(DEFAULT_TUNABLES.presence_sweep_ms) });
});

/** Every tunable: 0 means "use the default". */
export const configure_world = spacetimedb.reducer(
  {
    trusted_issuers: t.array(t.string()),
    heartbeat_interval_ms: t.u32(),
    presence_ttl_ms: t.u32(),
    presence_sweep_ms: t.u32(),
    checkpoint_every_ops: t.u32(),
    max_message_bytes: t.u32(),
    max_file_bytes: t.u32(),
  },
  (ctx, args) => {
    requireWorldAdmin(ctx, 'configure_world');
    const issuers = checkIssuers(args.trusted_issuers);
    const pick = (value: number, fallback: number): number => (value === 0 ? fallback : value);
    const tunables = {
      heartbeat_interval_ms: pick(args.heartbeat_interval_ms, DEFAULT_TUNABLES.heartbeat_interval_ms),
      presence_ttl_ms: pick(args.presence_ttl_ms, DEFAULT_TUNABLES.presence_ttl_ms),
      presence_sweep_ms: pick(args.presence_sweep_ms, DEFAULT_TUNABLES.presence_sweep_ms),
      checkpoint_every_ops: pick(args.checkpoint_every_ops, DEFAULT_TUNABLES.checkpoint_every_ops),
      max_message_bytes: pick(args.max_message_bytes, DEFAULT_TUNABLES.max_message_bytes),
      max_file_bytes: pick(args.max_file_bytes, DEFAULT_TUNABLES.max_file_bytes),
    };
    checkTunables(tunables);
    const previous = configOf(ctx);
    ctx.db.world_config.config_id.update({
      ...previous,
      configured: true,
      trusted_issuers: issuers,
      ...tunables,
      updated_by: ctx.sender,
      updated_at: ctx.timestamp,
    });
    if (previous.presence_sweep_ms !== tunables.presence_sweep_ms || ctx.db.presence_sweep.count() === 0n) {
      rearmSweep(ctx, tunables.presence_sweep_ms);
    }
  },
);

export const add_world_admin = spacetimedb.reducer({ admin: t.identity() }, (ctx, { admin }) => {
  requireWorldAdmin(ctx, 'add_world_admin');
  if (ctx.db.world_admin.admin.find(admin)) return;
  ctx.db.world_admin.insert({ admin, added_by: ctx.sender, added_at: ctx.timestamp });
});

export const remove_world_admin = spacetimedb.reducer({ admin: t.identity() }, (ctx, { admin }) => {
  requireWorldAdmin(ctx, 'remove_world_admin');
  if (!ctx.db.world_admin.admin.find(admin)) return;
  if (ctx.db.world_admin.count() === 1n) throw refuse('invalid_state', 'remove_world_admin denied: the last admin cannot be removed');
  ctx.db.world_admin.admin.delete(admin);
});

function sweepInterval(ms: number) {
  return ScheduleAt.interval(BigInt(ms) * 1000n);
}

/** Replaces the sweep schedule row, which re-arms its timer with the new interval. */
function rearmSweep(ctx: Ctx, ms: number): void {
  const rows = [...ctx.db.presence_sweep.iter()];
  const [first, ...extra] = rows;
  for (const row of extra) ctx.db.presence_sweep.sweep_id.delete(row.sweep_id);
  if (first) ctx.db.presence_sweep.sweep_id.update({ ...first, scheduled_at: sweepInterval(ms) });
  else ctx.db.presence_sweep.insert({ sweep_id: 0n, scheduled_at: sweepInterval(ms) });
}

function checkIssuers(issuers: readonly string[]): string[] {
  if (issuers.length === 0) throw refuse('invalid_argument', 'configure_world: trusted_issuers must name at least one control issuer');
  if (issuers.length > Limits.trustedIssuers) throw refuse('limit_exceeded', `configure_world: at most ${Limits.trustedIssuers} trusted issuers`);
  const seen = new Set<string>();
  for (const issuer of issuers) {
    if (!ISSUER.test(issuer) || utf8Length(issuer) > Limits.issuerBytes) {
      throw refuse('invalid_argument', `configure_world: issuer ${JSON.stringify(issuer)} must be an http(s) URL of at most ${Limits.issuerBytes} bytes`);
    }
    if (seen.has(issuer)) throw refuse('invalid_argument', `configure_world: issuer ${JSON.stringify(issuer)} is listed twice`);
    seen.add(issuer);
  }
  return [...issuers];
}

function checkTunables(v: {
  heartbeat_interval_ms: number;
  presence_ttl_ms: number;
  presence_sweep_ms: number;
  checkpoint_every_ops: number;
  max_message_bytes: number;
  max_file_bytes: number;
}): void {
  const fail = (message: string): never => {
    throw refuse('invalid_argument', `configure_world: ${message}`);
  };
  if (v.heartbeat_interval_ms < 100) fail('heartbeat_interval_ms must be at least 100');
  if (v.presence_ttl_ms <= v.heartbeat_interval_ms) fail('presence_ttl_ms must be longer than heartbeat_interval_ms');
  if (v.presence_sweep_ms < 50 || v.presence_sweep_ms > v.presence_ttl_ms) fail('presence_sweep_ms must be between 50 and presence_ttl_ms');
  if (v.checkpoint_every_ops > 1_000_000) fail('checkpoint_every_ops must be at most 1000000');
  if (v.max_message_bytes > 1024 * 1024) fail('max_message_bytes must be at most 1048576');
  if (v.max_file_bytes > 16 * 1024 * 1024) fail('max_file_bytes must be at most 16777216');
}
