/**
 * Peer: AWS Cedar through @cedar-policy/cedar-wasm, in process, on the same requests and an
 * equivalent policy (peers/translate.mjs). The policy set is pre-parsed once
 * (preparsePolicySet) and each decision is a statefulIsAuthorized call, Cedar-wasm's
 * fastest path. Correctness: each answer must equal mandate's expected allow/deny.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { buildModel, buildRequests, mixes } from './generate.mjs';
import { peerFacts, toCedar } from './peers/translate.mjs';
import { args } from './lib/args.mjs';
import { fail, measure, memory, report } from './lib/measure.mjs';

const opt = args({ mandates: 10, mix: 'peer', maxMs: 4000 });
const model = buildModel(opt.mandates);
const reqs = mixes(buildRequests(model, 1000))[opt.mix];

const t0 = process.hrtime.bigint();
const parsed = cedar.preparsePolicySet('mandates', { staticPolicies: toCedar(model) });
const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
if (parsed.type !== 'success') {
  fail(`cedar: policy set did not parse: ${JSON.stringify(parsed.errors?.[0])}`);
} else {
  const calls = reqs.map((r) => {
    const f = peerFacts(r.peer);
    return {
      want: r.expect.decision,
      call: {
        principal: { type: 'Workload', id: f.principal },
        action: { type: 'Action', id: 'check' },
        resource: { type: 'Target', id: f.destination },
        context: { function: f.fn, method: f.method, path: f.path, destination: f.destination, host: f.hostName, port: f.port },
        preparsedPolicySetId: 'mandates',
        entities: [],
      },
    };
  });
  const mem = memory();
  const r = measure((i) => {
    const c = calls[i % calls.length];
    const ans = cedar.statefulIsAuthorized(c.call);
    return ans.type === 'success' && ans.response.decision === c.want;
  }, { maxMs: opt.maxMs, warmupMs: 200, minSamples: 20 });
  if (r.wrong > 0) fail(`cedar: ${r.wrong} wrong decisions (first at request ${r.firstWrong % calls.length}: ${JSON.stringify(calls[r.firstWrong % calls.length])})`);
  else report({ engine: 'cedar-wasm', version: cedar.getCedarVersion(), mandates: opt.mandates, mix: opt.mix, requests: calls.length, compileMs, ...mem, ...r });
}
