/** What the identity stage (SPEC section 4, checks 1-3 of section 5) hands to the decision. */

export type IdentityVia = 'principal' | 'certificate' | 'xfcc' | 'jwt-svid' | 'oidc';

/** The identity-bearing parts of one CheckRequest, as Envoy sent them. */
export interface IdentityInput {
  /** attributes.source.principal; '' when absent. */
  readonly principal: string;
  /** attributes.source.certificate (URL-encoded PEM); '' when absent. */
  readonly certificate: string;
  /** x-forwarded-client-cert header value, null when absent. */
  readonly xfcc: string | null;
  /** authorization header value, null when absent. */
  readonly authorization: string | null;
}

export interface IdentityResult {
  /** null when an identity was established and its trust domain is trusted. */
  readonly reason: 'NO_IDENTITY' | 'INVALID_IDENTITY' | 'UNTRUSTED_DOMAIN' | null;
  /** The caller's SPIFFE ID when it parsed (also set for UNTRUSTED_DOMAIN), else null. */
  readonly spiffeId: string | null;
  readonly trustDomain: string | null;
  /** Which source decided, also on a rejection (e.g. a bad certificate is 'certificate'). */
  readonly via: IdentityVia | null;
  /** The precise cause of a rejection, for the decision log only; never on the wire. */
  readonly detail: string | null;
  /** Issuer of a bearer JWT identity, else null. */
  readonly issuer: string | null;
  /** First 16 hex chars of sha256 of a bearer JWT identity, else null. */
  readonly tokenSha256: string | null;
}
