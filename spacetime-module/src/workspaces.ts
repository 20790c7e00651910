// Workspaces and their members. Roles: owner (one, the creator) > admin > editor > viewer; a
// member row lists the capabilities it holds (defaults per role, see constants.ts). Only the
// owner may make or change admins; nobody may change or remove the owner.
import type { Identity } from 'spacetimedb';
import { t } from 'spacetimedb/server';
import { authorizeNode, membershipOf, requireMember, type Ctx } from './auth';
import { ALL_CAPABILITIES, Capability, Limits, ROLE_CAPABILITIES, WorkspaceRole, type WorkspaceRole as Role } from './constants';
import spacetimedb from './schema';
import { checkOneOf, checkSlug, checkText } from './validate';
import { refuse } from './refuse';
import { me } from './identity';

export const create_workspace = spacetimedb.reducer({ slug: t.string(), name: t.string() }, (ctx, { slug, name }) => {
  authorizeNode(ctx, 'create_workspace');
  checkSlug(slug, Limits.slug);
  checkText(name, 'name', Limits.name);
  const existing = ctx.db.workspace.slug.find(slug);
  if (existing) {
    // A retried create is a no-op; anything else is a clash.
    if (existing.owner.isEqual(me(ctx)) && existing.name === name) return;
    throw refuse('duplicate_key', `create_workspace: slug ${JSON.stringify(slug)} is taken`);
  }
  const created = ctx.db.workspace.insert({ workspace_id: 0n, slug, name, owner: me(ctx), created_at: ctx.timestamp });
  ctx.db.workspace_member.insert({
    membership_id: 0n,
    workspace_id: created.workspace_id,
    member: me(ctx),
    role: WorkspaceRole.owner,
    capabilities: [...ALL_CAPABILITIES],
    invited_by: me(ctx),
    joined_at: ctx.timestamp,
    updated_at: ctx.timestamp,
  });
});

/**
 * Adds `member` (or changes an existing member's role/capabilities). An empty `capabilities`
 * list means the role's defaults; an explicit list may not exceed the role's or the caller's own.
 */
export const invite_member = spacetimedb.reducer(
  { workspace_id: t.u64(), member: t.identity(), role: t.string(), capabilities: t.array(t.string()) },
  (ctx, { workspace_id, member, role, capabilities }) => {
    authorizeNode(ctx, 'invite_member');
    const caller = requireMember(ctx, 'invite_member', workspace_id, Capability.membersManage);
    const newRole = checkOneOf(role, 'role', [WorkspaceRole.admin, WorkspaceRole.editor, WorkspaceRole.viewer]);
    const granted = grantedCapabilities(newRole, capabilities, caller.capabilities);
    const existing = membershipOf(ctx, workspace_id, member);
    if (existing?.role === WorkspaceRole.owner) throw refuse('invalid_state', 'invite_member denied: the owner\'s role cannot be changed');
    const touchesAdmin = newRole === WorkspaceRole.admin || existing?.role === WorkspaceRole.admin;
    if (touchesAdmin && caller.role !== WorkspaceRole.owner) throw refuse('lacks_capability', 'invite_member denied: only the owner may make or change admins');
    if (existing) {
      ctx.db.workspace_member.membership_id.update({ ...existing, role: newRole, capabilities: granted, updated_at: ctx.timestamp });
      return;
    }
    ctx.db.workspace_member.insert({
      membership_id: 0n,
      workspace_id,
      member,
      role: newRole,
      capabilities: granted,
      invited_by: me(ctx),
      joined_at: ctx.timestamp,
      updated_at: ctx.timestamp,
    });
  },
);

/** Removes a member (yourself, or others with members:manage) and their workspace channel seats. */
export const remove_member = spacetimedb.reducer({ workspace_id: t.u64(), member: t.identity() }, (ctx, { workspace_id, member }) => {
  authorizeNode(ctx, 'remove_member');
  removeMember(ctx, 'remove_member', workspace_id, member);
});

export const leave_workspace = spacetimedb.reducer({ workspace_id: t.u64() }, (ctx, { workspace_id }) => {
  authorizeNode(ctx, 'leave_workspace');
  removeMember(ctx, 'leave_workspace', workspace_id, me(ctx));
});

function removeMember(ctx: Ctx, action: string, workspaceId: bigint, member: Identity): void {
  const self = member.isEqual(me(ctx));
  const caller = requireMember(ctx, action, workspaceId, self ? undefined : Capability.membersManage);
  const target = self ? caller : membershipOf(ctx, workspaceId, member);
  if (!target) return;
  if (target.role === WorkspaceRole.owner) throw refuse('invalid_state', `${action} denied: the owner cannot leave or be removed`);
  if (!self && target.role === WorkspaceRole.admin && caller.role !== WorkspaceRole.owner) {
    throw refuse('lacks_capability', `${action} denied: only the owner may remove an admin`);
  }
  ctx.db.workspace_member.membership_id.delete(target.membership_id);
  // Workspace channels are for members only: drop the seats so their messages stop flowing.
  for (const seat of [...ctx.db.channel_participant.participant.filter(member)]) {
    const channel = ctx.db.comms_channel.channel_id.find(seat.channel_id);
    if (!channel || channel.workspace_id !== workspaceId) continue;
    ctx.db.channel_participant.participation_id.delete(seat.participation_id);
    ctx.db.comms_channel.channel_id.update({ ...channel, participant_count: channel.participant_count - 1 });
  }
}

function grantedCapabilities(role: Role, requested: readonly string[], callerHolds: readonly string[]): string[] {
  const roleMax = ROLE_CAPABILITIES[role];
  if (requested.length === 0) return roleMax.filter((capability) => callerHolds.includes(capability));
  const seen = new Set<string>();
  for (const capability of requested) {
    checkOneOf(capability, 'capability', ALL_CAPABILITIES);
    if (seen.has(capability)) throw refuse('invalid_argument', `invite_member: capability ${capability} is listed twice`);
    seen.add(capability);
    if (!roleMax.includes(capability as Capability)) throw refuse('invalid_argument', `invite_member: role ${role} cannot hold ${capability}`);
    if (!callerHolds.includes(capability)) throw refuse('lacks_capability', `invite_member denied: you cannot grant ${capability}, which you do not hold`);
  }
  // Stored in the canonical order so equal grants give byte-identical rows.
  return ALL_CAPABILITIES.filter((capability) => seen.has(capability));
}
