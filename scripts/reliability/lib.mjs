/**
 * Shared parts of the reliability scenarios: a mandate child process (the built CLI,
 * `dist/cli/main.js serve`) on free loopback ports, an Envoy-shaped gRPC client with
 * Envoy's official protos, an open-loop fixed-rate load generator, metric scraping and
 * RSS sampling. Plain ESM so each scenario runs with `node scripts/reliability/X.mjs`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
export const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';

const require = createRequire(import.meta.url);
const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
let definition = null;
function protos() {
  definition ??= protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xdsRoot, 'deps', d)),
  });
  return definition;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it is truthy or `timeoutMs` passes; returns its last value. */
export async function waitFor(cond, { timeoutMs = 15_000, everyMs = 50 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(everyMs);
  }
}

/**
 * Starts `mandate serve` as a child process and waits until /readyz answers 200.
 * Resolves to a handle with the addresses, the pid, the collected stderr and an exit promise.
 */
export async function startMandate({ policies, args = [], env = {}, nodeArgs = [], readyTimeoutMs = 30_000, entry = process.env.MANDATE_ENTRY ?? CLI }) {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const argv = [
    ...nodeArgs,
    entry,
    'serve',
    ...[].concat(policies).flatMap((p) => ['--policies', p]),
    '--grpc-addr', `127.0.0.1:${grpcPort}`,
    '--http-addr', `127.0.0.1:${httpPort}`,
    ...args,
  ];
  const proc = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  proc.stderr.on('data', (c) => {
    stderr += c;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  proc.stdout.on('data', (c) => {
    stdout += c;
    if (stdout.length > 1_000_000) stdout = stdout.slice(-500_000);
  });
  const exit = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const httpBase = `http://127.0.0.1:${httpPort}`;
  let exited = null;
  exit.then((e) => (exited = e));
  const ready = await waitFor(async () => {
    if (exited) return 'exited';
    try {
      const r = await fetch(`${httpBase}/readyz`);
      return r.status === 200 ? 'ready' : false;
    } catch {
      return false;
    }
  }, { timeoutMs: readyTimeoutMs });
  if (ready !== 'ready') {
    proc.kill('SIGKILL');
    throw new Error(`mandate did not become ready (${ready || 'timeout'}): ${stderr.slice(-2000)}`);
  }
  return {
    proc,
    pid: proc.pid,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpBase,
    exit,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (exited) return exited;
      proc.kill(signal);
      return exit;
    },
  };
}

/** A Check client as Envoy would be one: official protos, one channel. */
export function envoyClient(address, { defaultDeadlineMs = 5000 } = {}) {
  const pkg = grpc.loadPackageDefinition(protos());
  const Ctor = pkg.envoy.service.auth.v3.Authorization;
  const client = new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  return {
    /** Resolves (never rejects) to {ok, response, error, latencyMs}. */
    check(request, { deadlineMs = defaultDeadlineMs } = {}) {
      const t0 = process.hrtime.bigint();
      return new Promise((resolve) => {
        client.Check(request, new grpc.Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, response) => {
          const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
          resolve(err ? { ok: false, error: err, response: null, latencyMs } : { ok: true, error: null, response, latencyMs });
        });
      });
    },
    close: () => client.close(),
  };
}

/** A CheckRequest as Envoy's HTTP filter sends it. */
export function checkRequest({ principal = WORKER, destination = PAYMENTS, host = 'payments.internal', method = 'POST', path: p = '/v1/payments/42/refund', fn = 'refund-processing', headers = {}, requestId = 'req' } = {}) {
  return {
    attributes: {
      source: { principal },
      destination: { principal: destination },
      request: {
        http: {
          id: '1',
          method,
          path: p,
          host,
          scheme: 'https',
          protocol: 'HTTP/2',
          headers: { ':authority': host, ':method': method, ':path': p, 'x-request-id': requestId, ...(fn === null ? {} : { 'x-business-function': fn }), ...headers },
        },
      },
    },
  };
}

export function headersOf(response) {
  const list = response.ok_response?.headers ?? response.denied_response?.headers ?? [];
  const out = {};
  for (const h of list) out[h.header.key] = h.header.value;
  return out;
}

/** ALLOWED for an allow, else the x-mandate-reason of the denial. */
export function reasonOf(response) {
  if (response.http_response === 'ok_response') return 'ALLOWED';
  return headersOf(response)['x-mandate-reason'] ?? '(none)';
}

/** The mandate named in the answer: x-mandate-name on an allow, dynamic metadata on a deny. */
export function mandateOf(response) {
  const v = response.dynamic_metadata?.fields?.mandate;
  // google.protobuf.Struct comes back camelCased from proto-loader whatever keepCase says.
  return v?.stringValue ?? v?.string_value ?? null;
}

export async function scrape(httpBase) {
  const r = await fetch(`${httpBase}/metrics`);
  return r.text();
}

/** The sum of a metric's samples whose labels include all of `labels`. */
export function metric(text, name, labels = {}) {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : null;
}

/** Resident set size of a process in MiB, from /proc. */
export function rssMiB(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Open-loop load at a fixed rate: requests are started on schedule whether or not earlier
 * ones have answered (as Envoy's traffic would), so a stall shows as latency and
 * outstanding calls rather than as a slower sender. `make(i)` builds request i;
 * `onResult(i, result, request)` sees every answer.
 */
export function startLoad({ client, rate, make, onResult, tickMs = 10 }) {
  let sent = 0;
  let done = 0;
  let stopped = false;
  const t0 = Date.now();
  const pending = new Set();
  const timer = setInterval(() => {
    if (stopped) return;
    const due = Math.floor(((Date.now() - t0) * rate) / 1000);
    // Never burst more than one second's worth after a stall of the generator itself.
    const n = Math.min(due - sent, rate);
    for (let k = 0; k < n; k++) {
      const i = sent++;
      const req = make(i);
      const p = client.check(req).then((res) => {
        done++;
        pending.delete(p);
        onResult?.(i, res, req);
      });
      pending.add(p);
    }
    if (due - sent > rate) sent = due; // skipped, counted as not sent
  }, tickMs);
  return {
    get sent() {
      return sent;
    },
    get done() {
      return done;
    },
    get outstanding() {
      return pending.size;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...pending]);
      return { sent, done };
    },
  };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Latency summary (ms) of a list of latencies. */
export function latencySummary(latencies) {
  const s = Float64Array.from(latencies).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN };
}

export function fmt(n, digits = 2) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** Prints rows of objects as an aligned text table. */
export function table(rows) {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]);
  const cells = [cols, ...rows.map((r) => cols.map((c) => String(r[c])))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
}

/** `--name value` pairs from argv into an object of numbers/strings. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const v = argv[i + 1];
    out[key] = typeof defaults[key] === 'number' ? Number(v) : v;
    i++;
  }
  return out;
}

/** True when the module at `url` is the script node was asked to run. */
export function isMain(url) {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(url);
}

/** The estate the scenarios use (same as the hostile suite's). */
export const POLICIES = path.join(ROOT, 'test', 'hostile', 'fixtures', 'policies');

/**
 * Closed-loop load: `total` requests with at most `concurrency` in flight, as fast as the
 * server answers. For scenarios that need a number of decisions rather than a rate.
 */
export async function runConcurrent({ client, total, concurrency, make, onResult }) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const req = make(i);
      const res = await client.check(req);
      onResult?.(i, res, req);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { sent: total };
}
