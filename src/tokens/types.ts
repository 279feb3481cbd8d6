/** Contracts between task-token verification (SPEC section 8) and the decision. */

export interface TaskTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly scope: string;
  readonly txn: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
  readonly tctx: Readonly<Record<string, unknown>> | null;
  readonly req_wl: string;
}

/**
 * The verdict on a presented token, before any policy-dependent check. The verifier checks
 * header, signature, issuer, claim shapes, `aud` == trust domain of `sub`, and times; the
 * decision then checks that this trust domain is trusted, the TTL against the function's
 * maxTokenTtl, the subject, and revocation.
 */
export type TokenVerdict =
  | { readonly ok: true; readonly claims: TaskTokenClaims; readonly sha256: string }
  | {
      readonly ok: false;
      readonly reason: 'TOKEN_INVALID' | 'TOKEN_EXPIRED';
      /** Precise cause, for the log only. */
      readonly detail: string;
      /** First 16 hex chars of sha256(token). */
      readonly sha256: string;
      /** `txn` when the payload could be read, else null. */
      readonly txn: string | null;
    };

export interface TokenVerifier {
  verify(token: string, nowMs: number): Promise<TokenVerdict>;
}

/** The hot path's read-only view of revocations: local memory only, never I/O. */
export interface RevocationView {
  isRevoked(txn: string): boolean;
  /** True when shared state may be missing revocations (Redis link down past the bound). */
  isStale(nowMs: number): boolean;
}

/** The signature algorithms task tokens may use (SPEC section 8). */
export type TokenAlg = 'ES256' | 'EdDSA';

/** What the issuer needs to mint one token; the signer fills iss, aud, iat, exp, jti. */
export interface IssueInput {
  /** The workload's SPIFFE ID; must be valid (its trust domain becomes `aud`). */
  readonly sub: string;
  /** The business function name. */
  readonly scope: string;
  /** Lifetime in whole seconds, 1..3600. */
  readonly ttlSeconds: number;
  readonly tctx?: Readonly<Record<string, unknown>> | null;
  /** Task id; a random one when absent. */
  readonly txn?: string;
  /** Who asked for the token; `sub` when absent (operator CLI). */
  readonly reqWl?: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly claims: TaskTokenClaims;
}

export interface TokenSigner {
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly issuer: string;
  /** Rejects only on programmer error (invalid input); callers validate first. */
  issue(input: IssueInput, nowMs: number): Promise<IssuedToken>;
}

/** The slice of a pino logger the token modules use. */
export interface TokenLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
