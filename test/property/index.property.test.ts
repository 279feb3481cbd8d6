/**
 * The compiled index agrees with a linear scan: random policy sets go through the real
 * text → validate → compile path, random requests through the real identity stage and
 * evaluate(); the reference walks the generated mandates in declaration order following
 * SPEC sections 2, 4, 5 and 6 sentence by sentence. Reason, decision, dry run, mandate and
 * the index of the first matching action must all agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile.js';
import { parsePolicyTexts } from '../../src/policy/load.js';
import { evaluate } from '../../src/decision/evaluate.js';
import { resolveIdentity } from '../../src/identity/resolve.js';
import type { IdentityResult } from '../../src/identity/types.js';
import type { RequestFacts } from '../../src/decision/types.js';
import { referenceAcceptable, referenceHost, referenceMatch, referenceTrustDomain } from './reference.js';

const NOW = Date.UTC(2026, 11, 4, 12);

const SUBJECTS = [
  'spiffe://prod.example.org/ns/a/sa/w1',
  'spiffe://prod.example.org/ns/a/sa/w2',
  'spiffe://prod.example.org/ns/b/sa/w3',
  'spiffe://dev.example.org/ns/a/sa/w1',
];
const SPIFFE_TARGETS = ['spiffe://prod.example.org/ns/p/sa/api', 'spiffe://prod.example.org/ns/p/sa/db'];
const HOST_TARGETS = ['ledger.internal', 'ledger.internal:8443', 'api.internal', 'Api.Internal.', 'api.internal:80'];
const METHOD_SETS = [['GET'], ['POST'], ['GET', 'POST'], ['*'], ['DELETE', 'PUT']];
const TEMPLATES = ['/v1/{id}', '/v1/**', '/', '/a/', '/a', '/v1/x/{id}/y', '/**', '/v1/x', '/a/**'];
const FUNCTIONS = ['f1', 'f2', 'f3'];
const RISKS = ['low', 'medium', 'high', 'critical'] as const;

interface GenAction { target: string; methods: string[]; paths: string[] }
interface GenFunction { name: string; taskToken: 'required' | 'optional' | undefined; actions: GenAction[] }
interface GenMandate {
  name: string;
  subject: string;
  risk: (typeof RISKS)[number];
  mode: 'enforce' | 'dry-run';
  reviewBy: string | undefined;
  functions: GenFunction[];
}

const action: fc.Arbitrary<GenAction> = fc.record({
  target: fc.constantFrom(...SPIFFE_TARGETS, ...HOST_TARGETS),
  methods: fc.constantFrom(...METHOD_SETS),
  paths: fc.uniqueArray(fc.constantFrom(...TEMPLATES), { minLength: 1, maxLength: 3 }),
});
const fn = (name: string): fc.Arbitrary<GenFunction> =>
  fc.record({
    name: fc.constant(name),
    taskToken: fc.constantFrom<'required' | 'optional' | undefined>(undefined, undefined, 'required', 'optional'),
    actions: fc.array(action, { minLength: 1, maxLength: 4 }),
  });
const mandate = (subject: string, i: number): fc.Arbitrary<GenMandate> =>
  fc
    .tuple(
      fc.constantFrom(...RISKS),
      fc.constantFrom<'enforce' | 'dry-run'>('enforce', 'enforce', 'dry-run'),
      fc.constantFrom(undefined, undefined, '2020-01-01', '2099-01-01'),
      fc.uniqueArray(fc.constantFrom(...FUNCTIONS), { minLength: 1, maxLength: 3 }).chain((names) => fc.tuple(...names.map(fn))),
    )
    .map(([risk, mode, reviewBy, functions]) => ({ name: `m${i}`, subject, risk, mode, reviewBy, functions }));
const policy: fc.Arbitrary<GenMandate[]> = fc
  .uniqueArray(fc.constantFrom(...SUBJECTS), { minLength: 1, maxLength: SUBJECTS.length })
  .chain((subjects) => fc.tuple(...subjects.map(mandate)));

interface GenRequest {
  principal: string;
  destination: string;
  host: string;
  method: string;
  path: string;
  header: string | null;
  route: string | null;
}
const request: fc.Arbitrary<GenRequest> = fc.record({
  principal: fc.constantFrom(...SUBJECTS, ...SUBJECTS, 'spiffe://prod.example.org/ns/x/sa/nobody', 'spiffe://evil.example.org/ns/a/sa/w1', 'spiffe://Prod.example.org/ns/a/sa/w1', 'w1.example.org', ''),
  destination: fc.constantFrom(...SPIFFE_TARGETS, '', 'spiffe://prod.example.org/ns/p/sa/other'),
  host: fc.constantFrom('ledger.internal', 'LEDGER.internal.', 'ledger.internal:8443', 'ledger.internal:9443', 'api.internal', 'api.internal.:80', 'ledger.internal..', '', 'ledger.internal:0', 'l\u00e9dger.internal', 'other.internal'),
  method: fc.constantFrom('GET', 'POST', 'get', 'DELETE', 'PUT', 'PATCH'),
  path: fc.constantFrom('/v1/7', '/v1/', '/v1', '/', '/a', '/a/', '/a/b/c', '/v1/x', '/v1/x/9/y', '/v1/x//y', '/v1/%2e%2e/x', '/v1/7?q=..', '/v1/7;x', 'v1/7', '/v1/./7', '/V1/7'),
  header: fc.constantFrom(null, 'f1', 'f2', 'f3', 'f1,f2', 'f1,f1', 'f9', '', 'F1'),
  route: fc.constantFrom(null, null, 'f1', 'f2'),
});

function policyText(ms: GenMandate[]): string {
  return ms
    .map((m) =>
      JSON.stringify({
        apiVersion: 'mandate/v1',
        kind: 'Mandate',
        metadata: { name: m.name },
        spec: {
          subject: m.subject,
          owner: 'team',
          purpose: 'property test',
          risk: m.risk,
          mode: m.mode,
          ...(m.reviewBy === undefined ? {} : { reviewBy: m.reviewBy }),
          functions: m.functions.map((f) => ({
            name: f.name,
            ...(f.taskToken === undefined ? {} : { taskToken: f.taskToken }),
            actions: f.actions,
          })),
        },
      }),
    )
    .join('\n---\n');
}

interface Expected { reason: string; mandate: string | null; dryRun: boolean; decision: 'allow' | 'deny'; actionIndex: number }

/** SPEC section 5, checks 0-5 and 10-15 (no token in these requests), as a linear scan. */
function reference(ms: GenMandate[], r: GenRequest): Expected {
  const trusted = new Set(ms.map((m) => referenceTrustDomain(m.subject)));
  let found: GenMandate | undefined;
  let actionIndex = -1;
  const reason = ((): string => {
    if (r.principal === '') return 'NO_IDENTITY';
    const td = referenceTrustDomain(r.principal);
    if (td === null) return 'INVALID_IDENTITY';
    if (!trusted.has(td)) return 'UNTRUSTED_DOMAIN';
    found = ms.find((m) => m.subject === r.principal);
    if (found === undefined) return 'NO_MANDATE';
    if (found.reviewBy !== undefined && Date.parse(found.reviewBy + 'T00:00:00Z') <= NOW) return 'MANDATE_EXPIRED';
    const header = r.header === '' ? null : r.header;
    if (header === null && r.route === null) return 'MISSING_FUNCTION';
    if (header !== null && (header.includes(',') || (r.route !== null && header !== r.route))) return 'FUNCTION_CONFLICT';
    const f = found.functions.find((x) => x.name === (header ?? r.route));
    if (f === undefined) return 'FUNCTION_NOT_DECLARED';
    if (!referenceAcceptable(r.path)) return 'INVALID_PATH';
    const reqHost = referenceHost(r.host);
    actionIndex = f.actions.findIndex((a) => {
      let targetOk: boolean;
      if (a.target.startsWith('spiffe://')) targetOk = a.target === r.destination;
      else {
        const t = referenceHost(a.target)!;
        targetOk = reqHost !== null && t.host === reqHost.host && (t.port === null || t.port === reqHost.port);
      }
      return targetOk && (a.methods[0] === '*' || a.methods.includes(r.method)) && a.paths.some((p) => referenceMatch(p, r.path));
    });
    if (actionIndex < 0) return 'ACTION_NOT_PERMITTED';
    const required = f.taskToken === undefined ? found.risk === 'high' || found.risk === 'critical' : f.taskToken === 'required';
    if (required) return 'TOKEN_REQUIRED';
    return 'ALLOWED';
  })();
  const identityFailure = ['NO_IDENTITY', 'INVALID_IDENTITY', 'UNTRUSTED_DOMAIN'].includes(reason);
  const dryRun = !identityFailure && found !== undefined && found.mode === 'dry-run';
  return {
    reason,
    mandate: found?.name ?? null,
    dryRun,
    decision: reason === 'ALLOWED' || dryRun ? 'allow' : 'deny',
    actionIndex,
  };
}

function facts(r: GenRequest): RequestFacts {
  return {
    hasHttp: true,
    principal: r.principal,
    certificate: '',
    destinationPrincipal: r.destination,
    host: r.host,
    method: r.method,
    path: r.path,
    requestId: null,
    xfcc: null,
    authorization: null,
    functionHeader: r.header,
    routeFunction: r.route,
    taskToken: null,
  };
}

const noRevocations = { isRevoked: () => false, isStale: () => false };

describe('compiled index vs linear scan (property)', () => {
  it('gives the same reason, decision, mandate and matched action on random sets and requests', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(policy, fc.array(request, { minLength: 1, maxLength: 25 }), (ms, requests) => {
        const loaded = parsePolicyTexts([{ name: 'gen.yaml', text: policyText(ms) }]);
        if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
        const compiled = compilePolicy(loaded.set);
        const env = { policy: compiled, trustedDomains: compiled.subjectTrustDomains, globalDryRun: false, revocations: noRevocations };
        for (const r of requests) {
          const f = facts(r);
          const identity = resolveIdentity(f, { trustXfcc: false, bearer: null }, env.trustedDomains, NOW) as IdentityResult;
          const d = evaluate(env, { facts: f, identity, token: null }, NOW, 'id');
          const want = reference(ms, r);
          seen.add(want.reason);
          expect({ reason: d.reason, mandate: d.mandate, dryRun: d.dryRun, decision: d.decision, actionIndex: d.actionIndex }, JSON.stringify(r)).toEqual(want);
        }
      }),
      // A fixed seed keeps the coverage check below deterministic in CI (a random seed now
      // and then missed TOKEN_REQUIRED); FC_SEED=… explores other seeds locally.
      { numRuns: 200, seed: Number(process.env['FC_SEED'] ?? 42) },
    );
    // The generators reach every reason this scan models, so agreement is not vacuous.
    expect([...seen].sort()).toEqual(
      ['ACTION_NOT_PERMITTED', 'ALLOWED', 'FUNCTION_CONFLICT', 'FUNCTION_NOT_DECLARED', 'INVALID_IDENTITY', 'INVALID_PATH', 'MANDATE_EXPIRED', 'MISSING_FUNCTION', 'NO_IDENTITY', 'NO_MANDATE', 'TOKEN_REQUIRED', 'UNTRUSTED_DOMAIN'].sort(),
    );
  });
});
