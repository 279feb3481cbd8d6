/**
 * Peer: Casbin (node-casbin) in process with an ABAC model and keyMatch2 path templates
 * (peers/translate.mjs), on the same requests. Decisions use enforceSync, Casbin's
 * synchronous path. Correctness: each answer must equal mandate's expected allow/deny.
 */
import { newEnforcer, newModelFromString } from 'casbin';
import { buildModel, buildRequests, mixes } from './generate.mjs';
import { CASBIN_MODEL, peerFacts, toCasbin } from './peers/translate.mjs';
import { args } from './lib/args.mjs';
import { fail, measure, memory, report } from './lib/measure.mjs';

const opt = args({ mandates: 10, mix: 'peer', maxMs: 4000 });
const model = buildModel(opt.mandates);
const reqs = mixes(buildRequests(model, 1000))[opt.mix];

const t0 = process.hrtime.bigint();
const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL));
const policyRows = toCasbin(model);
await enforcer.addPolicies(policyRows);
const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
const calls = reqs.map((r) => {
  const f = peerFacts(r.peer);
  return { want: r.expect.decision === 'allow', rvals: [f.principal, f.fn, f.destination, f.hostName, f.hostPort, f.method, f.path] };
});
const mem = memory();
const r = measure((i) => {
  const c = calls[i % calls.length];
  return enforcer.enforceSync(...c.rvals) === c.want;
}, { maxMs: opt.maxMs, warmupMs: 200, minSamples: 20 });
if (r.wrong > 0) fail(`casbin: ${r.wrong} wrong decisions (first: ${JSON.stringify(calls[r.firstWrong % calls.length])})`);
else report({ engine: 'casbin', version: '5.51.1', mandates: opt.mandates, mix: opt.mix, requests: calls.length, rows: policyRows.length, compileMs, ...mem, ...r });
