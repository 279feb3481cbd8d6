/**
 * Policy reloads every 100 ms under load (CI version of scripts/reliability/reload.mjs):
 * two variants whose decisions differ; every answer must be its variant's, and the
 * decision log must tie each answer to a revision of that same variant.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { run, type ReloadFigures } from '../../scripts/reliability/reload.mjs';
import { CI_DEADLINE_MS, exclusively, quiet, requireBuild } from './dist.js';

let f: ReloadFigures;
beforeAll(async () => {
  requireBuild();
  f = await exclusively(() => run({ durationS: 6, rate: 50, everyMs: 100, deadlineMs: CI_DEADLINE_MS, log: quiet }));
}, 400_000);

describe('policy reloads every 100 ms under load (short)', () => {
  it('fails no check and gives each the answer of the variant that decided it', () => {
    expect(f.rpcErrors).toBe(0);
    expect(f.answered).toBe(f.sent);
    expect(f.wrongAnswers, JSON.stringify(f.firstWrong)).toBe(0);
  });
  it('really alternated: both variants answered, many revisions, reloads counted', () => {
    expect(f.answersByVariant['variant-a']).toBeGreaterThan(0);
    expect(f.answersByVariant['variant-b']).toBeGreaterThan(0);
    expect(f.revisionsSeen).toBeGreaterThan(3);
    expect(f.reloadsOk).toBeGreaterThan(5);
    expect(f.reloadsError).toBe(0);
  });
  it('logs every decision with a revision that belongs to the variant in the answer', () => {
    expect(f.logLinesMatched).toBe(f.answered);
    expect(f.logLinesUnmatched).toBe(0);
    expect(f.logInconsistentWithAnswer).toBe(0);
    expect(f.revisionsWithMixedVariants).toBe(0);
    expect(f.exit.code).toBe(0);
  });
});
