#!/usr/bin/env node
/**
 * Policy reloads under load: the policy file alternates every --every-ms between two
 * variants whose decisions differ for the same request (variant A allows it under mandate
 * "variant-a"; variant B denies it, ACTION_NOT_PERMITTED, under mandate "variant-b"), each
 * swap an atomic rename followed by SIGHUP, while requests flow at a fixed rate.
 *
 * Checked for every answer: the RPC succeeded; the answer is the one its own variant gives
 * (a→ALLOWED, b→ACTION_NOT_PERMITTED); and, through the decision log, the policy_revision
 * it reports belongs to that same variant (each revision maps to exactly one variant).
 *
 *   node scripts/reliability/reload.mjs --duration-s 60 --rate 500 --every-ms 100
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKER, checkRequest, envoyClient, headersOf, isMain, latencySummary, mandateOf, metric, parseArgs, reasonOf, scrape, sleep, startLoad, startMandate } from './lib.mjs';

function variant(name, method, version) {
  return `# ${version}
apiVersion: mandate/v1
kind: Mandate
metadata:
  name: variant-${name}
spec:
  subject: ${WORKER}
  owner: team-billing
  purpose: reload scenario variant ${name}
  functions:
    - name: refund-processing
      taskToken: optional
      actions:
        - target: spiffe://prod.example.org/ns/payments/sa/payments-api
          methods: [${method}]
          paths: ["/v1/payments/{id}/refund"]
`;
}
const EXPECT = { 'variant-a': 'ALLOWED', 'variant-b': 'ACTION_NOT_PERMITTED' };

export async function run({ durationS = 60, rate = 500, everyMs = 100, deadlineMs = 5000, log = console.log } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-reload-'));
  const policyDir = path.join(dir, 'policies');
  const logFile = path.join(dir, 'decisions.log');
  const file = path.join(policyDir, 'mandate.yaml');
  mkdirSync(policyDir);
  writeFileSync(file, variant('a', 'POST', 0));
  const server = await startMandate({ policies: policyDir, args: ['--log-file', logFile, '--log-level', 'info'] });
  const client = envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs });

  const answers = new Map(); // decision id -> {variant, reason}
  let rpcErrors = 0;
  let wrong = 0;
  const latencies = [];
  const firstWrong = [];
  const load = startLoad({
    client,
    rate,
    make: (i) => checkRequest({ path: `/v1/payments/${i}/refund`, requestId: `r-${i}` }),
    onResult: (_i, res) => {
      if (!res.ok) {
        rpcErrors++;
        return;
      }
      latencies.push(res.latencyMs);
      const v = mandateOf(res.response);
      const reason = reasonOf(res.response);
      answers.set(headersOf(res.response)['x-mandate-decision-id'], { variant: v, reason });
      if (EXPECT[v] !== reason) {
        wrong++;
        if (firstWrong.length < 5) firstWrong.push({ variant: v, reason });
      }
    },
  });

  // Alternate variants: write aside, rename over (atomic), SIGHUP. Each write is a new text
  // (the version comment) so every swap is a real change with its own revision.
  let swaps = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < durationS * 1000) {
    await sleep(everyMs);
    swaps++;
    const tmp = path.join(dir, `next-${swaps}.yaml`);
    writeFileSync(tmp, swaps % 2 === 1 ? variant('b', 'GET', swaps) : variant('a', 'POST', swaps));
    renameSync(tmp, file);
    server.proc.kill('SIGHUP');
  }
  const { sent, done } = await load.stop();
  const text = await scrape(server.httpBase);
  client.close();
  const exit = await server.stop('SIGTERM');

  // Decision log: decision id -> revision; every revision must map to one variant only.
  const revisionVariants = new Map();
  let logged = 0;
  let unmatched = 0;
  let inconsistent = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line);
    const a = answers.get(e.decision_id);
    if (a === undefined) {
      unmatched++;
      continue;
    }
    logged++;
    if (e.reason !== a.reason || e.mandate !== a.variant) inconsistent++;
    const set = revisionVariants.get(e.policy_revision) ?? new Set();
    set.add(a.variant);
    revisionVariants.set(e.policy_revision, set);
  }
  const mixedRevisions = [...revisionVariants.values()].filter((s) => s.size > 1).length;
  const byVariant = { 'variant-a': 0, 'variant-b': 0 };
  for (const a of answers.values()) byVariant[a.variant] = (byVariant[a.variant] ?? 0) + 1;
  rmSync(dir, { recursive: true, force: true });
  const lat = latencySummary(latencies);
  const figures = {
    durationS,
    rate,
    everyMs,
    swaps,
    reloadsOk: metric(text, 'mandate_policy_reloads_total', { result: 'ok' }),
    reloadsError: metric(text, 'mandate_policy_reloads_total', { result: 'error' }) ?? 0,
    sent,
    answered: done,
    rpcErrors,
    wrongAnswers: wrong,
    firstWrong,
    answersByVariant: byVariant,
    revisionsSeen: revisionVariants.size,
    revisionsWithMixedVariants: mixedRevisions,
    logLinesMatched: logged,
    logLinesUnmatched: unmatched,
    logInconsistentWithAnswer: inconsistent,
    p50Ms: Number(lat.p50.toFixed(2)),
    p99Ms: Number(lat.p99.toFixed(2)),
    maxMs: Number(lat.max.toFixed(2)),
    exit,
  };
  figures.pass =
    rpcErrors === 0 && wrong === 0 && done === sent && mixedRevisions === 0 && inconsistent === 0 && logged === done && unmatched === 0 &&
    byVariant['variant-a'] > 0 && byVariant['variant-b'] > 0 && exit.code === 0;
  log(JSON.stringify(figures, null, 2));
  return figures;
}

if (isMain(import.meta.url)) {
  const f = await run(parseArgs(process.argv.slice(2), { durationS: 60, rate: 500, everyMs: 100, deadlineMs: 5000 }));
  process.exit(f.pass ? 0 : 1);
}
