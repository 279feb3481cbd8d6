/** Types of soak.mjs for the CI tests (test/faults). */
export interface SoakFigures {
  durationS: number; rate: number; sent: number; answered: number; wrongAnswers: number; rpcErrors: number;
  firstWrong: { i: number; want: string; got: string }[];
  decisionsCounted: number | null; internalErrors: number; auditDropped: number;
  rssAfterWarmupMinMiB: number | null; rssAfterWarmupMaxMiB: number | null; rssGrowthAfterWarmupMiB: number;
  exit: { code: number | null; signal: string | null };
  samples: Record<string, string | number>[];
  pass: boolean;
}
export function run(opts?: { durationS?: number; rate?: number; sampleS?: number; warmupS?: number; maxGrowthMib?: number; deadlineMs?: number; log?: (s: string) => void }): Promise<SoakFigures>;
