export { startControl, type ControlHandle, type StartControlOptions } from './server';
export {
  ConfigError,
  STANDARD_SCOPES,
  loadControlConfigFile,
  parseControlConfig,
  type ControlConfig,
  type ResolvedControlConfig,
  type Scope,
} from './config';
export { spacetimeIdentityHex } from './identity';
export type { LoginResponse, TransportPolicy } from './app';
export type { ControlClaims } from './tokens';
export type { ErrorCode } from './errors';
