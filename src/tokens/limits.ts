/** Fixed bounds of task tokens shared by issue, verify, the service and the CLI (SPEC section 8). */

import { MAX_TOKEN_TTL_SECONDS } from '../policy/values.js';

/** Hard cap on exp - iat, whatever a mandate says: the policy language's own bound. */
export { MAX_TOKEN_TTL_SECONDS };
/** Allowed clock difference between issuer and verifier. */
export const CLOCK_SKEW_SECONDS = 30;
/** The latest exp a token of an unknown task can carry, from now (a lifetime plus the skew on iat). */
export const LATEST_UNKNOWN_EXP_MS = (MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS) * 1000;
/**
 * Longest a revocation can matter from now, for a task whose tokens mandate has no record
 * of: that latest exp, honoured by a verifier for the skew after it.
 */
export const MAX_REVOCATION_KEEP_MS = LATEST_UNKNOWN_EXP_MS + CLOCK_SKEW_SECONDS * 1000;
/** Tokens longer than this are rejected before any decoding. */
export const MAX_TOKEN_BYTES = 8192;
/** Serialized task context must fit well inside MAX_TOKEN_BYTES once base64url-encoded. */
export const MAX_TASK_CONTEXT_BYTES = 4096;
/** txn and jti: printable ASCII without spaces, bounded so logs and Redis keys stay small. */
export const TASK_ID = /^[\x21-\x7e]{1,128}$/;
/** A business function name (SPEC section 2), as the policy language defines it. */
export { FUNCTION_NAME } from '../policy/values.js';
export const TOKEN_TYPE = 'txntoken+jwt';
