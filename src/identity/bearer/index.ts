/** Bearer-JWT identity: configuration validation and the verifier built from it. */
export {
  DEFAULT_MAX_STALENESS_MS,
  EMPTY_IDENTITY_CONFIG,
  parseIdentityConfig,
  type IdentityConfig,
  type JwtSvidIssuerConfig,
  type KeySetLocation,
  type OidcIssuerConfig,
} from './config.js';
export { BEARER_ALGORITHMS, createBearerIdentity, type BearerDeps, type BearerIdentityHandle } from './create.js';
export { MAX_BEARER_TOKEN_CHARS } from './authorization.js';
