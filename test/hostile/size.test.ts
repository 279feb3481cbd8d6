/**
 * Size attacks: a message over the gRPC size limit, thousands of headers, and 64 KiB values
 * in every field the decision reads. A message over `--max-message-bytes` is refused by
 * grpc-js with RESOURCE_EXHAUSTED before mandate sees it — an RPC *error*, which Envoy
 * treats per its failure mode (docs/security.md), not a deny — and the server must stay
 * healthy afterwards. Everything under the limit gets a documented answer.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, type RequestParts } from '../helpers/envoy-client.js';
import { REFUND, WORKER, expectAnswer, hostileRequest, cases, runRow, startTarget, type Row, type Target } from './harness.js';

const K64 = 64 * 1024;
const big = (c = 'a', n = K64) => c.repeat(n);

const values: Row[] = [
  ['64 KiB principal', { ...REFUND, principal: WORKER + big() }, 'INVALID_IDENTITY'],
  ['64 KiB certificate', { ...REFUND, certificate: big('A') }, 'INVALID_IDENTITY'],
  ['64 KiB destination', { ...REFUND, destination: 'spiffe://prod.example.org/' + big() }, 'ACTION_NOT_PERMITTED'],
  ['64 KiB host', { ...REFUND, destination: '', host: big() + '.internal' }, 'ACTION_NOT_PERMITTED'],
  ['64 KiB method', { ...REFUND, method: big('P') }, 'ACTION_NOT_PERMITTED'],
  // Paths are capped at 16 KiB (MAX_REQUEST_PATH_CHARS): longer ones are INVALID_PATH
  // before any splitting, so a huge path costs no more than an ordinary one.
  ['64 KiB path in a ** template', { principal: WORKER, host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries/' + big(), function: 'refund-processing' }, 'INVALID_PATH'],
  ['64 KiB path of 32768 segments', { principal: WORKER, host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries' + '/a'.repeat(K64 / 2), function: 'refund-processing' }, 'INVALID_PATH'],
  ['16 KiB path (at the cap) in a ** template', { principal: WORKER, host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries/' + 'a'.repeat(16 * 1024 - 12), function: 'refund-processing' }, 'ALLOWED'],
  ['path one byte over the cap', { principal: WORKER, host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries/' + 'a'.repeat(16 * 1024 - 11), function: 'refund-processing' }, 'INVALID_PATH'],
  ['8 KiB path of 4096 segments against a fixed template', { ...REFUND, path: '/v1' + '/a'.repeat(4096) }, 'ACTION_NOT_PERMITTED'],
  ['64 KiB query', { ...REFUND, path: '/v1/payments/42/refund?' + big() }, 'ALLOWED'],
  ['64 KiB function header', { ...REFUND, function: big('f') }, 'FUNCTION_NOT_DECLARED'],
  ['64 KiB of commas in the function header', { ...REFUND, function: big(',') }, 'FUNCTION_CONFLICT'],
  ['64 KiB route function', { ...REFUND, function: undefined, routeFunction: big('f') }, 'FUNCTION_NOT_DECLARED'],
  ['64 KiB task token', { ...REFUND, headers: { 'txn-token': big('A') } }, 'TOKEN_INVALID'],
  ['64 KiB of dots as a task token', { ...REFUND, headers: { 'txn-token': big('.') } }, 'TOKEN_INVALID'],
  ['64 KiB untrusted XFCC', { ...REFUND, headers: { 'x-forwarded-client-cert': big('URI=x;') } }, 'ALLOWED'],
  ['64 KiB x-request-id', { ...REFUND, headers: { 'x-request-id': big() } }, 'ALLOWED'],
  ['64 KiB authorization header', { ...REFUND, headers: { authorization: 'Bearer ' + big() } }, 'ALLOWED'],
];

function manyHeaders(n: number, valueLength = 20): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i < n; i++) h[`x-junk-${i}`] = 'v'.repeat(valueLength);
  return h;
}

describe('size attacks (default limits: 1 MiB messages)', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget();
  });
  afterAll(async () => t?.close());

  it.each(cases(values))('value: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));

  it.each([
    ['5,000 small headers', manyHeaders(5000)],
    ['10,000 empty headers', manyHeaders(10_000, 0)],
    ['200 headers of 4 KiB', manyHeaders(200, 4096)],
  ])('%s under the size limit are answered normally', async (_n, headers) => {
    const r = await t.client.check(checkRequest({ ...REFUND, headers }), { deadlineMs: 2000 });
    expectAnswer(r, 'ALLOWED');
  });

  it('thousands of x-business-function values in header_map are a conflict, not a match', async () => {
    const req = hostileRequest({
      ...REFUND,
      function: undefined,
      edit: (r) => {
        const http = r['attributes']['request']['http'];
        const list = Object.entries(http['headers'] as Record<string, string>).map(([key, value]) => ({ key, value }));
        for (let i = 0; i < 3000; i++) list.push({ key: 'x-business-function', value: 'refund-processing' });
        http['headers'] = {};
        http['header_map'] = { headers: list };
      },
    });
    expectAnswer(await t.client.check(req), 'FUNCTION_CONFLICT');
  });

  it('refuses a 4 MiB message with RESOURCE_EXHAUSTED (an RPC error, not a deny) and stays healthy', async () => {
    const huge: RequestParts = { ...REFUND, headers: { 'x-big': big('b', 4 * 1024 * 1024) } };
    const err = await t.client.check(checkRequest(huge)).then(
      () => null,
      (e: grpc.ServiceError) => e,
    );
    expect(err).not.toBeNull();
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The refusal names sizes only: no policy or internal detail.
    expect(err?.details ?? '').not.toMatch(/SECRET|team-|stack|\.ts:/);
    // Health, readiness and a normal check afterwards.
    expectAnswer(await t.client.check(checkRequest(REFUND)), 'ALLOWED');
    const ready = await fetch(`${t.server.httpBase}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('refuses ten 4 MiB messages at once and keeps answering the normal ones in between', async () => {
    const huge = checkRequest({ ...REFUND, headers: { 'x-big': big('b', 4 * 1024 * 1024) } });
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, () => t.client.check(huge)),
      ...Array.from({ length: 10 }, () => t.client.check(checkRequest(REFUND))),
    ]);
    const refused = results.slice(0, 10);
    const normal = results.slice(10);
    for (const r of refused) expect(r.status === 'rejected' && (r.reason as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED).toBe(true);
    for (const r of normal) {
      expect(r.status).toBe('fulfilled');
      if (r.status === 'fulfilled') expectAnswer(r.value, 'ALLOWED');
    }
  });
});
