/** Types of reload.mjs for the CI tests (test/faults). */
export interface ReloadFigures {
  durationS: number; rate: number; everyMs: number; swaps: number; reloadsOk: number | null; reloadsError: number;
  sent: number; answered: number; rpcErrors: number; wrongAnswers: number; firstWrong: { variant: string; reason: string }[];
  answersByVariant: Record<string, number>; revisionsSeen: number; revisionsWithMixedVariants: number;
  logLinesMatched: number; logLinesUnmatched: number; logInconsistentWithAnswer: number;
  p50Ms: number; p99Ms: number; maxMs: number; exit: { code: number | null; signal: string | null }; pass: boolean;
}
export function run(opts?: { durationS?: number; rate?: number; everyMs?: number; deadlineMs?: number; log?: (s: string) => void }): Promise<ReloadFigures>;
