#!/usr/bin/env node
/**
 * Per-request work bound: what the most expensive requests under the message-size limit
 * cost, next to an ordinary one. For each kind, N sequential Checks against a mandate child
 * process; prints the client-observed median and p99 and mandate's own mean decision time
 * (from the mandate_check_duration_seconds histogram: sum and count before and after), and
 * checks each answer's reason.
 *
 *   node scripts/reliability/limits.mjs --n 200
 */
import { POLICIES, WORKER, checkRequest, envoyClient, fmt, isMain, latencySummary, metric, parseArgs, reasonOf, scrape, startMandate, table } from './lib.mjs';

const NEAR_LIMIT = 1024 * 1024 - 4096; // under the default 1 MiB message limit, room for the rest
// The path and host travel twice (request.http.path and the :path header; host and :authority).
const HALF = NEAR_LIMIT / 2;

function headers(n, len) {
  const h = {};
  for (let i = 0; i < n; i++) h[`x-h-${i}`] = 'v'.repeat(len);
  return h;
}

const KINDS = [
  ['ordinary allow', () => checkRequest(), 'ALLOWED'],
  ['ordinary deny (INVALID_PATH)', () => checkRequest({ path: '/v1/%2e%2e/x' }), 'INVALID_PATH'],
  ['path of ~260k segments (512 KiB, twice) under /v1/entries/**', () => checkRequest({ destination: '', host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries' + '/a'.repeat((HALF - 64) / 2) }), 'ALLOWED'],
  ['path of ~260k segments against a fixed template', () => checkRequest({ path: '/v1' + '/a'.repeat((HALF - 64) / 2) }), 'ACTION_NOT_PERMITTED'],
  ['512 KiB path with a trick at the very end', () => checkRequest({ path: '/v1' + '/a'.repeat((HALF - 64) / 2) + '/%2e' }), 'INVALID_PATH'],
  ['20,000 headers (1 MiB)', () => checkRequest({ headers: headers(20_000, 30) }), 'ALLOWED'],
  ['1 MiB function header', () => checkRequest({ fn: 'f'.repeat(NEAR_LIMIT) }), 'FUNCTION_NOT_DECLARED'],
  ['1 MiB of commas as function header', () => checkRequest({ fn: ','.repeat(NEAR_LIMIT) }), 'FUNCTION_CONFLICT'],
  ['512 KiB host (twice)', () => checkRequest({ destination: '', host: 'a'.repeat(HALF) }), 'ACTION_NOT_PERMITTED'],
  ['1 MiB principal', () => checkRequest({ principal: WORKER + 'a'.repeat(NEAR_LIMIT) }), 'INVALID_IDENTITY'],
  ['1 MiB certificate field', () => ({ attributes: { ...checkRequest().attributes, source: { principal: WORKER, certificate: 'A'.repeat(NEAR_LIMIT) } } }), 'INVALID_IDENTITY'],
  ['1 MiB task token', () => checkRequest({ headers: { 'txn-token': 'A'.repeat(NEAR_LIMIT) } }), 'TOKEN_INVALID'],
];

export async function run({ n = 200, deadlineMs = 5000, log = console.log } = {}) {
  const server = await startMandate({ policies: POLICIES, args: ['--log-file', '/dev/null', '--log-level', 'info'] });
  const client = envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs });
  const rows = [];
  let wrong = 0;
  let errors = 0;
  for (const [name, make, want] of KINDS) {
    const req = make();
    // Warm-up: JIT, caches that any caller would also warm.
    for (let i = 0; i < 5; i++) await client.check(req);
    const before = await scrape(server.httpBase);
    const lat = [];
    for (let i = 0; i < n; i++) {
      const res = await client.check(req);
      if (!res.ok) {
        errors++;
        continue;
      }
      lat.push(res.latencyMs);
      if (reasonOf(res.response) !== want) wrong++;
    }
    const after = await scrape(server.httpBase);
    const dSum = metric(after, 'mandate_check_duration_seconds_sum') - metric(before, 'mandate_check_duration_seconds_sum');
    const dCount = metric(after, 'mandate_check_duration_seconds_count') - metric(before, 'mandate_check_duration_seconds_count');
    const s = latencySummary(lat);
    const row = { kind: name, reason: want, rpc_p50_ms: fmt(s.p50), rpc_p99_ms: fmt(s.p99), mandate_mean_us: fmt((dSum / dCount) * 1e6, 1) };
    rows.push(row);
  }
  client.close();
  const exit = await server.stop('SIGTERM');
  log(table(rows));
  return { n, rows, wrongAnswers: wrong, rpcErrors: errors, exit, pass: wrong === 0 && errors === 0 && exit.code === 0 };
}

if (isMain(import.meta.url)) {
  const f = await run(parseArgs(process.argv.slice(2), { n: 200, deadlineMs: 5000 }));
  console.log(JSON.stringify({ wrongAnswers: f.wrongAnswers, rpcErrors: f.rpcErrors, exit: f.exit, pass: f.pass }));
  process.exit(f.pass ? 0 : 1);
}
