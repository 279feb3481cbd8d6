/**
 * Shared by the fault scenarios' CI versions. They drive the built CLI as child processes
 * (`npm test` builds first) and each loads the machine on purpose, so they take turns: a
 * lock directory serialises them across vitest workers, and a holder that died leaves a
 * pid file the next one recognises as stale.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" before test/faults`);
}

/** Scenario progress goes nowhere in CI; failing assertions print the figures instead. */
export const quiet = (): void => {};

/** Client deadline for CI runs: correctness is under test here, not latency on a shared box. */
export const CI_DEADLINE_MS = 30_000;

const LOCK = join(tmpdir(), 'mandate-fault-scenarios.lock');

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` while holding the scenario lock (waits at most `waitMs` for it). */
export async function exclusively<T>(fn: () => Promise<T>, waitMs = 300_000): Promise<T> {
  const end = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      // Held: by a live process, wait; by a dead one (or mid-creation for > 1 poll), take it over.
      if (!holderAlive() && existsSync(join(LOCK, 'pid'))) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > end) throw new Error('timed out waiting for the fault-scenario lock');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
