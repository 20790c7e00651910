// The control service's public surface: start it, load its config, and the types clients read.
export { startControl, type ControlHandle, type StartControlOptions } from './server';
export {
  ConfigError,
  LOGIN_ROLES,
  ROLE_SCOPES,
  STANDARD_SCOPES,
  USER_SCOPES,
  loadControlConfigFile,
  parseControlConfig,
  type ControlConfig,
  type LoginRole,
  type ResolvedControlConfig,
  type Scope,
  type WorldTarget,
} from './config';
export { spacetimeIdentityHex } from './identity';
export type { LoginResponse, TransportPolicy } from './app';
export { CLOCK_SKEW_SECONDS, type ControlClaims, type ServiceClaims } from './tokens';
export type { DeliveryStats, Timers } from './revocations';
export type { ErrorCode } from './errors';
