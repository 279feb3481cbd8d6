/**
 * Redis faults under load (CI version of scripts/reliability/redis.mjs): a real
 * redis-server killed and restarted, and frozen (SIGSTOP), while requests with and without
 * task tokens flow. Fail closed with REVOCATION_UNAVAILABLE after the staleness bound,
 * recover without restarting mandate, never touch requests without a token.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../scripts/reliability/redis.mjs';
import { CI_DEADLINE_MS, exclusively, quiet, requireBuild } from './dist.js';

describe('Redis killed and restarted under load (short)', () => {
  it('fails closed after the bound, recovers after restart, never affects token-free requests', async () => {
    requireBuild();
    const f = await exclusively(() => run({ phaseS: 3, rate: 45, stalenessS: 1, kill: true, freeze: false, deadlineMs: CI_DEADLINE_MS, log: quiet }));
    const detail = JSON.stringify(f.phases);
    expect(f.rpcErrors, detail).toBe(0);
    expect(f.revokeToTokenRevokedMs, detail).not.toBeNull();
    expect(f.doomedAllowedLaterThan1sAfterRevoke, detail).toBe(0);
    expect(f.killToRevocationUnavailableMs, detail).not.toBeNull();
    expect(f.killToRevocationUnavailableMs!, detail).toBeLessThanOrEqual(1000 + 2000);
    expect(f.restartToLiveAllowedMs, detail).not.toBeNull();
    expect(f.noTokenDenied, detail).toBe(0);
    expect(f.exit.code).toBe(0);
  }, 400_000);

  // Found by this scenario (/work/briefs/bugs.md, "hung Redis"); fixed by the heartbeat in c881ce3.
  it('fails closed when Redis hangs (SIGSTOP) as it does when Redis dies, and recovers after SIGCONT', async () => {
    requireBuild();
    const f = await exclusively(() => run({ phaseS: 4, rate: 45, stalenessS: 1, kill: false, freeze: true, deadlineMs: CI_DEADLINE_MS, log: quiet }));
    expect(f.rpcErrors).toBe(0);
    expect(f.freezeToRevocationUnavailableMs, JSON.stringify(f.phases)).not.toBeNull();
    expect(f.freezeToRevocationUnavailableMs!).toBeLessThanOrEqual(1000 + 2000);
    expect(f.thawToLiveAllowedMs, JSON.stringify(f.phases)).not.toBeNull();
    expect(f.noTokenDenied).toBe(0);
  }, 400_000);
});
