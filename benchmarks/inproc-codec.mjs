/**
 * What grpc-js spends on the message codec per Check, in process, for comparison with the
 * decision itself. Four steps, each in its own process when run through the runner:
 *
 *   --what decode        proto-loader's deserialize of the CheckRequest (full decode, as the
 *                        server did before issue 9)
 *   --what decode-fast   the server's decoder (only the fields and headers facts.ts reads; dist/)
 *   --what encode        toCheckResponse + proto-loader's serialize
 *   --what encode-fast   encodeCheckResponse (pre-encoded pieces; dist/)
 *   --what all           runs the four in fresh processes and prints them with ratios
 *
 * Correctness: before timing, the fast decoder must give proto-loader's object restricted to
 * its fields for every request (and never fall back), and the fast encoder proto-loader's
 * bytes; inside the loop every decode must carry the principal and path that were encoded,
 * and every response must have the reference length and status.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { checkMethodDefinition } from '../dist/envoy/protos.js';
import { createCheckRequestDecoder, decodeCheckRequest, decodesWithoutFallback } from '../dist/envoy/check-request-codec.js';
import { extractFacts, factsHeaderNames } from '../dist/envoy/facts.js';
import { encodeCheckResponse, encodesFromPieces, referenceEncodeCheckResponse } from '../dist/envoy/check-response-codec.js';
import { buildModel, buildRequests } from './generate.mjs';
import { args } from './lib/args.mjs';
import { fail, measure, report } from './lib/measure.mjs';

const opt = args({ what: 'decode', maxMs: 3000 });
// The definition mandate's server loads (same protos, same loader options).
const check = checkMethodDefinition();
const reqs = buildRequests(buildModel(1000), 1000);

const pick = (o, keys) => Object.fromEntries(keys.filter((k) => Object.hasOwn(o, k)).map((k) => [k, o[k]]));
/** proto-loader's object restricted to what decodeCheckRequest emits. */
function project(full) {
  const a = full.attributes;
  if (a === undefined) return {};
  const o = {};
  if (a.source) o.source = pick(a.source, ['principal', 'certificate']);
  if (a.destination) o.destination = pick(a.destination, ['principal']);
  if (a.request) {
    o.request = {};
    const h = a.request.http;
    if (h) {
      o.request.http = pick(h, ['method', 'path', 'host', 'headers']);
      if (h.header_map) o.request.http.header_map = h.header_map.headers ? { headers: h.header_map.headers.map((v) => pick(v, ['key', 'value', 'raw_value'])) } : {};
    }
  }
  if (a.context_extensions) o.context_extensions = a.context_extensions;
  return { attributes: o };
}

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

const LABELS = {
  decode: 'proto-loader decode CheckRequest',
  'decode-fast': 'mandate decoder (needed fields, headers)',
  encode: 'toCheckResponse + proto-loader encode',
  'encode-fast': 'encodeCheckResponse (pre-encoded)',
};

const NAMES = { functionHeader: 'x-business-function', tokenHeader: 'txn-token' };
const serverDecode = createCheckRequestDecoder(factsHeaderNames(NAMES));

function runDecode(fast) {
  const frames = reqs.map((r) => check.requestSerialize(r.request));
  const principals = reqs.map((r) => r.request.attributes.source.principal);
  const paths = reqs.map((r) => r.request.attributes.request.http.path);
  const bytes = frames.reduce((s, b) => s + b.length, 0) / frames.length;
  if (fast) {
    for (const [k, f] of frames.entries()) {
      if (!decodesWithoutFallback(f)) return fail(`codec: request ${k} fell back to proto-loader`);
      if (!isDeepStrictEqual(decodeCheckRequest(f), project(check.requestDeserialize(f)))) return fail(`codec: request ${k} decoded differently from proto-loader`);
      if (!isDeepStrictEqual(extractFacts(serverDecode(f), NAMES), extractFacts(check.requestDeserialize(f), NAMES))) return fail(`codec: request ${k} gives other facts with headers filtered`);
    }
  }
  // The server's decoder: only the fields and headers the decision reads.
  const decode = fast ? serverDecode : check.requestDeserialize;
  const r = measure((i) => {
    const k = i % frames.length;
    const a = decode(frames[k]).attributes;
    return a.source.principal === principals[k] && a.request.http.path === paths[k];
  }, { maxMs: opt.maxMs });
  if (r.wrong > 0) return fail(`codec: ${r.wrong} requests decoded wrong`);
  return report({ engine: LABELS[fast ? 'decode-fast' : 'decode'], meanBytes: bytes, ...r });
}

function runEncode(fast) {
  const reference = decisions.map(referenceEncodeCheckResponse);
  const codes = reference.map((b) => check.responseDeserialize(b).status?.code ?? 0);
  if (codes[0] !== 0 || codes[1] !== 7) return fail(`codec: responses re-decode to status codes ${codes}`);
  if (fast) {
    for (const [k, d] of decisions.entries()) {
      if (!encodesFromPieces(d) || !encodeCheckResponse(d).equals(reference[k])) return fail(`codec: decision ${k} encoded differently from proto-loader`);
    }
  }
  const lengths = reference.map((b) => b.length);
  const statusByte = reference.map((b) => b[3]); // status {code: N}: 0a 02 08 N
  const encode = fast ? encodeCheckResponse : referenceEncodeCheckResponse;
  const r = measure((i) => {
    const b = encode(decisions[i & 1]);
    return b.length === lengths[i & 1] && b[3] === statusByte[i & 1];
  }, { maxMs: opt.maxMs });
  if (r.wrong > 0) return fail(`codec: ${r.wrong} responses encoded wrong`);
  return report({ engine: LABELS[fast ? 'encode-fast' : 'encode'], ...r });
}

function runAll() {
  const self = fileURLToPath(import.meta.url);
  const rows = {};
  for (const what of Object.keys(LABELS)) {
    const out = execFileSync(process.execPath, [self, '--what', what, '--maxMs', String(opt.maxMs)], { encoding: 'utf8' });
    rows[what] = JSON.parse(out);
  }
  const line = (cols) => cols.map((c, i) => (i === 0 ? String(c).padEnd(40) : String(c).padStart(11))).join('  ');
  process.stdout.write(`node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(line(['step', 'median µs', 'p99 µs', 'ops/s', 'cpu µs', 'vs proto']) + '\n');
  for (const [what, r] of Object.entries(rows)) {
    const baseline = rows[what.replace('-fast', '')];
    const ratio = what.endsWith('-fast') ? `${(baseline.medianUs / r.medianUs).toFixed(1)}× faster` : '1×';
    process.stdout.write(line([r.engine, r.medianUs.toFixed(3), r.p99Us.toFixed(3), `${(r.opsPerSec / 1000).toFixed(1)}k`, r.cpuMeanUs.toFixed(3), ratio]) + '\n');
  }
}

if (opt.what === 'all') runAll();
else if (opt.what === 'decode' || opt.what === 'decode-fast') runDecode(opt.what === 'decode-fast');
else if (opt.what === 'encode' || opt.what === 'encode-fast') runEncode(opt.what === 'encode-fast');
else fail(`codec: unknown --what ${opt.what}`);
