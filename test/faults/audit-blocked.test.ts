/**
 * Decision-log sink blocked (CI version of scripts/reliability/audit-blocked.mjs): the log
 * file is a FIFO nobody reads. Decisions go on unchanged; within the buffer nothing is lost
 * once a reader attaches; beyond it, every entry is either delivered or counted in
 * mandate_audit_dropped_total — exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { run, type AuditPhase } from '../../scripts/reliability/audit-blocked.mjs';
import { CI_DEADLINE_MS, exclusively, quiet, requireBuild } from './dist.js';

let within: AuditPhase;
let beyond: AuditPhase;
beforeAll(async () => {
  requireBuild();
  ({ within, beyond } = await exclusively(() => run({ within: 1000, beyond: 13_000, concurrency: 50, deadlineMs: CI_DEADLINE_MS, log: quiet })));
}, 400_000);

describe('decision-log sink blocked (short)', () => {
  it.each([
    ['within the buffer', () => within],
    ['beyond the buffer', () => beyond],
  ])('%s: decisions continue with unchanged answers and no RPC failure', (_n, phase) => {
    const p = phase();
    expect(p.rpcErrors).toBe(0);
    expect(p.wrongAnswers).toBe(0);
    expect(p.decisions).toBe(p.sent);
    expect(p.exit.code).toBe(0);
  });
  it('within the buffer nothing is dropped and every line arrives once the sink unblocks', () => {
    expect(within.dropped).toBe(0);
    expect(within.linesReceived).toBe(within.decisions);
  });
  it('beyond the buffer drops are counted while blocked, and lines + drops = decisions exactly', () => {
    expect(beyond.droppedWhileBlocked).toBeGreaterThan(0);
    expect(beyond.dropped).toBe(beyond.droppedWhileBlocked);
    expect(beyond.linesReceived + beyond.dropped).toBe(beyond.decisions);
  });
});
