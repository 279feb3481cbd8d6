/**
 * evaluate() on its own: every check of SPEC section 5 in order, with token verdicts and
 * revocation state given directly so checks 6-9 are covered without keys or Redis.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, internalErrorDecision, type EvaluateEnv } from '../../src/decision/evaluate.js';
import type { RequestFacts } from '../../src/decision/types.js';
import type { IdentityResult } from '../../src/identity/types.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { loadPolicySet } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compiled.js';
import type { RevocationView, TaskTokenClaims, TokenVerdict } from '../../src/tokens/types.js';

const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';
const AGENT = 'spiffe://prod.example.org/ns/ai/sa/support-agent';
const NOW = Date.parse('2026-12-04T12:00:00Z');

let policy: CompiledPolicy;
beforeAll(async () => {
  const r = await loadPolicySet([new URL('../fixtures/integration/policies', import.meta.url).pathname]);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  policy = compilePolicy(r.set);
});

function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    hasHttp: true,
    principal: WORKER,
    certificate: '',
    destinationPrincipal: PAYMENTS,
    host: 'payments.internal',
    method: 'POST',
    path: '/v1/payments/42/refund',
    requestId: 'r1',
    xfcc: null,
    authorization: null,
    functionHeader: 'refund-processing',
    routeFunction: null,
    taskToken: null,
    ...over,
  };
}

function ok(id: string): IdentityResult {
  return { reason: null, spiffeId: id, trustDomain: id.split('/')[2] ?? null, via: 'principal', detail: null, issuer: null, tokenSha256: null };
}

function claims(over: Partial<TaskTokenClaims> = {}): TokenVerdict {
  const c: TaskTokenClaims = {
    iss: 'mandate',
    aud: 'prod.example.org',
    sub: WORKER,
    scope: 'refund-approval',
    txn: 'task-1',
    jti: 'j1',
    iat: NOW / 1000 - 10,
    exp: NOW / 1000 + 200,
    tctx: null,
    req_wl: WORKER,
    ...over,
  };
  return { ok: true, claims: c, sha256: '0123456789abcdef' };
}

const noRevocations: RevocationView = { isRevoked: () => false, isStale: () => false };

function env(over: Partial<EvaluateEnv> = {}): EvaluateEnv {
  return { policy, trustedDomains: policy.subjectTrustDomains, globalDryRun: false, revocations: noRevocations, ...over };
}

const approval = { path: '/v1/approvals', functionHeader: 'refund-approval', taskToken: 'x.y.z' };

type Row = [string, Partial<RequestFacts>, IdentityResult, TokenVerdict | null, Partial<EvaluateEnv>, string];
const rows: Row[] = [
  ['allowed', {}, ok(WORKER), null, {}, 'ALLOWED'],
  ['no http', { hasHttp: false }, ok(WORKER), null, {}, 'BAD_REQUEST'],
  ['identity failure passes through', {}, { ...ok(WORKER), reason: 'INVALID_IDENTITY', spiffeId: null, detail: 'bad' }, null, {}, 'INVALID_IDENTITY'],
  ['no mandate', {}, ok('spiffe://prod.example.org/x'), null, {}, 'NO_MANDATE'],
  ['expired mandate', { functionHeader: 'nightly' }, ok('spiffe://prod.example.org/ns/batch/sa/retired'), null, {}, 'MANDATE_EXPIRED'],
  ['token invalid beats function checks', { functionHeader: null }, ok(WORKER), { ok: false, reason: 'TOKEN_INVALID', detail: 'sig', sha256: 'aa', txn: null }, {}, 'TOKEN_INVALID'],
  ['token expired', {}, ok(WORKER), { ok: false, reason: 'TOKEN_EXPIRED', detail: 'exp', sha256: 'aa', txn: 't' }, {}, 'TOKEN_EXPIRED'],
  ['token audience not trusted', approval, ok(WORKER), claims({ aud: 'other.org', sub: 'spiffe://other.org/x' }), {}, 'TOKEN_INVALID'],
  ['token lifetime over the function maxTokenTtl (15m default at medium risk)', approval, ok(WORKER), claims({ exp: NOW / 1000 + 1000 }), {}, 'TOKEN_INVALID'],
  ['token lifetime over 1h for an undeclared scope', { ...approval, functionHeader: 'payouts' }, ok(WORKER), claims({ scope: 'payouts', iat: NOW / 1000 - 10, exp: NOW / 1000 + 3600 }), {}, 'TOKEN_INVALID'],
  ['token of another workload', approval, ok(WORKER), claims({ sub: PAYMENTS }), {}, 'TOKEN_SUBJECT_MISMATCH'],
  ['revoked task', approval, ok(WORKER), claims(), { revocations: { isRevoked: (t) => t === 'task-1', isStale: () => false } }, 'TOKEN_REVOKED'],
  ['stale revocation state', approval, ok(WORKER), claims(), { revocations: { isRevoked: () => false, isStale: () => true } }, 'REVOCATION_UNAVAILABLE'],
  ['stale state without a token is fine', {}, ok(WORKER), null, { revocations: { isRevoked: () => false, isStale: () => true } }, 'ALLOWED'],
  ['token only names the function', { ...approval, functionHeader: null }, ok(WORKER), claims(), {}, 'ALLOWED'],
  ['token scope differs from header', approval, ok(WORKER), claims({ scope: 'refund-processing' }), {}, 'TOKEN_FUNCTION_MISMATCH'],
  ['missing function', { functionHeader: null }, ok(WORKER), null, {}, 'MISSING_FUNCTION'],
  ['conflict', { routeFunction: 'refund-approval' }, ok(WORKER), null, {}, 'FUNCTION_CONFLICT'],
  ['undeclared', { functionHeader: 'payouts' }, ok(WORKER), null, {}, 'FUNCTION_NOT_DECLARED'],
  ['invalid path', { path: '/v1/payments/%2E%2E/refund' }, ok(WORKER), null, {}, 'INVALID_PATH'],
  ['empty path', { path: '' }, ok(WORKER), null, {}, 'INVALID_PATH'],
  ['no action', { method: 'PUT' }, ok(WORKER), null, {}, 'ACTION_NOT_PERMITTED'],
  ['token required', { ...approval, taskToken: null }, ok(WORKER), null, {}, 'TOKEN_REQUIRED'],
  ['token with required function', approval, ok(WORKER), claims(), {}, 'ALLOWED'],
];

describe('evaluate', () => {
  it.each(rows)('%s → %s', (_n, f, identity, token, e, reason) => {
    const d = evaluate(env(e), { facts: facts(f), identity, token }, NOW, 'id-1');
    expect(d.reason).toBe(reason);
    expect(d.decision).toBe(reason === 'ALLOWED' ? 'allow' : 'deny');
    expect(d.dryRun).toBe(false);
    expect(d.wouldDeny).toBeNull();
    expect(d.policyRevision).toBe(policy.revision);
    expect(d.decisionId).toBe('id-1');
  });

  it('fills the intent fields of an allow', () => {
    const d = evaluate(env(), { facts: facts({ path: '/v1/payments/42/refund?x=1#f' }), identity: ok(WORKER), token: null }, NOW, 'id');
    expect(d).toMatchObject({
      source: WORKER,
      identityVia: 'principal',
      target: PAYMENTS,
      method: 'POST',
      path: '/v1/payments/42/refund',
      function: 'refund-processing',
      functionVia: 'header',
      mandate: 'refund-worker',
      owner: 'team-billing',
      risk: 'medium',
      actionIndex: 0,
    });
  });

  it('logs the normalised host as the target when the destination is not a SPIFFE ID', () => {
    const d = evaluate(env(), { facts: facts({ destinationPrincipal: '', host: 'Ledger.Internal.:8443', method: 'GET', path: '/v1/entries/1' }), identity: ok(WORKER), token: null }, NOW, 'id');
    expect(d.reason).toBe('ALLOWED');
    expect(d.target).toBe('ledger.internal:8443');
    expect(d.actionIndex).toBe(1);
  });

  it('turns a denial of a dry-run mandate into an allow that records it', () => {
    const d = evaluate(env(), { facts: facts({ principal: AGENT, functionHeader: 'ticket-read', host: 'tickets.internal', method: 'DELETE', path: '/v1/tickets/1' }), identity: ok(AGENT), token: null }, NOW, 'id');
    expect(d).toMatchObject({ decision: 'allow', reason: 'ACTION_NOT_PERMITTED', dryRun: true, wouldDeny: 'ACTION_NOT_PERMITTED', mandate: 'support-agent' });
  });

  it('marks an allow of a dry-run mandate as dry run with nothing it would deny', () => {
    const d = evaluate(env(), { facts: facts({ principal: AGENT, functionHeader: 'ticket-read', host: 'tickets.internal', method: 'GET', path: '/v1/tickets/1' }), identity: ok(AGENT), token: null }, NOW, 'id');
    expect(d).toMatchObject({ decision: 'allow', reason: 'ALLOWED', dryRun: true, wouldDeny: null });
  });

  it('turns identity failures into allows only in global dry run', () => {
    const untrusted: IdentityResult = { ...ok('spiffe://evil.org/x'), reason: 'UNTRUSTED_DOMAIN' };
    expect(evaluate(env(), { facts: facts(), identity: untrusted, token: null }, NOW, 'id').decision).toBe('deny');
    const g = evaluate(env({ globalDryRun: true }), { facts: facts(), identity: untrusted, token: null }, NOW, 'id');
    expect(g).toMatchObject({ decision: 'allow', dryRun: true, wouldDeny: 'UNTRUSTED_DOMAIN' });
  });

  it('never turns an internal error into an allow', () => {
    const d = internalErrorDecision('id', null, 'rev');
    expect(d).toMatchObject({ decision: 'deny', reason: 'INTERNAL_ERROR', dryRun: false });
  });
});
