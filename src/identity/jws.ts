/**
 * Compact-JWS pieces shared by bearer-JWT identity (identity/bearer) and task-token
 * verification (tokens/verify.ts): both read the protected header and payload themselves,
 * refuse the same header parameters, and log a token by the same short hash.
 */
import { createHash } from 'node:crypto';

/**
 * JOSE header parameters refused before any key is looked up: key or key-location hints a
 * caller controls (jku, x5u, jwk, x5c), and crit, whose extensions nothing here understands.
 */
export const FORBIDDEN_JOSE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/** A base64url segment decoded as a JSON object; null when it is anything else. */
export function decodeJsonSegment(segment: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** First 16 hex chars of sha256(token): what the decision log records instead of the token. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}
