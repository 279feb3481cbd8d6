import { describe, expect, it } from 'vitest';
import { decisionToLogEntry, DECISION_LOG_FIELDS, type DecisionLogEntry } from '../../src/audit/entry.js';
import { badToken, decision, facts, okToken, SECRET_BEARER, SECRET_TOKEN } from './fixtures.js';

const NOW = Date.UTC(2026, 11, 4, 20, 30, 0, 123);

const SPEC_FIELDS = [
  'time', 'decision_id', 'request_id', 'decision', 'reason', 'dry_run', 'would_deny', 'source',
  'identity_via', 'target', 'method', 'path', 'function', 'function_via', 'mandate', 'owner',
  'purpose', 'risk', 'txn', 'token_sha256', 'policy_revision', 'duration_us',
];

describe('decisionToLogEntry', () => {
  it('assigns every SPEC field, then the extras, in a fixed order', () => {
    const e = decisionToLogEntry(decision(), facts(), okToken, 12.6, NOW);
    expect(Object.keys(e)).toEqual([...DECISION_LOG_FIELDS]);
    expect(Object.keys(e).slice(0, SPEC_FIELDS.length)).toEqual(SPEC_FIELDS);
  });

  it('fills an allow from the decision, the facts and the verified token', () => {
    const e = decisionToLogEntry(decision(), facts(), okToken, 12.6, NOW);
    expect(e).toEqual<DecisionLogEntry>({
      time: '2026-12-04T20:30:00.123Z',
      decision_id: 'd-1',
      request_id: 'req-1',
      decision: 'allow',
      reason: 'ALLOWED',
      dry_run: false,
      would_deny: null,
      source: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
      identity_via: 'principal',
      target: 'spiffe://prod.example.org/ns/payments/sa/payments-api',
      method: 'POST',
      path: '/v1/payments/42/refund',
      function: 'refund-processing',
      function_via: 'header+token',
      mandate: 'refund-worker',
      owner: 'team-billing',
      purpose: 'Issue refunds',
      risk: 'high',
      txn: 'task-7',
      token_sha256: '0123456789abcdef',
      policy_revision: 'rev-abc',
      duration_us: 13,
      host: 'payments.internal:8443',
      destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api',
      header_function: 'refund-processing',
      route_function: null,
      token_scope: 'refund-processing',
      token_sub: 'spiffe://prod.example.org/ns/billing/sa/refund-worker',
      token_iat: 1_780_000_000,
      token_exp: 1_780_000_300,
      issuer: null,
      action: 0,
      detail: null,
    });
  });

  it.each([
    ['no token', null],
    ['a token that did not verify', badToken],
  ] as const)('leaves token_* claims null with %s', (_name, token) => {
    const e = decisionToLogEntry(decision({ txn: null, tokenSha256: null }), facts(), token, 1, NOW);
    expect([e.token_scope, e.token_sub, e.token_iat, e.token_exp]).toEqual([null, null, null, null]);
    expect(e.token_sha256).toBe(token === null ? null : 'fedcba9876543210');
    expect(e.txn).toBe(token === null ? null : 'task-8');
  });

  it('falls back to the request facts when the decision stopped early', () => {
    const d = decision({
      decision: 'deny', reason: 'NO_IDENTITY', source: null, identityVia: null, target: null, method: null,
      path: null, function: null, functionVia: null, mandate: null, owner: null, purpose: null, risk: null,
      actionIndex: -1, txn: null, tokenSha256: null, detail: 'no principal, certificate or bearer token',
    });
    const e = decisionToLogEntry(d, facts({ destinationPrincipal: '', host: 'Ledger.Internal.:8443', path: '/a/b#frag' }), null, 3, NOW);
    expect(e).toMatchObject({
      target: 'ledger.internal:8443', method: 'POST', path: '/a/b', action: null,
      host: 'Ledger.Internal.:8443', destination: null, detail: 'no principal, certificate or bearer token',
    });
  });

  it('records a dry-run would-deny as an allow with the evaluated reason', () => {
    const d = decision({ reason: 'ACTION_NOT_PERMITTED', dryRun: true, wouldDeny: 'ACTION_NOT_PERMITTED', actionIndex: -1 });
    const e = decisionToLogEntry(d, facts(), okToken, 3, NOW);
    expect(e).toMatchObject({ decision: 'allow', reason: 'ACTION_NOT_PERMITTED', dry_run: true, would_deny: 'ACTION_NOT_PERMITTED', action: null });
  });

  it('works without facts (the handler could not read the request)', () => {
    const d = decision({ decision: 'deny', reason: 'INTERNAL_ERROR', target: null, method: null, path: null });
    const e = decisionToLogEntry(d, null, null, Number.NaN, NOW);
    expect(Object.keys(e)).toEqual([...DECISION_LOG_FIELDS]);
    expect(e).toMatchObject({ request_id: null, target: null, method: null, path: null, host: null, duration_us: null });
  });

  it('never copies the task token or the authorization header', () => {
    const line = JSON.stringify(decisionToLogEntry(decision(), facts(), okToken, 1, NOW));
    expect(line).not.toContain(SECRET_TOKEN);
    expect(line).not.toContain(SECRET_BEARER.slice('Bearer '.length));
    // no fragment of a token either (each JWT part is long and distinctive)
    for (const part of [...SECRET_TOKEN.split('.'), ...SECRET_BEARER.slice(7).split('.')]) expect(line).not.toContain(part);
  });
});
