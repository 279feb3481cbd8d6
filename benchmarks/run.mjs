/**
 * The benchmark runner: `npm run bench` (= build, then this). Each case runs in a fresh
 * process (child_process.fork) so no case inherits another's JIT state, heap or caches;
 * the runner prints one table and writes the same results to benchmarks/results/latest.json.
 *
 *   node benchmarks/run.mjs            default: quick sizes, e2e included
 *   node benchmarks/run.mjs --quick    CI-sized: short runs (< ~3 min on 2 cores)
 *   node benchmarks/run.mjs --full     longer runs, 10,000-mandate in-process rows, all rates
 *   --only inproc,analyze,peers,e2e    run some sections only
 *   --cpu-prof DIR                     also profile mandate under load (e2e at 2,000/s)
 *   --readme                           refresh the results section of README.md (--full does)
 *   --nice N                           run at scheduling priority N (e.g. -10 on a shared machine)
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BENCH_DIR, GHZ_VERSION, goVersion } from './lib/tools.mjs';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const quick = argv.includes('--quick');
const onlyArg = argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set(argv[onlyArg + 1].split(',')) : new Set(['inproc', 'analyze', 'peers', 'e2e']);
const profArg = argv.indexOf('--cpu-prof');
const cpuProf = profArg >= 0 ? path.resolve(argv[profArg + 1]) : '';
const outArg = argv.indexOf('--out');
const outFile = outArg >= 0 ? path.resolve(argv[outArg + 1]) : path.join(BENCH_DIR, 'results', 'latest.json');

const mode = full ? 'full' : quick ? 'quick' : 'default';
// --nice N: run this process and every child (servers, ghz) at priority N (e.g. -10, needs
// root), so that other work on a shared machine disturbs the measurement less.
const niceArg = argv.indexOf('--nice');
let priority = null;
if (niceArg >= 0) {
  try {
    os.setPriority(0, Number(argv[niceArg + 1]));
    priority = os.getPriority(0);
  } catch (err) {
    process.stderr.write(`--nice: ${err.message}; running at normal priority\n`);
  }
}
const inprocMs = full ? 4000 : quick ? 1200 : 2500;
const peerMs = full ? 4000 : quick ? 1500 : 2500;
const e2eSeconds = full ? 10 : quick ? 3 : 5;
// Loading YAML costs ~1-3 ms per mandate today; quick mode keeps server start-up short.
const e2eMandates = quick ? 1000 : 10000;

const ROOT = path.dirname(BENCH_DIR);
const log = (m) => process.stderr.write(m + '\n');

function runCase(script, args, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const load = os.loadavg()[0];
    const child = fork(path.join(BENCH_DIR, script), args.map(String), {
      cwd: ROOT,
      execArgv: ['--expose-gc', '--max-old-space-size=6144'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let msg = null;
    const timer = setTimeout(() => {
      msg = msg ?? { type: 'error', message: `timed out after ${timeoutMs / 1000} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => { msg = m; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const meta = { wallS: (Date.now() - started) / 1000, loadAvg1m: load };
      if (msg?.type === 'result') resolve({ ok: true, ...msg.result, ...meta });
      else resolve({ ok: false, error: msg?.message ?? `exited with ${code} and no result`, script, args, ...meta });
    });
  });
}

const results = { meta: {}, inproc: [], scale: [], codec: [], analyze: [], peers: [], e2e: [], failures: [] };
let commit = null;
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
results.meta = {
  date: new Date().toISOString(), mode, commit,
  node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length,
  memoryGB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`,
  loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  go: goVersion(), ghz: GHZ_VERSION, priority: priority ?? os.getPriority(0),
};

function record(section, r, label) {
  if (!r.ok) {
    results.failures.push({ section, label, error: r.error });
    log(`FAILED ${label}: ${r.error}`);
  }
  results[section].push({ label, ...r });
  return r;
}

if (only.has('inproc')) {
  // 100,000 mandates take ~40 s to load from YAML per case, so only --full has them.
  const sizes = full ? [10, 1000, 10000, 100000] : quick ? [10, 1000] : [10, 1000, 10000];
  for (const n of sizes) {
    for (const mix of ['allow', 'deny']) {
      log(`in-process mandate: ${n} mandates, ${mix} mix`);
      record('inproc', await runCase('inproc-mandate.mjs', ['--mandates', n, '--mix', mix, '--maxMs', inprocMs], 600000), `mandate ${n} ${mix}`);
    }
  }
  // The same path with 10 and with the largest size in one process, in alternating blocks:
  // the ratio the "flat" target is about, free of the drift between separate processes.
  const largest = sizes[sizes.length - 1];
  for (const mix of ['allow', 'deny']) {
    log(`in-process mandate: 10 vs ${largest} mandates in one process, ${mix} mix`);
    record('scale', await runCase('inproc-scale.mjs', ['--mandates', largest, '--mix', mix, '--rounds', quick ? 6 : 24], 600000), `scale ${largest} ${mix}`);
  }
  for (const what of ['decode', 'decode-fast', 'encode', 'encode-fast']) {
    log(`codec: ${what}`);
    record('codec', await runCase('inproc-codec.mjs', ['--what', what, '--maxMs', inprocMs], 120000), `codec ${what}`);
  }
}

if (only.has('analyze')) {
  // Issue 7: `mandate analyze` on 10,000 generated mandates, next to `mandate validate`.
  for (const n of quick ? [1000, 10000] : [1000, 10000]) {
    log(`analyze: ${n} synthetic mandates`);
    record('analyze', await runCase('analyze.mjs', ['--mandates', n, '--rounds', quick ? 1 : 2], 600000), `analyze ${n}`);
  }
}

if (only.has('peers')) {
  const plan = [
    ['inproc-mandate.mjs', 'mandate', quick ? [10, 1000] : [10, 1000, 10000]],
    ['inproc-cedar.mjs', 'cedar-wasm', [10, 1000]],
    ['inproc-casbin.mjs', 'casbin', quick ? [10, 1000] : [10, 1000, 10000]],
  ];
  for (const [script, engine, sizes] of plan) {
    for (const n of sizes) {
      log(`peers: ${engine}, ${n} mandates, peer mix`);
      record('peers', await runCase(script, ['--mandates', n, '--mix', 'peer', '--maxMs', peerMs], 600000), `${engine} ${n}`);
    }
  }
}

if (only.has('e2e')) {
  const rates = '1000,2000,5000,0';
  const rounds = full ? 3 : quick ? 1 : 2;
  log(`end to end: floor, mandate, opa side by side, ${rounds} round(s)`);
  const r = await runCase('e2e.mjs', ['--servers', 'floor,mandate,opa', '--rates', rates, '--seconds', e2eSeconds, '--rounds', rounds, '--mandates', e2eMandates], 1800000);
  if (!r.ok) record('e2e', r, 'e2e');
  else for (const run of r.runs) record('e2e', { ok: true, ...run, wallS: r.wallS, loadAvg1m: r.loadAvg1m }, `e2e ${run.server}`);
  if (cpuProf) {
    fs.mkdirSync(cpuProf, { recursive: true });
    log(`profiling mandate at 2,000/s into ${cpuProf}`);
    const before = new Set(fs.readdirSync(cpuProf));
    const p = await runCase('e2e.mjs', ['--servers', 'mandate', '--rates', '2000', '--seconds', Math.max(5, e2eSeconds), '--mandates', e2eMandates, '--cpuProf', cpuProf], 900000);
    if (!p.ok) record('e2e', p, 'e2e mandate (profiled)');
    else for (const run of p.runs) record('e2e', { ok: true, ...run }, 'e2e mandate (profiled)');
    const { profileTop, renderTop } = await import('./profile-top.mjs');
    const fresh = fs.readdirSync(cpuProf).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    for (const f of fresh) {
      // Only the request path: samples under grpc-js's stream handling.
      const top = profileTop(path.join(cpuProf, f), null, 20, /onStreamReadable|handleUnary|Http2ServerCallStream|processTicksAndRejections/);
      results.profile = { file: path.join(cpuProf, f), ...top };
      log(renderTop(top));
    }
  }
}

results.meta.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
const { renderTable, checkTargets } = await import('./lib/table.mjs');
results.targets = checkTargets(results);
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
const text = renderTable(results);
process.stdout.write(text);
// A --full run (or --readme) also refreshes the results section of benchmarks/README.md.
if (full || argv.includes('--readme')) {
  const readme = path.join(BENCH_DIR, 'README.md');
  const md = fs.readFileSync(readme, 'utf8');
  const a = md.indexOf('<!-- results:start -->');
  const b = md.indexOf('<!-- results:end -->');
  if (a >= 0 && b > a) {
    const block = `<!-- results:start -->\n\`node benchmarks/run.mjs ${argv.join(' ')}\`\n\n\`\`\`text${text}\`\`\`\n`;
    fs.writeFileSync(readme, md.slice(0, a) + block + md.slice(b));
    log('benchmarks/README.md results section updated');
  }
}
log(`results written to ${path.relative(process.cwd(), outFile)}`);
if (results.failures.length > 0) process.exitCode = 1;
