/**
 * Short soak (CI version of scripts/reliability/soak.mjs): a fixed rate of mixed requests
 * whose varying parts are always new, against a mandate child process. Every answer must
 * be its documented reason, no RPC may fail, and memory must not run away.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { run, type SoakFigures } from '../../scripts/reliability/soak.mjs';
import { CI_DEADLINE_MS, exclusively, quiet, requireBuild } from './dist.js';

let f: SoakFigures;
beforeAll(async () => {
  requireBuild();
  f = await exclusively(() => run({ durationS: 8, rate: 50, sampleS: 2, warmupS: 2, maxGrowthMib: 40, deadlineMs: CI_DEADLINE_MS, log: quiet }));
}, 400_000);

describe('soak (short)', () => {
  it('answers every request, each with its expected reason', () => {
    expect(f.rpcErrors, JSON.stringify(f.firstWrong)).toBe(0);
    expect(f.wrongAnswers, JSON.stringify(f.firstWrong)).toBe(0);
    expect(f.answered).toBe(f.sent);
    expect(f.sent).toBeGreaterThan(200);
  });
  it('counts every decision in the metrics and has no internal errors', () => {
    expect(f.decisionsCounted).toBeGreaterThanOrEqual(f.answered);
    expect(f.internalErrors).toBe(0);
  });
  it('keeps memory bounded and exits 0 on SIGTERM', () => {
    expect(f.rssGrowthAfterWarmupMiB).toBeLessThan(40);
    expect(f.rssAfterWarmupMaxMiB).toBeLessThan(400);
    expect(f.exit.code).toBe(0);
  });
});
