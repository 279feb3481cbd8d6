#!/usr/bin/env node
/**
 * Decision-log sink blocked: `--log-file` is a FIFO nobody reads, so the sink cannot even
 * open. Decisions must go on at full speed with unchanged answers; the log buffers up to
 * its bound and counts every entry beyond it in mandate_audit_dropped_total. Then a reader
 * attaches and everything buffered must arrive: lines received + dropped = decisions made,
 * exactly. Two phases: first fewer decisions than the buffer holds (nothing may be dropped),
 * then far more (drops counted, none silently lost).
 *
 *   node scripts/reliability/audit-blocked.mjs --within 5000 --beyond 40000 --concurrency 100
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { POLICIES, checkRequest, envoyClient, isMain, latencySummary, metric, parseArgs, reasonOf, runConcurrent, scrape, sleep, startMandate, waitFor } from './lib.mjs';

async function phase({ decisions, concurrency, deadlineMs, log }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-fifo-'));
  const fifo = path.join(dir, 'decisions.fifo');
  execFileSync('mkfifo', [fifo]);
  const server = await startMandate({ policies: POLICIES, args: ['--log-file', fifo, '--log-level', 'info'] });
  const client = envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs });
  let wrong = 0;
  let rpcErrors = 0;
  const latencies = [];
  let done = 0;
  const { sent } = await runConcurrent({
    client,
    total: decisions,
    concurrency,
    make: (i) => checkRequest({ path: `/v1/payments/${i}/refund`, requestId: `r-${i}` }),
    onResult: (_i, res) => {
      if (!res.ok) rpcErrors++;
      else {
        done++;
        latencies.push(res.latencyMs);
        if (reasonOf(res.response) !== 'ALLOWED') wrong++;
      }
    },
  });
  // Let the drain run into the blocked sink, then read the drop counter before unblocking.
  await sleep(500);
  const blockedText = await scrape(server.httpBase);
  const droppedWhileBlocked = metric(blockedText, 'mandate_audit_dropped_total') ?? 0;

  // Unblock: a reader attaches and counts lines until the server has drained and closed.
  let lines = 0;
  let rest = '';
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  reader.stdout.on('data', (chunk) => {
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop();
    lines += parts.length;
  });
  const readerDone = new Promise((resolve) => reader.once('exit', resolve));
  // Everything buffered arrives: wait until the count stops changing, then drain the server.
  let last = -1;
  await waitFor(async () => {
    const stable = lines === last;
    last = lines;
    return stable && lines > 0;
  }, { timeoutMs: 30_000, everyMs: 300 });
  const finalText = await scrape(server.httpBase);
  const dropped = metric(finalText, 'mandate_audit_dropped_total') ?? 0;
  client.close();
  const exit = await server.stop('SIGTERM');
  await readerDone;
  rmSync(dir, { recursive: true, force: true });
  const lat = latencySummary(latencies);
  const f = {
    decisions: done,
    sent,
    rpcErrors,
    wrongAnswers: wrong,
    droppedWhileBlocked,
    dropped,
    linesReceived: lines,
    accountedFor: lines + dropped,
    p50Ms: Number(lat.p50.toFixed(2)),
    p99Ms: Number(lat.p99.toFixed(2)),
    maxMs: Number(lat.max.toFixed(2)),
    exit,
  };
  log(JSON.stringify(f));
  return f;
}

export async function run({ within = 5000, beyond = 40000, concurrency = 100, deadlineMs = 5000, log = console.log } = {}) {
  const small = await phase({ decisions: within, concurrency, deadlineMs, log });
  const large = await phase({ decisions: beyond, concurrency, deadlineMs, log });
  const ok = (p) => p.rpcErrors === 0 && p.wrongAnswers === 0 && p.decisions === p.sent && p.accountedFor === p.decisions && p.exit.code === 0;
  const figures = { within: small, beyond: large };
  figures.pass = ok(small) && small.dropped === 0 && ok(large) && large.dropped > 0;
  return figures;
}

if (isMain(import.meta.url)) {
  const f = await run(parseArgs(process.argv.slice(2), { within: 5000, beyond: 40000, concurrency: 100, deadlineMs: 5000 }));
  console.log(JSON.stringify(f, null, 2));
  process.exit(f.pass ? 0 : 1);
}
