/** Bearer-JWT identity: configuration validation and the verifier built from it. */
export {
  parseIdentityConfig,
  type IdentityConfig,
  type JwtSvidIssuerConfig,
  type KeySetLocation,
  type OidcIssuerConfig,
} from './config.js';
export { createBearerIdentity, type BearerDeps, type BearerIdentityHandle } from './create.js';
