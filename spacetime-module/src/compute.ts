// Capability ads and compute coordination. A request is open until one provider accepts it
// (assigned), then completed or failed by that provider; the requester may cancel, a provider may
// release it back (reject after accepting), and the presence sweep expires requests past sla_ms.
// A request with target_provider is offered to that provider only; otherwise to every provider
// with an active ad (in the request's workspace or world-wide) listing its policy_class.
import type { Identity } from 'spacetimedb';
import { t, type Infer } from 'spacetimedb/server';
import { authorizeNode, membershipOf, requireMember, type Ctx, type ReadDb } from './auth';
import { AssignmentStatus, ComputeStatus, Limits, Scope } from './constants';
import spacetimedb, { compute_request } from './schema';
import { checkHex64, checkJson, checkKey, checkText, checkToken, checkTokenList } from './validate';
import { refuse } from './refuse';
import { me } from './identity';

type RequestRow = Infer<typeof compute_request.rowType>;

export const advertise_capabilities = spacetimedb.reducer(
  {
    workspace_id: t.u64(),
    tools: t.array(t.string()),
    models: t.array(t.string()),
    compute_classes: t.array(t.string()),
    max_concurrency: t.u32(),
    price_hints: t.string(),
    constraints: t.string(),
    region: t.string(),
  },
  (ctx, args) => {
    authorizeNode(ctx, 'advertise_capabilities', Scope.computeProvide);
    if (args.workspace_id !== 0n) requireMember(ctx, 'advertise_capabilities', args.workspace_id);
    const tools = checkTokenList(args.tools, 'tools', Limits.listEntries, Limits.name);
    const models = checkTokenList(args.models, 'models', Limits.listEntries, Limits.name);
    const classes = checkTokenList(args.compute_classes, 'compute_classes', Limits.listEntries, Limits.kind);
    for (const computeClass of classes) checkToken(computeClass, 'compute_classes entry', Limits.kind);
    const row = {
      ad_id: 0n,
      provider: me(ctx),
      workspace_id: args.workspace_id,
      tools,
      models,
      compute_classes: classes,
      max_concurrency: args.max_concurrency,
      price_hints: checkJson(args.price_hints, 'price_hints', 'object', Limits.jsonText),
      constraints: checkJson(args.constraints, 'constraints', 'object', Limits.jsonText),
      region: checkText(args.region, 'region', Limits.kind * 2, { allowEmpty: true }),
      active: true,
      created_at: ctx.timestamp,
      updated_at: ctx.timestamp,
    };
    const existing = adOf(ctx, me(ctx), args.workspace_id);
    if (existing) ctx.db.capability_ad.ad_id.update({ ...row, ad_id: existing.ad_id, created_at: existing.created_at });
    else ctx.db.capability_ad.insert(row);
  },
);

export const withdraw_capabilities = spacetimedb.reducer({ workspace_id: t.u64() }, (ctx, { workspace_id }) => {
  authorizeNode(ctx, 'withdraw_capabilities', Scope.computeProvide);
  const existing = adOf(ctx, me(ctx), workspace_id);
  if (!existing || !existing.active) return;
  ctx.db.capability_ad.ad_id.update({ ...existing, active: false, updated_at: ctx.timestamp });
});

export const request_compute = spacetimedb.reducer(
  {
    idempotency_key: t.string(),
    workspace_id: t.u64(),
    policy_class: t.string(),
    job_envelope: t.string(),
    cost_hints: t.string(),
    max_price_msats: t.u64(),
    sla_ms: t.u32(),
    target_provider: t.option(t.identity()),
  },
  (ctx, args) => {
    authorizeNode(ctx, 'request_compute', Scope.computeRequest);
    checkKey(args.idempotency_key, 'idempotency_key', Limits.idempotencyKey);
    checkToken(args.policy_class, 'policy_class', Limits.kind);
    checkJson(args.job_envelope, 'job_envelope', 'object', Limits.jobEnvelope);
    const costHints = checkJson(args.cost_hints, 'cost_hints', 'object', Limits.jsonText);
    for (const prior of ctx.db.compute_request.idempotency_key.filter(args.idempotency_key)) {
      if (!prior.requester.isEqual(me(ctx))) throw refuse('duplicate_key', 'request_compute: idempotency_key was already used by another node');
      if (prior.workspace_id === args.workspace_id && prior.policy_class === args.policy_class && prior.job_envelope === args.job_envelope) return;
      throw refuse('duplicate_key', `request_compute: idempotency_key was already used for a different request (${prior.request_id})`);
    }
    if (args.workspace_id !== 0n) requireMember(ctx, 'request_compute', args.workspace_id);
    const target = args.target_provider;
    if (target) {
      if (!ctx.db.autopilot_node.node_id.find(target)) throw refuse('not_found', 'request_compute: target_provider has never joined this world');
      if (args.workspace_id !== 0n && !membershipOf(ctx, args.workspace_id, target)) {
        throw refuse('invalid_argument', `request_compute: target_provider is not a member of workspace ${args.workspace_id}`);
      }
    }
    ctx.db.compute_request.insert({
      request_id: 0n,
      requester: me(ctx),
      workspace_id: args.workspace_id,
      target_provider: target,
      policy_class: args.policy_class,
      job_envelope: args.job_envelope,
      cost_hints: costHints,
      max_price_msats: args.max_price_msats,
      sla_ms: args.sla_ms,
      status: ComputeStatus.open,
      assignment_id: 0n,
      idempotency_key: args.idempotency_key,
      created_at: ctx.timestamp,
      updated_at: ctx.timestamp,
    });
  },
);

export const cancel_compute = spacetimedb.reducer({ request_id: t.u64() }, (ctx, { request_id }) => {
  authorizeNode(ctx, 'cancel_compute', Scope.computeRequest);
  const request = ctx.db.compute_request.request_id.find(request_id);
  if (!request || !request.requester.isEqual(me(ctx))) {
    throw refuse(request ? 'not_owner' : 'not_found', `cancel_compute denied: no request ${request_id} of yours`);
  }
  if (request.status === ComputeStatus.cancelled) return;
  if (request.status !== ComputeStatus.open && request.status !== ComputeStatus.assigned) {
    throw refuse('invalid_state', `cancel_compute: request ${request_id} is already ${request.status}`);
  }
  const assignment = currentAssignment(ctx, request);
  if (assignment && assignment.status === AssignmentStatus.accepted) {
    ctx.db.compute_assignment.assignment_id.update({ ...assignment, status: AssignmentStatus.cancelled, reason: 'cancelled by requester', updated_at: ctx.timestamp });
  }
  ctx.db.compute_request.request_id.update({ ...request, status: ComputeStatus.cancelled, updated_at: ctx.timestamp });
});

export const accept_compute = spacetimedb.reducer({ request_id: t.u64() }, (ctx, { request_id }) => {
  authorizeNode(ctx, 'accept_compute', Scope.computeProvide);
  const request = offeredRequest(ctx, 'accept_compute', request_id);
  const current = currentAssignment(ctx, request);
  if (current && current.provider.isEqual(me(ctx)) && current.status === AssignmentStatus.accepted) return;
  if (request.status !== ComputeStatus.open) throw refuse('invalid_state', `accept_compute: request ${request_id} is ${request.status}`);
  const assignment = ctx.db.compute_assignment.insert({
    assignment_id: 0n,
    request_id,
    provider: me(ctx),
    status: AssignmentStatus.accepted,
    reason: '',
    result_ref: '',
    result_hash: '',
    created_at: ctx.timestamp,
    updated_at: ctx.timestamp,
    completed_at: undefined,
  });
  ctx.db.compute_request.request_id.update({ ...request, status: ComputeStatus.assigned, assignment_id: assignment.assignment_id, updated_at: ctx.timestamp });
});

/**
 * Declines a request offered to you. After accepting, it releases the job: an open-to-all request
 * goes back to open, a targeted one becomes rejected. Repeats are no-ops.
 */
export const reject_compute = spacetimedb.reducer({ request_id: t.u64(), reason: t.string() }, (ctx, { request_id, reason }) => {
  authorizeNode(ctx, 'reject_compute', Scope.computeProvide);
  checkText(reason, 'reason', Limits.shortText, { allowEmpty: true });
  const request = offeredRequest(ctx, 'reject_compute', request_id);
  const current = currentAssignment(ctx, request);
  const targeted = request.target_provider !== undefined;
  if (current && current.provider.isEqual(me(ctx)) && current.status === AssignmentStatus.accepted) {
    ctx.db.compute_assignment.assignment_id.update({ ...current, status: AssignmentStatus.released, reason, updated_at: ctx.timestamp });
    ctx.db.compute_request.request_id.update({
      ...request,
      status: targeted ? ComputeStatus.rejected : ComputeStatus.open,
      assignment_id: 0n,
      updated_at: ctx.timestamp,
    });
    return;
  }
  for (const prior of ctx.db.compute_assignment.by_request_provider.filter([request_id, me(ctx)])) {
    if (prior.status === AssignmentStatus.rejected) return;
  }
  if (request.status !== ComputeStatus.open) throw refuse('invalid_state', `reject_compute: request ${request_id} is ${request.status}`);
  ctx.db.compute_assignment.insert({
    assignment_id: 0n,
    request_id,
    provider: me(ctx),
    status: AssignmentStatus.rejected,
    reason,
    result_ref: '',
    result_hash: '',
    created_at: ctx.timestamp,
    updated_at: ctx.timestamp,
    completed_at: undefined,
  });
  if (targeted) ctx.db.compute_request.request_id.update({ ...request, status: ComputeStatus.rejected, updated_at: ctx.timestamp });
});

/** The assigned provider reports the outcome; result_hash is "" or a sha256 hex of the result. */
export const complete_compute = spacetimedb.reducer(
  { request_id: t.u64(), success: t.bool(), result_ref: t.string(), result_hash: t.string(), reason: t.string() },
  (ctx, args) => {
    authorizeNode(ctx, 'complete_compute', Scope.computeProvide);
    checkText(args.result_ref, 'result_ref', Limits.path, { allowEmpty: true });
    if (args.result_hash !== '') checkHex64(args.result_hash, 'result_hash');
    checkText(args.reason, 'reason', Limits.shortText, { allowEmpty: true });
    const request = ctx.db.compute_request.request_id.find(args.request_id);
    const assignment = request ? currentAssignment(ctx, request) : undefined;
    if (!request || !assignment || !assignment.provider.isEqual(me(ctx))) {
      throw refuse(request ? 'not_owner' : 'not_found', `complete_compute denied: request ${args.request_id} is not assigned to you`);
    }
    const outcome = args.success ? AssignmentStatus.completed : AssignmentStatus.failed;
    if (assignment.status === AssignmentStatus.completed || assignment.status === AssignmentStatus.failed) {
      if (assignment.status === outcome && assignment.result_ref === args.result_ref && assignment.result_hash === args.result_hash) return;
      throw refuse('invalid_state', `complete_compute: request ${args.request_id} was already reported as ${assignment.status} with another result`);
    }
    if (assignment.status !== AssignmentStatus.accepted) throw refuse('invalid_state', `complete_compute: your assignment is ${assignment.status}`);
    ctx.db.compute_assignment.assignment_id.update({
      ...assignment,
      status: outcome,
      reason: args.reason,
      result_ref: args.result_ref,
      result_hash: args.result_hash,
      updated_at: ctx.timestamp,
      completed_at: ctx.timestamp,
    });
    ctx.db.compute_request.request_id.update({
      ...request,
      status: args.success ? ComputeStatus.completed : ComputeStatus.failed,
      updated_at: ctx.timestamp,
    });
  },
);

// ---- helpers ----

function adOf(ctx: Ctx, provider: Identity, workspaceId: bigint) {
  for (const ad of ctx.db.capability_ad.by_provider_workspace.filter([provider, workspaceId])) return ad;
  return undefined;
}

function currentAssignment(ctx: Ctx, request: RequestRow) {
  if (request.assignment_id === 0n) return undefined;
  return ctx.db.compute_assignment.assignment_id.find(request.assignment_id) ?? undefined;
}

/** The request, if it is offered to the caller (see the file comment); otherwise a denial. */
function offeredRequest(ctx: Ctx, action: string, requestId: bigint): RequestRow {
  const request = ctx.db.compute_request.request_id.find(requestId);
  if (!request || !isOfferedTo(ctx, request, me(ctx))) throw refuse('not_found', `${action} denied: request ${requestId} is not offered to you`);
  return request;
}

/** Shared with the compute_inbox view, so what a provider sees is what it may act on. */
export function isOfferedTo(ctx: { db: ReadDb }, request: RequestRow, provider: Identity): boolean {
  if (request.target_provider) return request.target_provider.isEqual(provider);
  if (request.workspace_id !== 0n) {
    let member = false;
    for (const _row of ctx.db.workspace_member.by_workspace_member.filter([request.workspace_id, provider])) member = true;
    if (!member) return false;
  }
  for (const workspaceId of request.workspace_id === 0n ? [0n] : [request.workspace_id, 0n]) {
    for (const ad of ctx.db.capability_ad.by_provider_workspace.filter([provider, workspaceId])) {
      if (ad.active && ad.compute_classes.includes(request.policy_class)) return true;
    }
  }
  return false;
}
