#!/usr/bin/env node
/**
 * Soak: a fixed request rate for a fixed time against a mandate child process, with its
 * memory sampled. The mix touches every bounded cache with ever-new keys (unique paths,
 * request ids, certificates and tokens that fail) so a leak in any of them shows as growth.
 * Every answer is checked against its expected reason.
 *
 *   node scripts/reliability/soak.mjs --duration-s 600 --rate 500 --sample-s 10 --warmup-s 60
 *
 * Prints one row per sample and a summary; exits 1 when an answer was wrong, an RPC failed,
 * or memory grew after warm-up by more than --max-growth-mib.
 */
import { loadavg } from 'node:os';
import {
  POLICIES, WORKER, checkRequest, envoyClient, fmt, isMain, latencySummary, metric, parseArgs, reasonOf, rssMiB, scrape, sleep, startLoad, startMandate, table,
} from './lib.mjs';

/** Request shapes and the reason each must get; `i` makes the varying parts unique. */
const SHAPES = [
  [(i) => checkRequest({ path: `/v1/payments/${i}/refund`, requestId: `r-${i}` }), 'ALLOWED'],
  [(i) => checkRequest({ host: 'ledger.internal:8443', destination: '', method: 'GET', path: `/v1/entries/${i}/x?page=${i}` }), 'ALLOWED'],
  [(i) => checkRequest({ path: `/v1/payments/${i}/refund`, method: 'GET' }), 'ACTION_NOT_PERMITTED'],
  [(i) => checkRequest({ path: `/v1/payments/${i}/%2e%2e/refund` }), 'INVALID_PATH'],
  [(i) => checkRequest({ principal: `spiffe://prod.example.org/ns/x/sa/w${i}` }), 'NO_MANDATE'],
  [(i) => checkRequest({ principal: `spiffe://evil${i % 1000}.example.org/ns/x/sa/w` }), 'UNTRUSTED_DOMAIN'],
  [(i) => checkRequest({ headers: { 'txn-token': `garbage.${i}.token` } }), 'TOKEN_INVALID'],
  [(i) => ({ attributes: { ...checkRequest().attributes, source: { principal: WORKER, certificate: `not-a-certificate-${i}` } } }), 'INVALID_IDENTITY'],
  [(i) => checkRequest({ fn: `fn-${i % 5000}` }), 'FUNCTION_NOT_DECLARED'],
  [() => checkRequest({ fn: 'refund-processing,refund-approval' }), 'FUNCTION_CONFLICT'],
];

export async function run({ durationS = 600, rate = 500, sampleS = 10, warmupS = 60, maxGrowthMib = 20, deadlineMs = 5000, log = console.log } = {}) {
  const server = await startMandate({ policies: POLICIES, args: ['--log-file', '/dev/null', '--log-level', 'info'] });
  const client = envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs });
  let wrong = 0;
  let rpcErrors = 0;
  let window = [];
  let windowErrors = 0;
  const firstWrong = [];
  const load = startLoad({
    client,
    rate,
    make: (i) => SHAPES[i % SHAPES.length][0](i),
    onResult: (i, res) => {
      if (!res.ok) {
        rpcErrors++;
        windowErrors++;
        return;
      }
      window.push(res.latencyMs);
      const want = SHAPES[i % SHAPES.length][1];
      const got = reasonOf(res.response);
      if (got !== want) {
        wrong++;
        if (firstWrong.length < 5) firstWrong.push({ i, want, got });
      }
    },
  });
  const samples = [];
  const t0 = Date.now();
  let lastDone = 0;
  while (Date.now() - t0 < durationS * 1000) {
    await sleep(Math.min(sampleS * 1000, durationS * 1000 - (Date.now() - t0)));
    const text = await scrape(server.httpBase).catch(() => '');
    const lat = latencySummary(window);
    window = [];
    const done = load.done;
    const row = {
      t_s: Math.round((Date.now() - t0) / 1000),
      rss_mib: fmt(rssMiB(server.pid), 1),
      heap_mib: fmt((metric(text, 'nodejs_heap_size_used_bytes') ?? NaN) / 1048576, 1),
      answered_per_s: fmt((done - lastDone) / sampleS, 0),
      p50_ms: fmt(lat.p50),
      p99_ms: fmt(lat.p99),
      max_ms: fmt(lat.max),
      outstanding: load.outstanding,
      rpc_errors: windowErrors,
      loop_lag_p99_ms: fmt((metric(text, 'nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000),
      host_load1: fmt(loadavg()[0], 1),
    };
    lastDone = done;
    windowErrors = 0;
    samples.push(row);
    log(samples.length === 1 ? table([row]) : table([row]).split('\n')[1]);
  }
  const { sent, done } = await load.stop();
  const text = await scrape(server.httpBase);
  client.close();
  const exit = await server.stop('SIGTERM');

  const after = samples.filter((s) => s.t_s > warmupS).map((s) => Number(s.rss_mib));
  const first = after.length > 0 ? after.slice(0, Math.max(1, Math.floor(after.length / 5))) : [];
  const last = after.length > 0 ? after.slice(-Math.max(1, Math.floor(after.length / 5))) : [];
  const mean = (a) => a.reduce((x, y) => x + y, 0) / (a.length || 1);
  const growth = mean(last) - mean(first);
  const figures = {
    durationS,
    rate,
    sent,
    answered: done,
    wrongAnswers: wrong,
    rpcErrors,
    firstWrong,
    decisionsCounted: metric(text, 'mandate_decisions_total'),
    internalErrors: metric(text, 'mandate_internal_errors_total') ?? 0,
    auditDropped: metric(text, 'mandate_audit_dropped_total') ?? 0,
    rssAfterWarmupMinMiB: after.length ? Math.min(...after) : null,
    rssAfterWarmupMaxMiB: after.length ? Math.max(...after) : null,
    rssGrowthAfterWarmupMiB: Number(growth.toFixed(1)),
    exit,
    samples,
  };
  figures.pass = wrong === 0 && rpcErrors === 0 && done === sent && figures.internalErrors === 0 && growth <= maxGrowthMib && exit.code === 0;
  return figures;
}

if (isMain(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2), { durationS: 600, rate: 500, sampleS: 10, warmupS: 60, maxGrowthMib: 20, deadlineMs: 5000 });
  const f = await run(opts);
  const { samples: _s, ...summary } = f;
  console.log(JSON.stringify(summary, null, 2));
  process.exit(f.pass ? 0 : 1);
}
