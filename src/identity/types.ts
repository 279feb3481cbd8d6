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

/**
 * Bearer-JWT identity (SPEC section 4 item 4), built once from the `identity:` config block
 * by identity/bearer/create.ts. `verify` never rejects; its result's reason is NO_IDENTITY,
 * INVALID_IDENTITY or null (the trust-domain check is the resolver's).
 */
export interface BearerIdentity {
  verify(authorization: string, nowMs: number): Promise<IdentityResult>;
  /** Counters and freshness per configured issuer, for metrics and /readyz-style checks. */
  stats(): readonly KeySetStats[];
  /** Stops watchers and timers. */
  close(): void;
}

export interface KeySetStats {
  /** The OIDC issuer, or `spiffe://<trust domain>` for a JWT-SVID bundle. */
  readonly issuer: string;
  readonly kind: 'jwt-svid' | 'oidc';
  /** The file path or URL the keys come from. */
  readonly source: string;
  /** Usable keys in the current set (0 when none loaded). */
  readonly keys: number;
  /** Epoch ms of the last successful load, null before the first. */
  readonly loadedAtMs: number | null;
  /** Successful and failed loads (fetches or file reads) since start. */
  readonly loads: number;
  readonly failures: number;
  /** The current set is past its staleness bound (or was never loaded): tokens are refused. */
  readonly unavailable: boolean;
}

/** How the identity stage is configured; prepared once at start. */
export interface IdentityOptions {
  /** Take the identity from x-forwarded-client-cert (`--trust-xfcc`). */
  readonly trustXfcc: boolean;
  /** Bearer-JWT identity, or null when the config file configures none. */
  readonly bearer: BearerIdentity | null;
}
