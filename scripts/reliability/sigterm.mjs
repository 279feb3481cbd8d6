#!/usr/bin/env node
/**
 * SIGTERM under load: a mandate child process takes a fixed request rate plus a burst of
 * concurrent calls, then gets SIGTERM. No check that reached mandate may be lost: every
 * decision in the decision log (flushed on drain) must have been delivered to the client
 * as an RPC-OK answer, calls that fail may only fail as UNAVAILABLE (refused before they
 * reached mandate: GOAWAY or connection refused), and the process exits 0 within the
 * drain bound.
 *
 *   node scripts/reliability/sigterm.mjs --rate 1000 --before-ms 3000 --burst 300 --slow-calls 300 --slow-reader-ms 500 --rounds 3
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { POLICIES, checkRequest, envoyClient, headersOf, isMain, parseArgs, reasonOf, sleep, startLoad, startMandate } from './lib.mjs';

const HELPER = new URL('./sigterm-client.mjs', import.meta.url).pathname;

async function round({ rate, beforeMs, burst, burstLeadMs, slowCalls, slowReaderMs, drainTimeoutS, deadlineMs }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-sigterm-'));
  const logFile = path.join(dir, 'decisions.log');
  const server = await startMandate({ policies: POLICIES, args: ['--log-file', logFile, '--log-level', 'info', '--drain-timeout', `${drainTimeoutS}s`] });
  // Several channels, as several Envoy workers would hold.
  const clients = Array.from({ length: 4 }, () => envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs }));
  const delivered = new Set();
  const failures = {};
  let wrong = 0;
  const countFailure = (code) => {
    const name = grpc.status[code] ?? String(code);
    failures[name] = (failures[name] ?? 0) + 1;
  };
  const record = (res) => {
    if (res.ok) {
      delivered.add(headersOf(res.response)['x-mandate-decision-id']);
      if (reasonOf(res.response) !== 'ALLOWED') wrong++;
    } else {
      countFailure(res.error.code);
    }
  };
  const loads = clients.map((client, k) =>
    startLoad({ client, rate: Math.ceil(rate / clients.length), make: (i) => checkRequest({ path: `/v1/payments/${k}-${i}/refund` }), onResult: (_i, res) => record(res) }),
  );
  await sleep(beforeMs);
  // A burst in flight at the moment of the signal, all on one channel (one HTTP/2
  // connection, as one Envoy worker's), so its answers exceed one flow-control window.
  const burstCalls = [];
  for (let i = 0; i < burst; i++) burstCalls.push(clients[0].check(checkRequest({ path: `/v1/payments/burst-${i}/refund` })).then(record));
  // And a slow reader: another process whose answers pile up behind flow control because
  // it is stopped across the signal (SIGSTOP after its requests are out, SIGCONT later).
  let slow = null;
  if (slowReaderMs > 0) {
    const child = spawn(process.execPath, [HELPER, server.grpcAddress, String(slowCalls)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const sent = new Promise((resolve) => child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('sent\n')) resolve();
    }));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await sent;
    child.kill('SIGSTOP');
    slow = { child, exited, out: () => out };
  }
  await sleep(burstLeadMs);
  const tSignal = Date.now();
  server.proc.kill('SIGTERM');
  if (slow !== null) {
    await sleep(slowReaderMs);
    slow.child.kill('SIGCONT');
    await slow.exited;
  }
  const exit = await server.exit;
  const exitMs = Date.now() - tSignal;
  if (slow !== null) {
    for (const r of JSON.parse(slow.out().split('\n')[1])) {
      if (r.ok) delivered.add(r.decisionId);
      else countFailure(r.code);
    }
  }
  await Promise.all(loads.map((l) => l.stop()));
  await Promise.all(burstCalls);
  for (const c of clients) c.close();

  const logged = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).decision_id);
  const loggedSet = new Set(logged);
  const lost = logged.filter((id) => !delivered.has(id)).length; // decided, never delivered
  const unlogged = [...delivered].filter((id) => !loggedSet.has(id)).length; // delivered, not in the log
  rmSync(dir, { recursive: true, force: true });
  return {
    sent: loads.reduce((s, l) => s + l.sent, 0) + burst + (slowReaderMs > 0 ? slowCalls : 0),
    delivered: delivered.size,
    decisionsLogged: logged.length,
    lostInFlight: lost,
    deliveredButNotLogged: unlogged,
    failures,
    wrongAnswers: wrong,
    exit,
    exitMs,
  };
}

export async function run({ rate = 1000, beforeMs = 3000, burst = 300, burstLeadMs = 30, slowCalls = 300, slowReaderMs = 500, rounds = 3, drainTimeoutS = 10, deadlineMs = 5000, log = console.log } = {}) {
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const res = await round({ rate, beforeMs, burst, burstLeadMs, slowCalls, slowReaderMs, drainTimeoutS, deadlineMs });
    log(JSON.stringify(res));
    results.push(res);
  }
  const ok = (r) =>
    r.lostInFlight === 0 && r.deliveredButNotLogged === 0 && r.wrongAnswers === 0 && r.exit.code === 0 && r.exitMs < drainTimeoutS * 1000 &&
    Object.keys(r.failures).every((k) => k === 'UNAVAILABLE') && r.delivered > 0;
  return { rate, beforeMs, burst, rounds: results, pass: results.every(ok) };
}

if (isMain(import.meta.url)) {
  const f = await run(parseArgs(process.argv.slice(2), { rate: 1000, beforeMs: 3000, burst: 300, burstLeadMs: 30, slowCalls: 300, slowReaderMs: 500, rounds: 3, drainTimeoutS: 10, deadlineMs: 5000 }));
  console.log(JSON.stringify(f, null, 2));
  process.exit(f.pass ? 0 : 1);
}
