/**
 * Generated, realistic policy sets and a matching request mix for the benchmarks.
 *
 * A set of N mandates looks like a mesh of N workloads spread over 50 namespaces: each
 * mandate declares three business functions with one to three actions each, against
 * SPIFFE targets (other workloads) and host targets (with and without a port), using
 * `{id}` templates and `**` tails. One mandate in ten is high risk (its functions then
 * need a task token), one in 97 is past its review date.
 *
 * The request mix is built from the same model, so every request carries the decision
 * and reason mandate must give (SPEC section 5): benchmarks compare each answer with it
 * and fail the run on the first wrong one, so a fast wrong answer cannot win.
 *
 * Everything is deterministic for a (size, seed) pair: the same files, the same requests.
 * Usage as a program: `node benchmarks/generate.mjs N [DIR]` writes the YAML set and
 * prints where.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TRUST_DOMAIN = 'prod.example.org';
const NAMESPACES = 50;
const MANDATES_PER_FILE = 1000;

/** Small, fast, seedable PRNG (mulberry32): the generator must not depend on Math.random. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUNCTION_POOL = [
  'orders-read', 'orders-write', 'refund-processing', 'reporting', 'inventory-sync',
  'billing-export', 'ledger-reconcile', 'customer-lookup', 'shipment-tracking', 'catalog-publish',
  'fraud-scoring', 'audit-export', 'payout-schedule', 'search-index', 'notifications-send',
];

/** Path shapes an action may use; `{…}` and `**` as SPEC section 2 defines them. */
const PATH_POOL = [
  ['/v1/orders/{id}', '/v1/orders/{id}/items/**'],
  ['/v1/payments/{id}/refund'],
  ['/v2/accounts/{account}/entries/{entry}', '/v2/accounts/{account}/balance'],
  ['/reports/**'],
  ['/api/v3/customers/{id}', '/api/v3/customers/{id}/addresses/{addr}'],
  ['/v1/inventory/{sku}/stock', '/v1/inventory/batch/**'],
  ['/v1/shipments/{id}/events'],
  ['/internal/ledger/{book}/lines/**'],
];

const METHOD_POOL = [['GET'], ['POST'], ['GET', 'HEAD'], ['PUT', 'PATCH'], ['*'], ['POST', 'DELETE']];

export function subjectOf(i) {
  return `spiffe://${TRUST_DOMAIN}/ns/team-${i % NAMESPACES}/sa/svc-${i}`;
}

/**
 * The policy model as plain data: what the YAML says, in a form the peers' policy
 * translators (Cedar, Casbin, Rego) and the request builder read.
 */
export function buildModel(n, seed = 1) {
  const rnd = prng(seed * 7919 + n);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const mandates = new Array(n);
  for (let i = 0; i < n; i++) {
    const risk = i % 10 === 3 ? 'high' : i % 3 === 0 ? 'low' : 'medium';
    const expired = i % 97 === 5;
    const fnStart = Math.floor(rnd() * FUNCTION_POOL.length);
    const functions = [];
    for (let f = 0; f < 3; f++) {
      const name = FUNCTION_POOL[(fnStart + f * 4) % FUNCTION_POOL.length];
      const nActions = 1 + Math.floor(rnd() * 3);
      const actions = [];
      for (let a = 0; a < nActions; a++) {
        const kind = Math.floor(rnd() * 3);
        let target;
        if (kind === 0) target = subjectOf((i + 1 + Math.floor(rnd() * Math.max(1, n - 1))) % Math.max(n, 2));
        else if (kind === 1) target = `api-${Math.floor(rnd() * 200)}.internal:8443`;
        else target = `reports-${Math.floor(rnd() * 40)}.corp.example.com`;
        actions.push({ target, methods: pick(METHOD_POOL), paths: pick(PATH_POOL) });
      }
      functions.push({ name, actions });
    }
    mandates[i] = {
      name: `svc-${i}`,
      subject: subjectOf(i),
      owner: `team-${i % NAMESPACES}`,
      risk,
      reviewBy: expired ? '2020-01-01' : '2099-01-01',
      expired,
      tokenRequired: risk === 'high' || risk === 'critical',
      functions,
    };
  }
  return { n, seed, trustDomain: TRUST_DOMAIN, mandates };
}

function yamlList(items) {
  return '[' + items.map((s) => JSON.stringify(s)).join(', ') + ']';
}

export function mandateYaml(m) {
  const lines = [
    'apiVersion: mandate/v1',
    'kind: Mandate',
    'metadata:',
    `  name: ${m.name}`,
    `  labels: {team: ${m.owner}}`,
    'spec:',
    `  subject: ${m.subject}`,
    `  owner: ${m.owner}`,
    `  purpose: Generated workload ${m.name} for benchmarks`,
    `  risk: ${m.risk}`,
    `  reviewBy: "${m.reviewBy}"`,
    '  functions:',
  ];
  for (const f of m.functions) {
    lines.push(`    - name: ${f.name}`, '      actions:');
    for (const a of f.actions) {
      lines.push(`        - target: ${a.target}`, `          methods: ${yamlList(a.methods)}`, `          paths: ${yamlList(a.paths)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Writes the set as YAML files of 1,000 mandates each (like ConfigMaps); reuses a finished earlier write. */
export function writePolicySet(model, dir) {
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (let start = 0; start < model.n; start += MANDATES_PER_FILE) {
    const end = Math.min(model.n, start + MANDATES_PER_FILE);
    const parts = [];
    for (let i = start; i < end; i++) parts.push(mandateYaml(model.mandates[i]));
    fs.writeFileSync(path.join(dir, `mandates-${String(start / MANDATES_PER_FILE).padStart(4, '0')}.yaml`), parts.join('---\n'));
  }
  fs.writeFileSync(done, '');
  return dir;
}

export function policyDir(n, seed = 1) {
  return path.join(os.tmpdir(), `mandate-bench-policies-${n}-${seed}`);
}

/** A concrete request path matched by a template: `{x}` gets a value, `**` one or two segments. */
function concretePath(template, rnd) {
  return template
    .split('/')
    .map((seg) => {
      if (seg === '**') return rnd() < 0.5 ? 'page-1' : 'q/2026';
      if (seg.startsWith('{')) return String(1000 + Math.floor(rnd() * 90000));
      return seg;
    })
    .join('/');
}

/** The request host and destination principal that hit `target` (SPEC section 2, Targets). */
function destinationFor(target, rnd) {
  if (target.startsWith('spiffe://')) {
    const sa = target.slice(target.lastIndexOf('/') + 1);
    return { destination: target, host: `${sa}.svc.cluster.local:8080` };
  }
  // Envoy's own certificate for host traffic: an egress gateway identity that no action names.
  const gateway = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/egress-gateway`;
  if (target.includes(':')) return { destination: gateway, host: target };
  return { destination: gateway, host: `${target}:${rnd() < 0.5 ? 443 : 8443}` };
}

/**
 * A CheckRequest as grpc-js decodes it with proto-loader (keepCase, snake_case), about the
 * size Envoy sends for an in-mesh call (~700 bytes on the wire).
 */
export function checkRequest({ principal, destination, host, method, path: reqPath, fn, requestId }) {
  const headers = {
    ':authority': host,
    ':method': method,
    ':path': reqPath,
    ':scheme': 'http',
    'user-agent': 'Go-http-client/1.1',
    accept: 'application/json',
    'x-forwarded-proto': 'http',
    'x-request-id': requestId,
    'x-envoy-attempt-count': '1',
    'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
    'x-b3-spanid': 'e457b5a2e4d86bd1',
    'x-b3-sampled': '0',
  };
  if (fn !== null) headers['x-business-function'] = fn;
  return {
    attributes: {
      source: {
        address: { socket_address: { address: '10.12.4.21', port_value: 51234 } },
        principal,
      },
      destination: {
        address: { socket_address: { address: '10.12.7.9', port_value: 8080 } },
        principal: destination,
      },
      request: {
        time: { seconds: '1780000000', nanos: 0 },
        http: {
          id: '9418513357891302721',
          method,
          headers,
          path: reqPath,
          host,
          scheme: 'http',
          protocol: 'HTTP/1.1',
        },
      },
      context_extensions: {},
    },
  };
}

/**
 * The request mix. Each entry: { kind, request, expect: {decision, reason}, peer } where
 * `peer` (null when the case is beyond the peers' simple policies) holds the plain fields
 * the Cedar/Casbin/Rego translations decide on.
 *
 * kinds: allow | NO_MANDATE | UNTRUSTED_DOMAIN | MISSING_FUNCTION | FUNCTION_NOT_DECLARED |
 * ACTION_NOT_PERMITTED | INVALID_PATH | TOKEN_REQUIRED | MANDATE_EXPIRED
 */
export function buildRequests(model, count = 1000, seed = 2) {
  const rnd = prng(seed * 104729 + model.n);
  const ms = model.mandates;
  const usable = (m) => !m.expired && !m.tokenRequired;
  const randomMandate = (want) => {
    for (let tries = 0; tries < 10000; tries++) {
      const m = ms[Math.floor(rnd() * ms.length)];
      if (want(m)) return m;
    }
    for (const m of ms) if (want(m)) return m;
    return null;
  };
  const out = [];
  let seq = 0;
  const rid = () => `4b1f0c2e-7d7a-4b7e-9f0e-${String(seq++).padStart(12, '0')}`;
  const allowFrom = (m) => {
    const f = m.functions[Math.floor(rnd() * m.functions.length)];
    const a = f.actions[Math.floor(rnd() * f.actions.length)];
    const tpl = a.paths[Math.floor(rnd() * a.paths.length)];
    const method = a.methods[0] === '*' ? ['GET', 'POST', 'DELETE'][Math.floor(rnd() * 3)] : a.methods[Math.floor(rnd() * a.methods.length)];
    const { destination, host } = destinationFor(a.target, rnd);
    return { m, f, a, method, path: concretePath(tpl, rnd), destination, host };
  };
  const push = (kind, fields, decision, reason, peer) => {
    out.push({ kind, request: checkRequest({ ...fields, requestId: rid() }), expect: { decision, reason }, peer });
  };
  const peerOf = (principal, fn, f) => ({
    principal, fn, method: f.method, path: f.path, destination: f.destination, host: f.host,
  });

  // Weights per kind: allow-heavy like real mesh traffic; every deny reason present.
  const plan = [
    ['allow', 60], ['NO_MANDATE', 6], ['UNTRUSTED_DOMAIN', 4], ['MISSING_FUNCTION', 5],
    ['FUNCTION_NOT_DECLARED', 5], ['ACTION_NOT_PERMITTED', 10], ['INVALID_PATH', 4],
    ['TOKEN_REQUIRED', 3], ['MANDATE_EXPIRED', 3],
  ];
  const total = plan.reduce((s, [, w]) => s + w, 0);
  for (let k = 0; k < count; k++) {
    let r = rnd() * total;
    let kind = plan[0][0];
    for (const [name, w] of plan) {
      if (r < w) { kind = name; break; }
      r -= w;
    }
    if (kind === 'allow') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      push('allow', { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: g.f.name }, 'allow', 'ALLOWED', peerOf(m.subject, g.f.name, g));
    } else if (kind === 'NO_MANDATE') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      const ghost = `spiffe://${TRUST_DOMAIN}/ns/team-${seq % NAMESPACES}/sa/ghost-${seq}`;
      push(kind, { principal: ghost, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: g.f.name }, 'deny', kind, peerOf(ghost, g.f.name, g));
    } else if (kind === 'UNTRUSTED_DOMAIN') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      const foreign = m.subject.replace(TRUST_DOMAIN, 'partner.example.net');
      push(kind, { principal: foreign, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: g.f.name }, 'deny', kind, peerOf(foreign, g.f.name, g));
    } else if (kind === 'MISSING_FUNCTION') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: null }, 'deny', kind, peerOf(m.subject, '', g));
    } else if (kind === 'FUNCTION_NOT_DECLARED') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      const declared = new Set(m.functions.map((f) => f.name));
      const other = FUNCTION_POOL.find((name) => !declared.has(name));
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: other }, 'deny', kind, peerOf(m.subject, other, g));
    } else if (kind === 'ACTION_NOT_PERMITTED') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      // A path no template of the pool can match (every template starts with a known literal).
      const wrong = { ...g, path: `/admin/users/${1000 + (seq % 5000)}` };
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: wrong.path, fn: g.f.name }, 'deny', kind, peerOf(m.subject, g.f.name, wrong));
    } else if (kind === 'INVALID_PATH') {
      const m = randomMandate(usable);
      const g = allowFrom(m);
      const bad = g.path.replace(/^\/([^/]+)\//, '/$1/../');
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: bad, fn: g.f.name }, 'deny', kind, null);
    } else if (kind === 'TOKEN_REQUIRED') {
      const m = randomMandate((x) => x.tokenRequired && !x.expired);
      if (m === null) { k--; continue; }
      const g = allowFrom(m);
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: g.f.name }, 'deny', kind, null);
    } else {
      const m = randomMandate((x) => x.expired);
      if (m === null) { k--; continue; }
      const g = allowFrom(m);
      push(kind, { principal: m.subject, destination: g.destination, host: g.host, method: g.method, path: g.path, fn: g.f.name }, 'deny', kind, null);
    }
  }
  // Laid out as the server's requests are: each one's objects and strings fresh and side by
  // side, as decoding a message leaves them. Built above, a request's strings are the model's
  // own (its subject, its targets), scattered over a model of N mandates; at 100,000 that
  // alone made every decision miss the cache on its request's strings, and the small set,
  // whose few subjects every request shares, never did. structuredClone copies each entry
  // in turn, so nothing is shared with the model or with other requests.
  return structuredClone(out);
}

/**
 * The same CheckRequest in proto3 JSON (what ghz and `mandate check` read): well-known
 * types in their JSON forms, so the Timestamp becomes an RFC 3339 string.
 */
export function toProtoJson(request) {
  const t = request.attributes.request.time;
  const http = request.attributes.request.http;
  const time = new Date(Number(t.seconds) * 1000).toISOString();
  return { attributes: { ...request.attributes, request: { time, http } } };
}

/** Splits a mix into the named subsets the benchmarks run. */
export function mixes(requests) {
  return {
    allow: requests.filter((r) => r.expect.decision === 'allow'),
    deny: requests.filter((r) => r.expect.decision === 'deny'),
    mixed: requests,
    // What the peers can express: no token, review date or path-hygiene rules.
    peer: requests.filter((r) => r.peer !== null),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1000);
  const model = buildModel(n);
  const dir = writePolicySet(model, process.argv[3] ?? policyDir(n));
  const reqs = buildRequests(model, 20);
  process.stdout.write(`${n} mandates in ${dir}\n`);
  process.stdout.write(JSON.stringify(reqs.slice(0, 2), null, 1) + '\n');
}
