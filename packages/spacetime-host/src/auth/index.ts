export {
  INVALID_CONNECTION_ID,
  connectionIdHex,
  identityFromIssuerSubject,
  identityHex,
  parseConnectionIdHex,
  parseIdentityHex,
  randomConnectionId,
  type ConnectionIdParseResult,
  type IdentityParseResult,
} from './identity';
export { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SIGNING_ALGORITHM, loadOrCreateSigningKey, publicKeyPem, type SigningKey } from './keys';
export { OIDC_KEYS_EXPIRE_AFTER_MS, OIDC_KEYS_REFRESH_AFTER_MS, OIDC_REFETCH_COOLDOWN_MS } from './oidc';
export {
  AuthReason,
  CLOCK_SKEW_SECONDS,
  TokenAuthority,
  WEBSOCKET_TOKEN_LIFETIME_SECONDS,
  type MintedIdentity,
  type TokenAuthorityOptions,
  type TokenValidationResult,
} from './tokens';
