/**
 * mandate in process: the whole per-request decision path, facts → identity → evaluate
 * (extractFacts, resolveIdentity, evaluate from dist/), on decoded CheckRequests as
 * grpc-js hands them to the handler. Also measures loading (YAML parse + validation),
 * compiling, and the heap and resident set with the policy loaded (after a full GC, once the
 * resident set has settled: see settledMemory).
 * With --response 1 the response message build (toCheckResponse) is included too.
 *
 * Every decision is compared with the generator's expected decision and reason; one
 * wrong answer fails the benchmark.
 */
import { toCheckResponse } from '../dist/envoy/response.js';
import { loadPolicySet } from '../dist/policy/load.js';
import { compilePolicy } from '../dist/policy/compile.js';
import { buildModel, buildRequests, mixes, policyDir, writePolicySet } from './generate.mjs';
import { args } from './lib/args.mjs';
import { benchEnv, decide } from './lib/decide.mjs';
import { fail, measure, memory, report, settledMemory } from './lib/measure.mjs';

const opt = args({ mandates: 10, mix: 'mixed', maxMs: 4000, response: 0 });
const model = buildModel(opt.mandates);
const dir = writePolicySet(model, policyDir(opt.mandates));
const reqs = mixes(buildRequests(model, 1000))[opt.mix];
const memBefore = memory();

const t0 = process.hrtime.bigint();
let loaded = await loadPolicySet([dir]);
const t1 = process.hrtime.bigint();
if (!loaded.ok) {
  fail(`mandate: generated policy set has errors: ${JSON.stringify(loaded.diagnostics.slice(0, 3))}`);
} else {
  const policy = compilePolicy(loaded.set);
  const t2 = process.hrtime.bigint();
  const loadMs = Number(t1 - t0) / 1e6;
  const compileMs = Number(t2 - t1) / 1e6;
  if (policy.mandateCount !== opt.mandates) fail(`mandate: compiled ${policy.mandateCount} mandates, expected ${opt.mandates}`);
  const env = benchEnv(policy);
  // The set loaded and compiled; drop the documents (the server keeps only the compiled
  // index, as here) and our own generator model, so the heap figure is what a server holds.
  loaded = null;
  model.mandates.length = 0;
  const memLoaded = await settledMemory();

  const requests = reqs.map((r) => r.request);
  const want = reqs.map((r) => r.expect);
  const withResponse = opt.response === 1;
  const r = measure((i) => {
    const k = i % requests.length;
    const d = decide(env, requests[k], Date.now());
    if (withResponse) toCheckResponse(d);
    const w = want[k];
    return d.decision === w.decision && d.reason === w.reason;
  }, { maxMs: opt.maxMs });
  if (r.wrong > 0) {
    const k = r.firstWrong % requests.length;
    const d = decide(env, requests[k], Date.now());
    fail(`mandate: ${r.wrong} wrong decisions; first: request ${k} (${reqs[k].kind}) expected ${JSON.stringify(want[k])}, got ${d.decision} ${d.reason} (${d.detail})`);
  } else {
    report({
      engine: 'mandate', mandates: opt.mandates, mix: opt.mix, response: withResponse, requests: requests.length,
      loadMs, compileMs,
      heapUsedMB: memLoaded.heapUsedMB, rssMB: memLoaded.rssMB, policyHeapMB: memLoaded.heapUsedMB - memBefore.heapUsedMB,
      ...r,
    });
  }
}
