// Micro-benchmark (not a test): cost of Metrics.observeDecision, before/after, as a ratio.
//
//   node benchmarks/observe-metrics.mjs BEFORE_DIR AFTER_DIR [seconds]
//
// Each DIR holds a compiled metrics module at metrics/metrics.js and errors.js (tsc output of
// src/: dist/, or a build of an older revision, e.g. `git show REV:src/metrics/metrics.ts` and
// src/errors.ts into D/src/, then `tsc --outDir D/out --module nodenext --moduleResolution
// nodenext --target es2022 --skipLibCheck --types node D/src/metrics/metrics.ts`, with
// node_modules linked into D). The two are timed in alternating rounds in one process, on
// the same pre-built mix of calls (60 % allow, the rest spread over deny reasons, a few dry runs,
// durations spread over the buckets), in batches of 4,096 calls timed with hrtime so the
// timer's own cost vanishes. Also times prom-client's own pre-bound children alone (counter inc,
// histogram observe), which is what decided which of the two were worth replacing.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';

const [beforeDir, afterDir, secondsArg] = process.argv.slice(2);
if (beforeDir === undefined || afterDir === undefined) {
  console.error('usage: node benchmarks/observe-metrics.mjs BEFORE_DIR AFTER_DIR [seconds]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 3);
const load = async (dir) => import(pathToFileURL(resolve(dir, 'metrics/metrics.js')).href);
const before = (await load(beforeDir)).createMetrics({ defaultMetrics: false });
const after = (await load(afterDir)).createMetrics({ defaultMetrics: false });
const { REASON_CODES } = await import(pathToFileURL(resolve(afterDir, 'errors.js')).href);

const N = 4096;
const denyReasons = REASON_CODES.filter((r) => r !== 'ALLOWED');
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const calls = Array.from({ length: N }, () => {
  const allow = rnd() < 0.6;
  const dryRun = rnd() < 0.05;
  const reason = allow && !dryRun ? 'ALLOWED' : denyReasons[Math.floor(rnd() * denyReasons.length)];
  return { decision: allow ? 'allow' : 'deny', reason, dryRun, s: 5e-6 * 2 ** (rnd() * 12) };
});
const decisions = calls.map((c) => c.decision);
const reasons = calls.map((c) => c.reason);
const dryRuns = calls.map((c) => c.dryRun);
const durations = Float64Array.from(calls, (c) => c.s);

// prom-client children alone, wired like the old code.
const reg = new Registry();
const h = new Histogram({ name: 'h', help: 'h', labelNames: ['decision'], buckets: [5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25], registers: [reg] });
const c = new Counter({ name: 'c', help: 'c', labelNames: ['decision', 'reason', 'dry_run'], registers: [reg] });
const hChildren = calls.map((x) => h.labels(x.decision));
const cChildren = calls.map((x) => c.labels({ decision: x.decision, reason: x.reason, dry_run: String(x.dryRun) }));

const cases = {
  before: () => {
    for (let i = 0; i < N; i++) before.observeDecision(decisions[i], reasons[i], dryRuns[i], durations[i]);
  },
  after: () => {
    for (let i = 0; i < N; i++) after.observeDecision(decisions[i], reasons[i], dryRuns[i], durations[i]);
  },
  'prom-client histogram child observe': () => {
    for (let i = 0; i < N; i++) hChildren[i].observe(durations[i]);
  },
  'prom-client counter child inc': () => {
    for (let i = 0; i < N; i++) cChildren[i].inc();
  },
};

const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const f of Object.values(cases)) for (let w = 0; w < 200; w++) f(); // warm-up
const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
while (process.hrtime.bigint() < end) {
  for (const [name, f] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    f();
    samples[name].push(Number(process.hrtime.bigint() - t0) / N);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(med)) console.log(`${k.padEnd(40)} ${v.toFixed(1).padStart(7)} ns/call (median of ${samples[k].length} batches)`);
console.log(`before/after ratio: ${(med.before / med.after).toFixed(2)}x`);
