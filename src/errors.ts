/**
 * The closed vocabulary of decision reasons (SPEC section 5). One code serves as the
 * response header value, the metric label and the decision-log field; docs/reasons.md
 * lists the same codes and a test keeps the two in step. This file imports nothing.
 */

export const REASON_CODES = [
  'ALLOWED',
  'BAD_REQUEST',
  'NO_IDENTITY',
  'INVALID_IDENTITY',
  'UNTRUSTED_DOMAIN',
  'NO_MANDATE',
  'MANDATE_EXPIRED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_SUBJECT_MISMATCH',
  'TOKEN_REVOKED',
  'REVOCATION_UNAVAILABLE',
  'MISSING_FUNCTION',
  'FUNCTION_CONFLICT',
  'TOKEN_FUNCTION_MISMATCH',
  'FUNCTION_NOT_DECLARED',
  'INVALID_PATH',
  'ACTION_NOT_PERMITTED',
  'TOKEN_REQUIRED',
  'INTERNAL_ERROR',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];
export type DenyReason = Exclude<ReasonCode, 'ALLOWED'>;

/** Reasons decided by the identity checks 0-3: never turned into an allow by a mandate's own dry run. */
export type IdentityReason = 'BAD_REQUEST' | 'NO_IDENTITY' | 'INVALID_IDENTITY' | 'UNTRUSTED_DOMAIN';

export interface ReasonInfo {
  /** HTTP status of the denied_response; 0 for ALLOWED. */
  readonly httpStatus: number;
  /** google.rpc.Code placed in CheckResponse.status.code. */
  readonly grpcCode: number;
}

// gRPC codes by name, so the table below reads like SPEC section 5.
const OK = 0;
const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;

export const REASONS: Readonly<Record<ReasonCode, ReasonInfo>> = Object.freeze({
  ALLOWED: { httpStatus: 0, grpcCode: OK },
  BAD_REQUEST: { httpStatus: 400, grpcCode: PERMISSION_DENIED },
  NO_IDENTITY: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  INVALID_IDENTITY: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  UNTRUSTED_DOMAIN: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  NO_MANDATE: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  MANDATE_EXPIRED: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  TOKEN_INVALID: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  TOKEN_EXPIRED: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  TOKEN_SUBJECT_MISMATCH: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  TOKEN_REVOKED: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  REVOCATION_UNAVAILABLE: { httpStatus: 503, grpcCode: UNAVAILABLE },
  MISSING_FUNCTION: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  FUNCTION_CONFLICT: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  TOKEN_FUNCTION_MISMATCH: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  FUNCTION_NOT_DECLARED: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  INVALID_PATH: { httpStatus: 400, grpcCode: PERMISSION_DENIED },
  ACTION_NOT_PERMITTED: { httpStatus: 403, grpcCode: PERMISSION_DENIED },
  TOKEN_REQUIRED: { httpStatus: 401, grpcCode: UNAUTHENTICATED },
  INTERNAL_ERROR: { httpStatus: 503, grpcCode: UNAVAILABLE },
});

export function isReasonCode(value: unknown): value is ReasonCode {
  // Own keys only: a plain lookup would also find Object.prototype's 'toString', 'constructor', ...
  return typeof value === 'string' && Object.hasOwn(REASONS, value);
}
