/**
 * The Check contract over a real socket: the real server on a free loopback port, called
 * by a grpc-js client whose schema is Envoy's official protos. Every reason code that does
 * not need a task token is reached, and allow/deny responses are checked field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, envoyClient, responseHeaders, type EnvoyClient, type RequestParts } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { envoyEncodePem, makeCa, makeLeaf } from '../helpers/certs.js';

const POLICIES = new URL('../fixtures/integration/policies', import.meta.url).pathname;
const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';
const AGENT = 'spiffe://prod.example.org/ns/ai/sa/support-agent';

let server: TestServer;
let client: EnvoyClient;

beforeAll(async () => {
  server = await startTestServer(['--policies', POLICIES]);
  client = envoyClient(server.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await server?.drain(2000);
});

const refund: RequestParts = {
  principal: WORKER,
  destination: PAYMENTS,
  method: 'POST',
  path: '/v1/payments/42/refund',
  function: 'refund-processing',
};

const cases: [string, RequestParts, string][] = [
  ['allowed refund', refund, 'ALLOWED'],
  ['allowed ledger read by host with port', { principal: WORKER, host: 'LEDGER.internal.:8443', method: 'GET', path: '/v1/entries/2026/12?x=1', function: 'refund-processing' }, 'ALLOWED'],
  ['route declares the function', { ...refund, function: undefined, routeFunction: 'refund-processing' }, 'ALLOWED'],
  ['no http attributes', { ...refund, noHttp: true }, 'BAD_REQUEST'],
  ['no identity', { ...refund, principal: '' }, 'NO_IDENTITY'],
  ['principal is a DNS SAN', { ...refund, principal: 'payments.example.org' }, 'INVALID_IDENTITY'],
  ['principal with upper-case trust domain', { ...refund, principal: 'spiffe://Prod.example.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['untrusted trust domain', { ...refund, principal: 'spiffe://evil.example.org/ns/billing/sa/refund-worker' }, 'UNTRUSTED_DOMAIN'],
  ['no mandate', { ...refund, principal: 'spiffe://prod.example.org/ns/other/sa/nobody' }, 'NO_MANDATE'],
  ['expired mandate', { ...refund, principal: 'spiffe://prod.example.org/ns/batch/sa/retired', function: 'nightly' }, 'MANDATE_EXPIRED'],
  ['garbage task token', { ...refund, headers: { 'txn-token': 'not-a-jwt' } }, 'TOKEN_INVALID'],
  ['missing function', { ...refund, function: undefined }, 'MISSING_FUNCTION'],
  ['header and route disagree', { ...refund, routeFunction: 'refund-approval' }, 'FUNCTION_CONFLICT'],
  ['comma-joined header', { ...refund, function: 'refund-processing,refund-processing' }, 'FUNCTION_CONFLICT'],
  ['undeclared function', { ...refund, function: 'payouts' }, 'FUNCTION_NOT_DECLARED'],
  ['encoded slash in path', { ...refund, path: '/v1/payments/42%2Frefund' }, 'INVALID_PATH'],
  ['dot segment', { ...refund, path: '/v1/payments/../42/refund' }, 'INVALID_PATH'],
  ['wrong method', { ...refund, method: 'GET' }, 'ACTION_NOT_PERMITTED'],
  ['lower-case method', { ...refund, method: 'post' }, 'ACTION_NOT_PERMITTED'],
  ['wrong target', { ...refund, destination: 'spiffe://prod.example.org/ns/other/sa/x' }, 'ACTION_NOT_PERMITTED'],
  ['trailing slash is significant', { principal: WORKER, host: 'docs.internal', method: 'GET', path: '/a', function: 'refund-processing' }, 'ACTION_NOT_PERMITTED'],
  ['ledger on another port', { principal: WORKER, host: 'ledger.internal:9443', method: 'GET', path: '/v1/entries/1', function: 'refund-processing' }, 'ACTION_NOT_PERMITTED'],
  ['function requires a token', { ...refund, path: '/v1/approvals', function: 'refund-approval' }, 'TOKEN_REQUIRED'],
];

describe('Check over gRPC with the official Envoy protos', () => {
  it.each(cases)('%s → %s', async (_name, parts, reason) => {
    const r = await client.check(checkRequest(parts));
    const headers = responseHeaders(r);
    if (reason === 'ALLOWED') {
      expect(r.status.code).toBe(0);
      expect(r.http_response).toBe('ok_response');
      expect(headers['x-mandate-name']).toBe('refund-worker');
      expect(headers['x-mandate-function']).toBe('refund-processing');
      expect(headers['x-mandate-decision-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(headers['x-mandate-dry-run']).toBeUndefined();
      const f = r.dynamic_metadata?.fields ?? {};
      expect(f['decision_id']?.stringValue).toBe(headers['x-mandate-decision-id']);
      expect(f['mandate']?.stringValue).toBe('refund-worker');
      expect(f['function']?.stringValue).toBe('refund-processing');
      expect(f['reason']?.stringValue).toBe('ALLOWED');
      expect(f['dry_run']?.boolValue).toBe(false);
    } else {
      expect(r.http_response).toBe('denied_response');
      expect(headers['x-mandate-reason']).toBe(reason);
      expect(headers['content-type']).toBe('application/json');
      const id = headers['x-mandate-decision-id'] as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(r.denied_response?.body ?? '')).toEqual({ error: 'access_denied', reason, decision_id: id });
      const expected: Record<string, [number, string]> = {
        BAD_REQUEST: [7, 'BadRequest'],
        NO_IDENTITY: [16, 'Unauthorized'],
        INVALID_IDENTITY: [16, 'Unauthorized'],
        UNTRUSTED_DOMAIN: [16, 'Unauthorized'],
        TOKEN_INVALID: [16, 'Unauthorized'],
        TOKEN_REQUIRED: [16, 'Unauthorized'],
        INVALID_PATH: [7, 'BadRequest'],
      };
      const [grpcCode, http] = expected[reason] ?? [7, 'Forbidden'];
      expect(r.status.code).toBe(grpcCode);
      expect(r.denied_response?.status.code).toBe(http);
    }
  });

  it('answers a dry-run mandate with an allow that names what it would deny', async () => {
    const r = await client.check(checkRequest({ principal: AGENT, host: 'tickets.internal', method: 'DELETE', path: '/v1/tickets/7', function: 'ticket-read' }));
    const headers = responseHeaders(r);
    expect(r.status.code).toBe(0);
    expect(headers['x-mandate-dry-run']).toBe('ACTION_NOT_PERMITTED');
    expect(headers['x-mandate-name']).toBe('support-agent');
    expect(r.dynamic_metadata?.fields['dry_run']?.boolValue).toBe(true);
    expect(r.dynamic_metadata?.fields['reason']?.stringValue).toBe('ACTION_NOT_PERMITTED');
  });

  it('does not turn identity failures into allows for a dry-run mandate', async () => {
    const r = await client.check(checkRequest({ principal: 'spiffe://evil.example.org/ns/ai/sa/support-agent', host: 'tickets.internal', function: 'ticket-read' }));
    expect(responseHeaders(r)['x-mandate-reason']).toBe('UNTRUSTED_DOMAIN');
  });

  it('answers an empty CheckRequest with BAD_REQUEST, not an RPC error', async () => {
    const r = await client.check({});
    expect(responseHeaders(r)['x-mandate-reason']).toBe('BAD_REQUEST');
  });

  it('survives a 60 KiB header and 500 headers', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 500; i++) many[`x-h-${i}`] = 'v'.repeat(20);
    const big = await client.check(checkRequest({ ...refund, headers: { 'x-big': 'a'.repeat(60 * 1024) } }));
    expect(big.status.code).toBe(0);
    const lots = await client.check(checkRequest({ ...refund, headers: many }));
    expect(lots.status.code).toBe(0);
  });

  it('treats garbage in every string field as a denial with a documented reason', async () => {
    const junk = '\u0000\uffff%zz\\..;//' + 'é'.repeat(100);
    const r = await client.check({
      attributes: {
        source: { principal: junk, certificate: junk },
        destination: { principal: junk },
        request: { http: { method: junk, path: junk, host: junk, headers: { 'x-business-function': junk, 'x-forwarded-client-cert': junk } } },
        context_extensions: { function: junk },
      },
    });
    expect(r.http_response).toBe('denied_response');
    expect(responseHeaders(r)['x-mandate-reason']).toBe('INVALID_IDENTITY');
  });

  describe('with the peer certificate (include_peer_certificate)', () => {
    it('accepts a real X.509-SVID whose URI SAN is the principal', async () => {
      const ca = await makeCa({ trustDomain: 'prod.example.org' });
      const leaf = await makeLeaf(ca, { uris: [WORKER] });
      const r = await client.check(checkRequest({ ...refund, certificate: envoyEncodePem(leaf.certPem) }));
      expect(r.status.code).toBe(0);
    });
    it('rejects a certificate whose URI SAN differs from the principal', async () => {
      const ca = await makeCa({ trustDomain: 'prod.example.org' });
      const leaf = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/other/sa/x'] });
      const r = await client.check(checkRequest({ ...refund, certificate: envoyEncodePem(leaf.certPem) }));
      expect(responseHeaders(r)['x-mandate-reason']).toBe('INVALID_IDENTITY');
    });
    it('rejects a certificate with two URI SANs', async () => {
      const ca = await makeCa({ trustDomain: 'prod.example.org' });
      const leaf = await makeLeaf(ca, { uris: [WORKER, 'spiffe://prod.example.org/ns/other/sa/x'] });
      const r = await client.check(checkRequest({ ...refund, certificate: envoyEncodePem(leaf.certPem) }));
      expect(responseHeaders(r)['x-mandate-reason']).toBe('INVALID_IDENTITY');
    });
  });
});
