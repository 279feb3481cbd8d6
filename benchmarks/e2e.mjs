/**
 * End to end over gRPC on 127.0.0.1: ghz (a Go load generator, separate process) sends the
 * generated CheckRequest mix to one server at fixed rates and at saturation.
 *
 *   node benchmarks/e2e.mjs --servers floor,mandate,opa --rates 1000,2000,5000,0 --seconds 3 --rounds 1
 *
 * Servers: `floor` (benchmarks/floor-server.mjs, allow-all grpc-js), `mandate` (dist/cli/main.js
 * serve with --mandates generated mandates and the decision log on, to a file), `opa`
 * (benchmarks/opa/, see there). Rate 0 means saturation (no rate limit, 64 in flight).
 *
 * Correctness: before load, every distinct request goes through once on a grpc-js client and
 * its answer is compared with the expected decision (and, for mandate, the reason header);
 * during load, for mandate, the per-reason decision counters scraped from /metrics must match
 * the request mix. Either mismatch fails the run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyProtoDirs, loadExtAuthzDefinition } from '../dist/envoy/protos.js';
import { buildModel, buildRequests, policyDir, toProtoJson, writePolicySet } from './generate.mjs';
import { args } from './lib/args.mjs';
import { fail, report } from './lib/measure.mjs';
import { counterBy, diffBuckets, freePort, histogramBuckets, histogramQuantile, httpGet, parseMetrics, waitFor } from './lib/net.mjs';
import { BENCH_DIR, ensureGhz } from './lib/tools.mjs';
import { startOpa } from './opa/start.mjs';

const ROOT = path.dirname(BENCH_DIR);
const INCLUDE = envoyProtoDirs();
const PROTO = 'envoy/service/auth/v3/external_auth.proto';
const GRPC_CODE = { ALLOWED: 0, NO_MANDATE: 7, UNTRUSTED_DOMAIN: 16, MISSING_FUNCTION: 7, FUNCTION_NOT_DECLARED: 7, ACTION_NOT_PERMITTED: 7, INVALID_PATH: 7, TOKEN_REQUIRED: 16, MANDATE_EXPIRED: 7 };

const opt = args({ server: 'floor', servers: '', rates: '1000,2000,5000,0', seconds: 3, rounds: 1, mandates: 10000, cpuProf: '', work: '' });
const log = (m) => process.stderr.write(`  [e2e] ${m}\n`);
const work = opt.work || fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-e2e-'));
fs.mkdirSync(work, { recursive: true });

function spawnServer(cmd, argv, extraEnv = {}) {
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
  let out = '';
  child.stdout.on('data', (c) => { if (out.length < 65536) out += c; });
  child.stderr.on('data', (c) => { if (out.length < 65536) out += c; });
  return { child, output: () => out };
}

async function stopChild(child, timeoutMs = 15000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

async function startFloor() {
  const nodeArgs = opt.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opt.cpuProf] : [];
  const s = spawnServer(process.execPath, [...nodeArgs, path.join(BENCH_DIR, 'floor-server.mjs'), '127.0.0.1:0']);
  const port = await waitFor(() => /listening (\d+)/.exec(s.output())?.[1], 30000);
  if (!port) throw new Error(`floor server did not start: ${s.output()}`);
  return { grpcAddr: `127.0.0.1:${port}`, metricsUrl: null, stop: () => stopChild(s.child), pid: s.child.pid };
}

async function startMandate(dir) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const logFile = path.join(work, 'decisions.log');
  fs.rmSync(logFile, { force: true });
  const nodeArgs = [];
  if (opt.cpuProf) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', opt.cpuProf);
  const s = spawnServer(process.execPath, [
    ...nodeArgs, path.join(ROOT, 'dist/cli/main.js'), 'serve', '--policies', dir,
    '--grpc-addr', `127.0.0.1:${grpcPort}`, '--http-addr', `127.0.0.1:${httpPort}`, '--log-file', logFile,
  ]);
  const base = `http://127.0.0.1:${httpPort}`;
  const ready = await waitFor(async () => (await httpGet(`${base}/readyz`)).status === 200 || s.child.exitCode !== null, 180000, 200);
  if (!ready || s.child.exitCode !== null) throw new Error(`mandate did not become ready: ${s.output().slice(-2000)}`);
  return { grpcAddr: `127.0.0.1:${grpcPort}`, metricsUrl: `${base}/metrics`, logFile, stop: () => stopChild(s.child), pid: s.child.pid, output: s.output };
}

function makeClient(addr) {
  const Ctor = grpc.loadPackageDefinition(loadExtAuthzDefinition()).envoy.service.auth.v3.Authorization;
  return new Ctor(addr, grpc.credentials.createInsecure());
}

function check(client, req) {
  return new Promise((resolve, reject) => {
    client.Check(req, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function headerOf(list, name) {
  for (const h of list ?? []) if (h.header?.key === name) return h.header.value;
  return null;
}

/** Every distinct request once; the answer must be the expected one. */
async function preflight(name, addr, reqs) {
  const client = makeClient(addr);
  let wrong = 0;
  let first = null;
  for (const r of reqs) {
    const res = await check(client, r.request);
    const code = res.status?.code ?? 0;
    let ok;
    if (name === 'floor') ok = code === 0;
    else if (name === 'mandate') {
      ok = code === GRPC_CODE[r.expect.reason] && (r.expect.decision === 'allow' ? res.ok_response !== undefined : headerOf(res.denied_response?.headers, 'x-mandate-reason') === r.expect.reason);
    } else ok = (code === 0) === (r.expect.decision === 'allow');
    if (!ok) {
      wrong++;
      if (first === null) first = { kind: r.kind, expect: r.expect, got: { code, reason: headerOf(res.denied_response?.headers, 'x-mandate-reason') } };
    }
  }
  client.close();
  return { wrong, first };
}

function runGhz(ghz, addr, dataFile, rate, seconds, outFile) {
  const common = [
    '--insecure', '--proto', path.join(INCLUDE[0], PROTO), '-i', INCLUDE.join(','),
    '--call', 'envoy.service.auth.v3.Authorization.Check', '-D', dataFile, '--connections', '2', '-O', 'json', '-o', outFile,
  ];
  // Fixed rate: a count, so the run ends when the last request is answered (no cut-off calls).
  const load = rate > 0 ? ['--rps', String(rate), '-n', String(rate * seconds), '-c', '32'] : ['-c', '64', '-z', `${seconds}s`];
  return new Promise((resolve, reject) => {
    const p = spawn(ghz, [...common, ...load, addr], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.on('exit', (code) => {
      if (code !== 0 || !fs.existsSync(outFile)) return reject(new Error(`ghz exited ${code}: ${err.slice(-500)}`));
      resolve(JSON.parse(fs.readFileSync(outFile, 'utf8')));
    });
  });
}

function summarize(g, rate) {
  const lat = [];
  let errors = 0;
  let cutOff = 0;
  const end = Date.parse(g.date) || 0;
  for (const d of g.details ?? []) {
    if (d.status === 'OK') lat.push(d.latency);
    // A saturation run is bounded by time: ghz cancels the calls still in flight at the end.
    else if (rate === 0 && /closed network connection|Canceled|context canceled/i.test(d.error)) cutOff++;
    else errors++;
  }
  void end;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(p * lat.length) - 1))] / 1e6;
  return {
    count: lat.length, errors, cutOff, rps: g.rps * (lat.length / Math.max(1, lat.length + errors + cutOff)),
    p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), maxMs: lat[lat.length - 1] / 1e6,
    errorSample: errors > 0 ? Object.keys(g.errorDistribution ?? {})[0] ?? null : null,
  };
}

/** Per-reason counts the round-robin replay of `reqs` gives for `n` requests. */
function expectedReasons(reqs, n) {
  const out = {};
  const L = reqs.length;
  for (let i = 0; i < L; i++) {
    const c = Math.floor(n / L) + (i < n % L ? 1 : 0);
    out[reqs[i].expect.reason] = (out[reqs[i].expect.reason] ?? 0) + c;
  }
  return out;
}

/** utime + stime of a process in ms (Linux /proc), null elsewhere. */
function cpuMs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(parts[11]) + Number(parts[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

async function start(name, model) {
  if (name === 'floor') return startFloor();
  if (name === 'mandate') return startMandate(writePolicySet(model, policyDir(opt.mandates)));
  if (name === 'opa') return startOpa({ model, work, log });
  throw new Error(`unknown server ${name}`);
}

async function measureOne(ghzBin, name, server, reqs, dataFile, rate, round) {
  const before = server.metricsUrl ? parseMetrics((await httpGet(server.metricsUrl)).body) : null;
  const cpu0 = cpuMs(server.pid);
  const g = await runGhz(ghzBin, server.grpcAddr, dataFile, rate, opt.seconds, path.join(work, `ghz-${name}-${rate}-${round}.json`));
  const cpu1 = cpuMs(server.pid);
  const row = { server: name, rate, round, ...summarize(g, rate) };
  if (row.errors > 0) throw new Error(`${name}: ${row.errors} failed RPCs at rate ${rate}: ${row.errorSample}`);
  // Server CPU per check: robust on a shared machine, where latency is not.
  row.cpuUsPerCheck = cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1000) / Math.max(1, row.count + row.cutOff);
  if (before !== null) {
    const after = parseMetrics((await httpGet(server.metricsUrl)).body);
    const h = diffBuckets(histogramBuckets(after, 'mandate_check_duration_seconds'), histogramBuckets(before, 'mandate_check_duration_seconds'));
    const p50 = histogramQuantile(h, 0.5);
    const p99 = histogramQuantile(h, 0.99);
    row.serverP50Us = p50.value * 1e6;
    row.serverP99Us = p99.value * 1e6;
    row.serverP99BucketUs = p99.upperBound * 1e6;
    row.serverCount = p99.count;
    const a = counterBy(after, 'mandate_decisions_total', 'reason');
    const b = counterBy(before, 'mandate_decisions_total', 'reason');
    const got = {};
    for (const k of Object.keys(a)) if (a[k] - (b[k] ?? 0) > 0) got[k] = a[k] - (b[k] ?? 0);
    const total = Object.values(got).reduce((x, y) => x + y, 0);
    const want = expectedReasons(reqs, total);
    for (const k of new Set([...Object.keys(want), ...Object.keys(got)])) {
      const w = want[k] ?? 0;
      const d = Math.abs((got[k] ?? 0) - w);
      // ghz's workers take requests round-robin from a shared counter; allow for the
      // calls of a time-bounded run that were cut off before reaching the server.
      if (d > Math.max(2 + row.cutOff, 0.02 * w)) throw new Error(`decision counts off at rate ${rate}: ${k} got ${got[k] ?? 0}, mix says ${w}`);
    }
    row.decisionsChecked = total;
  }
  log(`${name} rate ${rate || 'max'} round ${round}: ${row.rps.toFixed(0)}/s p50 ${row.p50Ms.toFixed(3)} ms p99 ${row.p99Ms.toFixed(3)} ms p99.9 ${row.p999Ms.toFixed(3)} ms cpu ${row.cpuUsPerCheck?.toFixed(0)} µs/check${row.serverP99Us !== undefined ? `, server p99 ${row.serverP99Us.toFixed(1)} µs` : ''}`);
  return row;
}

/**
 * All servers run side by side (an idle one costs nothing) and take turns at each rate, in
 * rotating order, for `rounds` rounds; each (server, rate) keeps the round with the median
 * p99. On a shared machine this puts every server under the same background load.
 */
async function main() {
  const ghz = ensureGhz(log);
  if (ghz.error) throw new Error(`load generator unavailable: ${ghz.error}`);
  const model = buildModel(opt.mandates);
  const reqs = buildRequests(model, 1000);
  const dataFile = path.join(work, 'requests.json');
  fs.writeFileSync(dataFile, JSON.stringify(reqs.map((r) => toProtoJson(r.request))));

  const names = String(opt.servers || opt.server).split(',');
  const servers = new Map();
  const runs = [];
  try {
    for (const name of names) {
      const server = await start(name, model);
      if (server.unavailable) {
        log(`${name} unavailable: ${server.unavailable}`);
        runs.push({ server: name, unavailable: server.unavailable, rows: [] });
        continue;
      }
      servers.set(name, server);
      const pf = await preflight(name, server.grpcAddr, reqs);
      if (pf.wrong > 0) throw new Error(`${name} preflight: ${pf.wrong} wrong answers, first ${JSON.stringify(pf.first)}`);
      log(`${name}: preflight ok (${reqs.length} distinct requests); warming up`);
      await runGhz(ghz.bin, server.grpcAddr, dataFile, 2000, 1, path.join(work, `warmup-${name}.json`));
    }
    const all = new Map([...servers.keys()].map((n) => [n, []]));
    const order = [...servers.keys()];
    const rates = String(opt.rates).split(',').map(Number);
    for (let round = 1; round <= opt.rounds; round++) {
      for (const [ri, rate] of rates.entries()) {
        for (let k = 0; k < order.length; k++) {
          const name = order[(k + ri + round) % order.length];
          all.get(name).push(await measureOne(ghz.bin, name, servers.get(name), reqs, dataFile, rate, round));
        }
      }
    }
    for (const [name, server] of servers) {
      const rows = [];
      for (const rate of rates) {
        const rs = all.get(name).filter((r) => r.rate === rate);
        const mid = median(rs.map((r) => r.p99Ms));
        rows.push({ ...rs.find((r) => r.p99Ms === mid), rounds: rs.length, p99MsAllRounds: rs.map((r) => r.p99Ms) });
      }
      const impl = server.name ?? (name === 'floor' ? 'grpc-js allow-all (floor-server.mjs)' : 'mandate serve (dist/cli/main.js)');
      runs.push({ server: name, impl, note: server.note ?? null, mandates: name === 'floor' ? null : opt.mandates, rows });
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  for (const run of runs) {
    const s = servers.get(run.server);
    if (s?.logFile && fs.existsSync(s.logFile)) {
      run.decisionLogLines = fs.readFileSync(s.logFile, 'utf8').split('\n').filter((l) => l.includes('"decision_id"')).length;
    }
  }
  // ghz's per-request details run to megabytes per run: keep the work directory only on request.
  if (!opt.work) fs.rmSync(work, { recursive: true, force: true });
  report({ runs });
}

main().catch((err) => fail(`e2e: ${err.stack ?? err}`));
