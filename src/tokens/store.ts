/**
 * The revocation store contract (SPEC section 8): the hot path reads a RevocationView
 * (local memory only); Complete and Revoke write through `revoke`.
 */
import type { RevocationView } from './types.js';

export type RevocationLinkState = 'memory' | 'up' | 'down';

export interface RevocationStore extends RevocationView {
  /**
   * Ends the task `txn` for every token that carries it. `expiresAtMs` is the latest `exp`
   * (ms) of such a token; the entry is kept until then plus the clock skew. The local view
   * sees it before the promise settles; the promise rejects when the revocation could not
   * be shared (Redis down): it is then held locally and shared once the link is back.
   */
  revoke(txn: string, expiresAtMs: number): Promise<void>;
  /** 'memory' for a single-replica store; 'up' / 'down' for the Redis link. */
  state(): RevocationLinkState;
  close(): Promise<void>;
  /**
   * Shared stores only: remember who a task was issued to, so Complete works on any replica.
   * Best effort: never rejects.
   */
  recordIssued?(txn: string, sub: string, expiresAtMs: number): Promise<void>;
  /** Shared stores only: the subject and exp (ms) a task was issued with, or null when unknown. Never rejects. */
  issuedTo?(txn: string): Promise<{ readonly sub: string; readonly expiresAtMs: number } | null>;
}

/** Thrown (as a rejection of `revoke`) when a revocation is only held locally for now. */
export class RevocationNotSharedError extends Error {
  override readonly name = 'RevocationNotSharedError';
}
