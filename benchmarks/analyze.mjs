/**
 * `mandate analyze` at scale (issue 7): the real CLI (dist/cli/main.js) on a synthetic estate
 * written by test/fixtures/analysis/gen-synthetic.mjs, timed from outside as a user would
 * see it, next to `mandate validate` on the same files (loading and checking the policy
 * only: the floor analyze cannot go below). Wall and CPU time come from bash's `time` over
 * the child. Correctness: analyze must exit 0 and print JSON whose summary counts every
 * mandate and whose findings are not empty (the generator plants lateral paths).
 *
 *   node benchmarks/analyze.mjs --mandates 10000 [--rounds 2]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.mjs';
import { fail, report } from './lib/measure.mjs';

const opt = args({ mandates: 10000, rounds: 2 });
const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-analyze-'));

/** Runs `node CLI ...argv` under bash's `time`; returns seconds and the captured stdout. */
function timed(argv) {
  const out = path.join(dir, 'out.json');
  const quoted = [process.execPath, CLI, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time ${quoted} > '${out}'`], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [wall, user, sys] = last.split(' ').map(Number);
  return { status: r.status, wallS: wall, cpuS: user + sys, stdout: fs.readFileSync(out, 'utf8'), stderr: r.stderr };
}

function best(runs) {
  return runs.reduce((a, b) => (b.wallS < a.wallS ? b : a));
}

try {
  const policies = path.join(dir, 'policies');
  execFileSync(process.execPath, [path.join(ROOT, 'test/fixtures/analysis/gen-synthetic.mjs'), policies, String(opt.mandates)], { stdio: 'ignore' });
  const validate = [];
  const analyze = [];
  for (let i = 0; i < opt.rounds; i++) {
    validate.push(timed(['validate', policies]));
    analyze.push(timed(['analyze', policies, '--format', 'json']));
  }
  const v = best(validate);
  const a = best(analyze);
  let problem = null;
  if (v.status !== 0) problem = `validate exited ${v.status}: ${v.stderr.slice(0, 300)}`;
  else if (a.status !== 0) problem = `analyze exited ${a.status}: ${a.stderr.slice(0, 300)}`;
  else {
    const json = JSON.parse(a.stdout);
    const mandates = json.summary?.mandates;
    if (mandates !== opt.mandates) problem = `analyze reported ${mandates} mandates, expected ${opt.mandates}`;
    else if (!Array.isArray(json.findings) || json.findings.length === 0) problem = 'analyze reported no findings on an estate built to have some';
    else {
      report({
        engine: 'mandate analyze', mandates: opt.mandates, rounds: opt.rounds, findings: json.findings.length,
        analyzeWallS: a.wallS, analyzeCpuS: a.cpuS, validateWallS: v.wallS, validateCpuS: v.cpuS,
        analyzeVsValidate: a.wallS / v.wallS,
      });
    }
  }
  if (problem !== null) fail(`analyze: ${problem}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
