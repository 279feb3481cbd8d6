#!/usr/bin/env node
/**
 * Runs every long reliability scenario once, one after the other (they must not share the
 * CPU), prints each one's figures and writes them all to --out as JSON. Needs `npm run build`
 * and redis-server on PATH. Defaults take about 17 minutes:
 *
 *   npm run build && node scripts/reliability/run-all.mjs --out reliability-results.json
 *   node scripts/reliability/run-all.mjs --only soak,redis --soak-rate 150
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { isMain, parseArgs } from './lib.mjs';

const SCENARIOS = {
  soak: async (o) => (await import('./soak.mjs')).run({ durationS: o.soakDurationS, rate: o.soakRate, sampleS: 15, warmupS: 60 }),
  reload: async (o) => (await import('./reload.mjs')).run({ durationS: 60, rate: o.rate, everyMs: 100 }),
  'audit-blocked': async () => (await import('./audit-blocked.mjs')).run({ within: 5000, beyond: 40000, concurrency: 100 }),
  redis: async (o) => (await import('./redis.mjs')).run({ phaseS: 10, rate: o.rate, stalenessS: 2 }),
  limits: async () => (await import('./limits.mjs')).run({ n: 100 }),
  sigterm: async (o) => (await import('./sigterm.mjs')).run({ rate: o.rate, beforeMs: 3000, burst: 300, slowCalls: 300, slowReaderMs: 500, rounds: 3 }),
};

export async function runAll(o) {
  const only = o.only === '' ? Object.keys(SCENARIOS) : o.only.split(',');
  const results = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', startedAt: new Date().toISOString(), scenarios: {} };
  for (const name of only) {
    const load0 = loadavg()[0];
    const t0 = Date.now();
    console.log(`\n=== ${name} (host load ${load0.toFixed(1)}) ===`);
    const figures = await SCENARIOS[name](o);
    results.scenarios[name] = { ...figures, wallS: Math.round((Date.now() - t0) / 1000), hostLoadBefore: load0, hostLoadAfter: loadavg()[0] };
    console.log(`=== ${name}: ${figures.pass ? 'PASS' : 'FAIL'} ===`);
    if (o.out) writeFileSync(o.out, JSON.stringify(results, null, 2));
  }
  return results;
}

if (isMain(import.meta.url)) {
  const o = parseArgs(process.argv.slice(2), { only: '', out: '', soakDurationS: 600, soakRate: 150, rate: 200 });
  const r = await runAll(o);
  const failed = Object.entries(r.scenarios).filter(([, f]) => !f.pass).map(([n]) => n);
  console.log(failed.length === 0 ? '\nall scenarios passed' : `\nfailed: ${failed.join(', ')}`);
  process.exit(failed.length === 0 ? 0 : 1);
}
