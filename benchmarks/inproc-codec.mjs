/**
 * What grpc-js spends on the message codec per Check, in process, for comparison with the
 * decision itself: proto-loader's deserialize of the CheckRequest bytes (full decode, as the
 * server does today) and serialize of the response mandate builds (toCheckResponse from
 * dist/). Correctness: the decoded request must carry the principal that was encoded, and
 * the response must re-decode to the same status code.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { toCheckResponse } from '../dist/envoy/response.js';
import { buildModel, buildRequests } from './generate.mjs';
import { args } from './lib/args.mjs';
import { fail, measure, report } from './lib/measure.mjs';

const opt = args({ what: 'decode', maxMs: 3000 });
const require = createRequire(import.meta.url);
const xds = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
  keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
  includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xds, d)),
});
const check = def['envoy.service.auth.v3.Authorization'].Check;
const reqs = buildRequests(buildModel(1000), 1000);

if (opt.what === 'decode') {
  const frames = reqs.map((r) => check.requestSerialize(r.request));
  const principals = reqs.map((r) => r.request.attributes.source.principal);
  const bytes = frames.reduce((s, b) => s + b.length, 0) / frames.length;
  const r = measure((i) => {
    const k = i % frames.length;
    return check.requestDeserialize(frames[k]).attributes.source.principal === principals[k];
  }, { maxMs: opt.maxMs });
  if (r.wrong > 0) fail(`codec: ${r.wrong} requests decoded wrong`);
  else report({ engine: 'proto-loader decode CheckRequest', meanBytes: bytes, ...r });
} else {
  // A realistic allow and a deny decision, as evaluate() returns them.
  const base = {
    decisionId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', dryRun: false, wouldDeny: null, source: 'spiffe://prod.example.org/ns/team-1/sa/svc-1',
    identityVia: 'principal', issuer: null, target: 'api-23.internal:8443', method: 'POST', path: '/v1/payments/89582/refund',
    function: 'payout-schedule', functionVia: 'header', mandate: 'svc-1', owner: 'team-1', purpose: 'Generated', risk: 'medium',
    actionIndex: 0, txn: null, tokenSha256: null, policyRevision: 'r1', detail: null,
  };
  const decisions = [
    { ...base, decision: 'allow', reason: 'ALLOWED' },
    { ...base, decision: 'deny', reason: 'ACTION_NOT_PERMITTED', actionIndex: -1 },
  ];
  const codes = [];
  for (const d of decisions) codes.push(check.responseDeserialize(check.responseSerialize(toCheckResponse(d))).status?.code ?? 0);
  if (codes[0] !== 0 || codes[1] !== 7) fail(`codec: responses re-decode to status codes ${codes}`);
  else {
    const r = measure((i) => check.responseSerialize(toCheckResponse(decisions[i & 1])).length > 0, { maxMs: opt.maxMs });
    report({ engine: 'toCheckResponse + proto-loader encode', ...r });
  }
}
