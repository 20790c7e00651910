// Everything that runs anywhere: no Node builtins, no DOM. Node adapters live in ../node.
export { failure, errorMessage, type Failure, type Result, type Success } from './result';
export { systemClock, systemTimers, sleep, type Clock, type TimerHandle, type Timers } from './clock';
export { silentLogger, type LogFn, type Logger } from './logger';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
export { defaultFetch, type FetchLike, type RequestInitLike, type ResponseLike } from './http';
export {
  CONSERVATIVE_POLICY,
  ControlTokenSource,
  normalizeControlUrl,
  signerFromPrivateKey,
  type ControlTokenSourceOptions,
  type NostrSigner,
  type TokenErrorCode,
  type TokenResult,
  type TokenSource,
  type TransportPolicy,
  type WorldToken,
} from './token';
export {
  ConnectionManager,
  LinkError,
  type ConnectionManagerOptions,
  type ConnectionState,
  type ConnectionStatus,
  type Connector,
  type LinkEvents,
  type LinkKind,
} from './connection';
export {
  HELD,
  MemoryOutboxStorage,
  Outbox,
  OutboxClosedError,
  type Deliver,
  type DeliveryOutcome,
  type JsonValue,
  type OutboxEntry,
  type OutboxOptions,
  type OutboxSnapshot,
  type OutboxStorage,
  type SettledOutcome,
} from './outbox';
export { HealthMonitor, percentile, type HealthMonitorOptions, type HealthSnapshot } from './health';
export {
  NostrSupplemental,
  SpacetimePrimary,
  TransportSelector,
  type CommsTransport,
  type Lane,
  type Readiness,
  type TransportSelectorOptions,
  type TransportSwitch,
} from './transport';
export { ChannelSequencer, type Gap, type Sequenced } from './sequencer';
export {
  createSocketFactory,
  SocketAuthError,
  type SdkSocket,
  type SdkSocketArgs,
  type SdkSocketFactory,
  type SocketFactoryOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './ws';
export {
  BUILTIN_JOBS,
  INLINE_PREFIX,
  MAX_RESULT_REF_BYTES,
  inlineResult,
  parseJobEnvelope,
  readInlineResult,
  type InlineResult,
  type JobKind,
  type JobOutcome,
  type ParsedEnvelope,
} from './jobs';
export { AutopilotNode, REPLY_KIND, type AutopilotNodeConfig, type AutopilotNodeStats } from './autopilot';
export {
  ALL_FEATURES,
  WorldClient,
  type DeliveredMessage,
  type WorldClientOptions,
  type WorldFeature,
  type WorldLink,
  type WriteOptions,
} from './world/client';
export { CALL_SPECS, type CallArgs, type CallInput, type CallSpec, type OutboxKind } from './world/calls';
export { InvalidArgument, newKey } from './world/checks';
export {
  classifyCallError,
  FATAL_REFUSALS,
  REFUSAL_OUTCOMES,
  RETRYABLE_CODES,
  type RefusalCode,
  type WorldErrorCode,
  type WorldFailure,
  type WorldResult,
} from './world/errors';
export { createWorldStores, type WorldStores } from './world/stores';
export type * from './world/stores';
export type * from './world/models';
export * from './files/index';
