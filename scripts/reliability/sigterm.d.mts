/** Types of sigterm.mjs for the CI tests (test/faults). */
export interface SigtermRound {
  sent: number; delivered: number; decisionsLogged: number; lostInFlight: number; deliveredButNotLogged: number;
  failures: Record<string, number>; wrongAnswers: number; exit: { code: number | null; signal: string | null }; exitMs: number;
}
export function run(opts?: { rate?: number; beforeMs?: number; burst?: number; burstLeadMs?: number; slowCalls?: number; slowReaderMs?: number; deadlineMs?: number; rounds?: number; drainTimeoutS?: number; log?: (s: string) => void }): Promise<{ rate: number; beforeMs: number; burst: number; rounds: SigtermRound[]; pass: boolean }>;
