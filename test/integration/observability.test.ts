/**
 * Decision log and metrics of a real server: every SPEC section 7 field on an allow, a deny
 * and a dry-run line, and every metric with its label sets at /metrics.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMethodDefinition } from '../../src/envoy/protos.js';
import { checkRequest, envoyClient, responseHeaders, type EnvoyClient } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const POLICIES = new URL('../fixtures/integration/policies', import.meta.url).pathname;
const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';
const AGENT = 'spiffe://prod.example.org/ns/ai/sa/support-agent';

const FIELDS = [
  'time', 'decision_id', 'request_id', 'decision', 'reason', 'dry_run', 'would_deny', 'source', 'identity_via',
  'target', 'method', 'path', 'function', 'function_via', 'mandate', 'owner', 'purpose', 'risk', 'txn',
  'token_sha256', 'policy_revision', 'duration_us',
];

let server: TestServer;
let client: EnvoyClient;
let logFile: string;

beforeAll(async () => {
  logFile = path.join(mkdtempSync(path.join(tmpdir(), 'mandate-log-')), 'decisions.log');
  server = await startTestServer(['--policies', POLICIES, '--log-file', logFile, '--log-level', 'info']);
  client = envoyClient(server.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await server?.drain(2000);
});

function lineFor(id: string): Promise<Record<string, unknown>> {
  return waitFor(() => {
    if (!existsSync(logFile)) return null;
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (line.includes(id)) return JSON.parse(line) as Record<string, unknown>;
    }
    return null;
  }, `decision ${id} in the log`);
}

describe('decision log', () => {
  it('writes every field for an allow', async () => {
    const r = await client.check(checkRequest({ principal: WORKER, destination: PAYMENTS, method: 'POST', path: '/v1/payments/9/refund?secret=1', function: 'refund-processing', headers: { 'x-request-id': 'req-allow' } }));
    const id = responseHeaders(r)['x-mandate-decision-id'] as string;
    const line = await lineFor(id);
    for (const f of FIELDS) expect(line, f).toHaveProperty(f);
    expect(line).toMatchObject({
      decision_id: id,
      request_id: 'req-allow',
      decision: 'allow',
      reason: 'ALLOWED',
      dry_run: false,
      would_deny: null,
      source: WORKER,
      identity_via: 'principal',
      target: PAYMENTS,
      method: 'POST',
      path: '/v1/payments/9/refund',
      function: 'refund-processing',
      function_via: 'header',
      mandate: 'refund-worker',
      owner: 'team-billing',
      purpose: 'Issue refunds approved by the support workflow',
      risk: 'medium',
      txn: null,
      token_sha256: null,
      policy_revision: server.policyRevision(),
    });
    expect(typeof line['duration_us']).toBe('number');
    expect(Date.parse(line['time'] as string)).not.toBeNaN();
  });

  it('writes every field for a deny, and never the token or authorization header', async () => {
    const secret = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const r = await client.check(checkRequest({ principal: WORKER, destination: PAYMENTS, method: 'POST', path: '/v1/payments/9/refund', function: 'refund-processing', headers: { 'txn-token': secret, authorization: 'Bearer hunter2', cookie: 'session=s3cret' } }));
    const id = responseHeaders(r)['x-mandate-decision-id'] as string;
    const line = await lineFor(id);
    for (const f of FIELDS) expect(line, f).toHaveProperty(f);
    expect(line).toMatchObject({ decision: 'deny', reason: 'TOKEN_INVALID', dry_run: false, mandate: 'refund-worker' });
    expect(line['token_sha256']).toMatch(/^[0-9a-f]{16}$/);
    const text = readFileSync(logFile, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cret');
  });

  it('answers bytes that are no CheckRequest with RPC OK and BAD_REQUEST, and logs why', async () => {
    // A length-delimited field claiming more bytes than follow: proto-loader cannot decode it.
    const garbage = Buffer.from([0x0a, 0x10, 0x22]);
    expect(() => checkMethodDefinition().requestDeserialize(garbage)).toThrow();
    const raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      raw.makeUnaryRequest<Buffer, Buffer>('/envoy.service.auth.v3.Authorization/Check', (b) => b, (b) => b, garbage, (err, value) =>
        err ? reject(err) : resolve(value!),
      );
    }).finally(() => raw.close());
    const r = checkMethodDefinition().responseDeserialize(bytes) as Parameters<typeof responseHeaders>[0] & { status: { code: number } };
    expect(r.status.code).toBe(7);
    expect(responseHeaders(r)['x-mandate-reason']).toBe('BAD_REQUEST');
    const line = await lineFor(responseHeaders(r)['x-mandate-decision-id'] as string);
    expect(line).toMatchObject({ decision: 'deny', reason: 'BAD_REQUEST', source: null, mandate: null, detail: 'the message is not a CheckRequest (it could not be decoded)' });
  });

  it('writes dry_run and would_deny for a dry-run mandate', async () => {
    const r = await client.check(checkRequest({ principal: AGENT, host: 'tickets.internal', method: 'POST', path: '/v1/tickets/1', function: 'ticket-read' }));
    const id = responseHeaders(r)['x-mandate-decision-id'] as string;
    const line = await lineFor(id);
    for (const f of FIELDS) expect(line, f).toHaveProperty(f);
    expect(line).toMatchObject({ decision: 'allow', dry_run: true, would_deny: 'ACTION_NOT_PERMITTED', mandate: 'support-agent', target: 'tickets.internal' });
  });
});

describe('metrics', () => {
  it('exposes every SPEC metric with its labels', async () => {
    await client.check(checkRequest({ principal: WORKER, destination: PAYMENTS, method: 'POST', path: '/v1/payments/1/refund', function: 'refund-processing' }));
    await client.check(checkRequest({ principal: '', function: 'x' }));
    const text = await waitFor(async () => {
      const body = await (await fetch(`${server.httpBase}/metrics`)).text();
      return body.includes('reason="NO_IDENTITY"') ? body : null;
    }, 'decision counters');
    expect(text).toMatch(/mandate_check_duration_seconds_bucket\{le="(?:5e-06|0.000005)",decision="allow"\} \d+/);
    expect(text).toMatch(/mandate_check_duration_seconds_bucket\{le="0.25",decision="deny"\} \d+/);
    expect(text).toMatch(/mandate_decisions_total\{decision="allow",reason="ALLOWED",dry_run="false"\} [1-9]/);
    expect(text).toMatch(/mandate_decisions_total\{decision="deny",reason="NO_IDENTITY",dry_run="false"\} [1-9]/);
    expect(text).toMatch(/mandate_policy_mandates 3/);
    expect(text).toMatch(/mandate_policy_reloads_total\{result="ok"\} [1-9]/);
    expect(text).toMatch(/mandate_policy_reloads_total\{result="error"\} 0/);
    expect(text).toMatch(/mandate_policy_last_reload_timestamp_seconds \d+/);
    expect(text).toContain(`mandate_policy_info{revision="${server.policyRevision()}"} 1`);
    expect(text).toMatch(/mandate_tokens_revoked_total 0/);
    expect(text).toContain('mandate_tokens_issued_total');
    expect(text).toMatch(/mandate_audit_dropped_total 0/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('serves health and readiness', async () => {
    expect((await fetch(`${server.httpBase}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.httpBase}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.httpBase}/nope`)).status).toBe(404);
    const jwks = (await (await fetch(`${server.httpBase}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBe(1);
  });
});
