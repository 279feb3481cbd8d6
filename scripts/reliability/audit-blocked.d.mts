/** Types of audit-blocked.mjs for the CI tests (test/faults). */
export interface AuditPhase {
  decisions: number; sent: number; rpcErrors: number; wrongAnswers: number; droppedWhileBlocked: number; dropped: number;
  linesReceived: number; accountedFor: number; p50Ms: number; p99Ms: number; maxMs: number;
  exit: { code: number | null; signal: string | null };
}
export function run(opts?: { within?: number; beyond?: number; concurrency?: number; deadlineMs?: number; log?: (s: string) => void }): Promise<{ within: AuditPhase; beyond: AuditPhase; pass: boolean }>;
