/** Builders for decisions, facts and token verdicts used by the audit tests. */
import type { Decision, RequestFacts } from '../../src/decision/types.js';
import type { TokenVerdict } from '../../src/tokens/types.js';

export const SECRET_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdGFzay10b2tlbiJ9.c2lnbmF0dXJlLXNlY3JldA';
export const SECRET_BEARER = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZWFyZXItc2VjcmV0In0.YmVhcmVyLXNpZw';

export function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    hasHttp: true,
    principal: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
    certificate: '',
    destinationPrincipal: 'spiffe://prod.example.org/ns/payments/sa/payments-api',
    host: 'payments.internal:8443',
    method: 'POST',
    path: '/v1/payments/42/refund?debug=1',
    requestId: 'req-1',
    xfcc: null,
    authorization: SECRET_BEARER,
    functionHeader: 'refund-processing',
    routeFunction: null,
    taskToken: SECRET_TOKEN,
    ...over,
  };
}

export function decision(over: Partial<Decision> = {}): Decision {
  return {
    decisionId: 'd-1',
    decision: 'allow',
    reason: 'ALLOWED',
    dryRun: false,
    wouldDeny: null,
    source: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
    identityVia: 'principal',
    issuer: null,
    target: 'spiffe://prod.example.org/ns/payments/sa/payments-api',
    method: 'POST',
    path: '/v1/payments/42/refund',
    function: 'refund-processing',
    functionVia: 'header+token',
    mandate: 'refund-worker',
    owner: 'team-billing',
    purpose: 'Issue refunds',
    risk: 'high',
    actionIndex: 0,
    txn: 'task-7',
    tokenSha256: '0123456789abcdef',
    policyRevision: 'rev-abc',
    detail: null,
    ...over,
  };
}

export const okToken: TokenVerdict = {
  ok: true,
  sha256: '0123456789abcdef',
  claims: {
    iss: 'mandate',
    aud: 'prod.example.org',
    sub: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
    scope: 'refund-processing',
    txn: 'task-7',
    jti: 'jti-1',
    iat: 1_780_000_000,
    exp: 1_780_000_300,
    tctx: { ticket: 'SUP-1' },
    req_wl: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
  },
};

export const badToken: TokenVerdict = {
  ok: false,
  reason: 'TOKEN_EXPIRED',
  detail: 'exp 1780000300 is before now',
  sha256: 'fedcba9876543210',
  txn: 'task-8',
};
