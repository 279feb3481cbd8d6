/**
 * In-process revocations: txn -> time until which the entry matters (the token's exp plus
 * the clock skew; after that the token fails on its own). A timer sweeps passed entries,
 * so memory is bounded by the revocations of the last hour at most.
 */
import { CLOCK_SKEW_SECONDS } from './limits.js';
import type { RevocationLinkState, RevocationStore } from './store.js';

export interface MemoryRevocationOptions {
  readonly now?: () => number;
  /** How often passed entries are dropped; default 30 s. */
  readonly sweepIntervalMs?: number;
}

/** The local table both stores use; `add` keeps the later expiry when a txn is revoked twice. */
export class RevocationTable {
  private readonly entries = new Map<string, number>();

  has(txn: string): boolean {
    // An entry past its time may linger until the next sweep: answering "revoked" for it is
    // harmless, because the token it concerns has expired by then.
    return this.entries.has(txn);
  }

  add(txn: string, keepUntilMs: number): void {
    const old = this.entries.get(txn);
    if (old === undefined || old < keepUntilMs) this.entries.set(txn, keepUntilMs);
  }

  sweep(nowMs: number): void {
    for (const [txn, until] of this.entries) if (until <= nowMs) this.entries.delete(txn);
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface MemoryRevocationStore extends RevocationStore {
  /** Entries currently held (for tests and metrics). */
  size(): number;
}

export function createMemoryRevocationStore(opts: MemoryRevocationOptions = {}): MemoryRevocationStore {
  const now = opts.now ?? Date.now;
  const table = new RevocationTable();
  const timer = setInterval(() => table.sweep(now()), opts.sweepIntervalMs ?? 30_000);
  timer.unref();
  return {
    isRevoked: (txn: string) => table.has(txn),
    isStale: () => false,
    revoke(txn: string, expiresAtMs: number): Promise<void> {
      const until = expiresAtMs + CLOCK_SKEW_SECONDS * 1000;
      if (until > now()) table.add(txn, until);
      return Promise.resolve();
    },
    state: (): RevocationLinkState => 'memory',
    size: () => {
      table.sweep(now());
      return table.size;
    },
    close(): Promise<void> {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
