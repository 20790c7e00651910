// A headless autopilot: joins the world through a WorldClient, advertises what it can compute,
// answers messages in its channels and serves compute requests with the built-in job kinds —
// accepting, running and completing them, or rejecting with a reason. Runs anywhere the world
// client runs; the Node CLI (src/node) only adds identity files and process handling.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { BUILTIN_JOBS, inlineResult, parseJobEnvelope, type JobKind } from './jobs';
import { silentLogger, type Logger } from './logger';
import type { ComputeRequestView } from './world/models';
import type { DeliveredMessage, WorldClient } from './world/client';

export interface AutopilotNodeConfig {
  /** Compute classes (request policy_class values) this node serves. Default ['cpu.small']. */
  computeClasses?: string[];
  /** Jobs run at once; further offers wait. Default 2. */
  maxConcurrency?: number;
  region?: string;
  priceHints?: Record<string, unknown>;
  /** Answer text messages in the channels the node sits in. Default true. */
  answerMessages?: boolean;
  jobs?: readonly JobKind[];
}

export interface AutopilotNodeStats {
  answered: number;
  accepted: number;
  completed: number;
  failed: number;
  rejected: number;
}

/** Message kind of the node's answers; the node answers only 'text', so two nodes never loop. */
export const REPLY_KIND = 'autopilot.reply';

type Decision = 'rejecting' | 'accepting' | 'running' | 'done';

export class AutopilotNode {
  readonly client: WorldClient;
  readonly name: string;
  readonly stats: AutopilotNodeStats = { answered: 0, accepted: 0, completed: 0, failed: 0, rejected: 0 };
  readonly #config: Required<Omit<AutopilotNodeConfig, 'priceHints' | 'region'>> & Pick<AutopilotNodeConfig, 'priceHints' | 'region'>;
  readonly #logger: Logger;
  readonly #decisions = new Map<string, Decision>();
  #running = 0;
  #unsubscribes: Array<() => void> = [];

  constructor(options: { client: WorldClient; name: string; config?: AutopilotNodeConfig; logger?: Logger }) {
    this.client = options.client;
    this.name = options.name;
    const config = options.config ?? {};
    this.#config = {
      computeClasses: config.computeClasses ?? ['cpu.small'],
      maxConcurrency: config.maxConcurrency ?? 2,
      answerMessages: config.answerMessages ?? true,
      jobs: config.jobs ?? BUILTIN_JOBS,
      region: config.region,
      priceHints: config.priceHints,
    };
    if (!Number.isInteger(this.#config.maxConcurrency) || this.#config.maxConcurrency < 1) throw new RangeError('maxConcurrency must be a positive integer');
    this.#logger = options.logger ?? silentLogger;
  }

  get jobKinds(): string[] {
    return this.#config.jobs.map((job) => job.kind);
  }

  /** Starts the client, and (re)advertises on every link. Resolves once the first link is up. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.#unsubscribes.push(
      this.client.onLink(() => void this.#advertise()),
      this.client.onMessage((message) => this.#onMessage(message)),
      this.client.stores.compute.subscribe(() => this.#serveCompute()),
    );
    await this.client.start();
    const connected = await this.client.whenConnected(timeoutMs);
    if (!connected.ok) throw new Error(`${this.name}: ${connected.message}`);
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#unsubscribes = [];
    await this.client.stop({ leave: true });
  }

  async #advertise(): Promise<void> {
    const result = await this.client.advertiseCapabilities({
      computeClasses: this.#config.computeClasses,
      tools: this.jobKinds,
      maxConcurrency: this.#config.maxConcurrency,
      ...(this.#config.priceHints ? { priceHints: this.#config.priceHints } : {}),
      ...(this.#config.region ? { region: this.#config.region } : {}),
      constraints: { deterministic: true, inline_result_max_bytes: 1024 },
    });
    if (!result.ok) this.#logger.warn({ code: result.code, reason: result.message }, 'capability ad refused');
  }

  #onMessage(message: DeliveredMessage): void {
    if (!this.#config.answerMessages || message.own || message.kind !== 'text') return;
    const self = this.client.identity ?? 'unknown';
    const payload = this.answer(message.payload);
    void this.client
      .publishMessage({
        channelId: message.channelId,
        payload,
        kind: REPLY_KIND,
        replyToSeq: message.seq,
        // Deterministic: a message handed out again after a crash gets the same (deduplicated) answer.
        idempotencyKey: `reply.${self.slice(0, 16)}.${message.channelId}.${message.seq}`,
      })
      .then((result) => {
        if (!result.ok) {
          this.#logger.warn({ code: result.code, reason: result.message, channel: message.channelId }, 'answer refused');
          return;
        }
        this.stats.answered += 1;
        return this.client.ackMessage({ channelId: message.channelId, seq: message.seq });
      });
  }

  /** The node's answer to a text message. */
  answer(text: string): string {
    const trimmed = text.trim();
    const [command = '', ...rest] = trimmed.split(/\s+/);
    switch (command.toLowerCase()) {
      case 'ping':
        return 'pong';
      case 'help':
        return `${this.name} answers: ping, status, hash <text>, help. Compute jobs (${this.#config.computeClasses.join(', ')}): ${this.jobKinds.join(', ')}.`;
      case 'status':
        return `${this.name}: answered ${this.stats.answered}, jobs completed ${this.stats.completed}, failed ${this.stats.failed}, rejected ${this.stats.rejected}, running ${this.#running}.`;
      case 'hash': {
        const subject = trimmed.slice(command.length).trimStart();
        return rest.length === 0 ? 'usage: hash <text>' : `sha256 ${bytesToHex(sha256(utf8ToBytes(subject)))}`;
      }
      default: {
        const quoted = trimmed.length > 120 ? `${trimmed.slice(0, 120)}…` : trimmed;
        return `${this.name} received "${quoted}". Say "help" to see what I can do.`;
      }
    }
  }

  #serveCompute(): void {
    const { inbox, assignments } = this.client.stores.compute.getState();
    const self = this.client.identity;
    if (!self) return;
    for (const request of Object.values(inbox)) {
      const decision = this.#decisions.get(request.id);
      if (request.status === 'open' && decision === undefined) {
        this.#offer(request);
      } else if (request.status === 'assigned' && (decision === undefined || decision === 'accepting')) {
        const assignment = assignments[request.assignmentId];
        if (assignment && assignment.provider === self && assignment.status === 'accepted') this.#run(request);
      }
    }
  }

  #offer(request: ComputeRequestView): void {
    if (!this.#config.computeClasses.includes(request.policyClass)) {
      this.#reject(request, `this node serves compute classes ${this.#config.computeClasses.join(', ')}, not ${request.policyClass}`);
      return;
    }
    const parsed = parseJobEnvelope(request.jobEnvelope, this.#config.jobs);
    if (!parsed.ok) {
      this.#reject(request, parsed.reason);
      return;
    }
    if (this.#running >= this.#config.maxConcurrency) return; // looked at again on the next change
    this.#decisions.set(request.id, 'accepting');
    void this.client.acceptCompute(request.id).then((result) => {
      if (result.ok) {
        this.stats.accepted += 1;
        this.#serveCompute();
      } else {
        this.#logger.info({ request: request.id, code: result.code, reason: result.message }, 'accept refused');
        this.#decisions.set(request.id, 'done');
      }
    });
  }

  #reject(request: ComputeRequestView, reason: string): void {
    this.#decisions.set(request.id, 'rejecting');
    void this.client.rejectCompute({ requestId: request.id, reason: reason.slice(0, 250) }).then((result) => {
      this.#decisions.set(request.id, 'done');
      if (result.ok) this.stats.rejected += 1;
      else this.#logger.warn({ request: request.id, code: result.code, reason: result.message }, 'reject refused');
    });
  }

  #run(request: ComputeRequestView): void {
    this.#decisions.set(request.id, 'running');
    this.#running += 1;
    const parsed = parseJobEnvelope(request.jobEnvelope, this.#config.jobs);
    const outcome = parsed.ok ? parsed.job.run(parsed.input) : { ok: false as const, reason: parsed.reason };
    const inline = outcome.ok ? inlineResult(outcome.result) : outcome;
    const completion = inline.ok
      ? { requestId: request.id, success: true, resultRef: inline.resultRef, resultHash: inline.resultHash }
      : { requestId: request.id, success: false, reason: inline.reason.slice(0, 250) };
    void this.client.completeCompute(completion).then((result) => {
      this.#running -= 1;
      this.#decisions.set(request.id, 'done');
      if (!result.ok) this.#logger.warn({ request: request.id, code: result.code, reason: result.message }, 'completion refused');
      else if (completion.success) this.stats.completed += 1;
      else this.stats.failed += 1;
      this.#serveCompute();
    });
  }
}
