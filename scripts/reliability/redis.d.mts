/** Types of redis.mjs for the CI tests (test/faults). */
export interface RedisFigures {
  phaseS: number; rate: number; stalenessS: number; sent: number; answered: number; rpcErrors: number;
  revokeToTokenRevokedMs: number | null; killToRevocationUnavailableMs: number | null; lastLiveAllowedAfterKillMs: number | null;
  restartToLiveAllowedMs: number | null; freezeToRevocationUnavailableMs: number | null; thawToLiveAllowedMs: number | null;
  phases: Record<string, Record<string, number>>; noTokenDenied: number; doomedAllowedLaterThan1sAfterRevoke: number;
  checks: Record<string, boolean>; exit: { code: number | null; signal: string | null }; pass: boolean;
}
export function run(opts?: { phaseS?: number; rate?: number; stalenessS?: number; kill?: boolean; freeze?: boolean; deadlineMs?: number; log?: (s: string) => void }): Promise<RedisFigures>;
