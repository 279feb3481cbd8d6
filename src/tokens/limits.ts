/** Fixed bounds of task tokens shared by issue, verify, the service and the CLI (SPEC section 8). */

/** Hard cap on exp - iat, whatever a mandate says. */
export const MAX_TOKEN_TTL_SECONDS = 3600;
/** Allowed clock difference between issuer and verifier. */
export const CLOCK_SKEW_SECONDS = 30;
/** Longest a revocation can matter from now: a full token lifetime plus the skew on exp. */
export const MAX_REVOCATION_KEEP_MS = (MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS) * 1000;
/** Tokens longer than this are rejected before any decoding. */
export const MAX_TOKEN_BYTES = 8192;
/** Serialized task context must fit well inside MAX_TOKEN_BYTES once base64url-encoded. */
export const MAX_TASK_CONTEXT_BYTES = 4096;
/** txn and jti: printable ASCII without spaces, bounded so logs and Redis keys stay small. */
export const TASK_ID = /^[\x21-\x7e]{1,128}$/;
/** A business function name (SPEC section 2). */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const TOKEN_TYPE = 'txntoken+jwt';
