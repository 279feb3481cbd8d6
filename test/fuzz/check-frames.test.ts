/**
 * Fuzzes the Check handler with raw gRPC message bytes: random buffers, and valid
 * CheckRequest encodings mutated byte by byte (flips, truncations, splices, varint and
 * length corruption). Sent with identity serializers so nothing on the client side
 * validates them. Every input must get RPC OK with a well-formed CheckResponse (never an
 * RPC error, which Envoy treats as a failure, not a deny, and lets through with
 * failure_mode_allow); one that does not decode under Envoy's official protos is a
 * BAD_REQUEST denial; the server still answers a normal Check afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, envoyClient, responseHeaders, type EnvoyClient } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { loadExtAuthzDefinition } from '../../src/envoy/protos.js';
import { REASON_CODES } from '../../src/errors.js';

const POLICIES = new URL('../hostile/fixtures/policies', import.meta.url).pathname;
const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const METHOD = '/envoy.service.auth.v3.Authorization/Check';

// The server's own codec: what decodes here decodes in the server.
const definition = loadExtAuthzDefinition();
const check = (definition['envoy.service.auth.v3.Authorization'] as unknown as Record<string, protoLoader.MethodDefinition<unknown, unknown>>)['Check']!;
const encode = (req: unknown): Buffer => check.requestSerialize(req);
const decodable = (bytes: Buffer): boolean => {
  try {
    check.requestDeserialize(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Seeds the mutations start from: an allow, a deny, a certificate, raw headers. */
const SEEDS: Buffer[] = [
  encode(checkRequest({ principal: WORKER, destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api', method: 'POST', path: '/v1/payments/42/refund', function: 'refund-processing' })),
  encode(checkRequest({ principal: WORKER, host: 'ledger.internal:8443', method: 'GET', path: '/v1/entries/1?x', function: 'refund-processing', routeFunction: 'refund-processing' })),
  encode(checkRequest({ principal: '', certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A', headers: { 'txn-token': 'a.b.c', 'x-forwarded-client-cert': 'URI=spiffe://x/y' } })),
  encode({ attributes: { request: { http: { method: 'GET', path: '/', header_map: { headers: [{ key: 'x-business-function', raw_value: Buffer.from('a') }] } } } } }),
  encode({}),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('varint' as const), at: fc.nat() }),
);

function mutate(seed: Buffer, ms: { kind: string; at: number; bit?: number; value?: number; bytes?: Uint8Array; len?: number }[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit!);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value!;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes!), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len!)]);
        break;
      case 'varint':
        // A length or tag that never ends, or claims far more than the buffer holds.
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at)]);
        break;
    }
  }
  return b;
}

const inputs: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 2 })).map(([s, ms]) => mutate(s, ms)) },
);

interface RawResult {
  code: number;
  value: Buffer | null;
  details: string;
}

let server: TestServer;
let raw: grpc.Client;
let client: EnvoyClient;

function send(bytes: Buffer): Promise<RawResult> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest<Buffer, Buffer>(
      METHOD,
      (b) => b,
      (b) => b,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, value) => resolve(err ? { code: err.code, value: null, details: err.details } : { code: 0, value: value ?? null, details: '' }),
    );
  });
}

beforeAll(async () => {
  server = await startTestServer(['--policies', POLICIES]);
  raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
  client = envoyClient(server.grpcAddress);
});
afterAll(async () => {
  raw?.close();
  client?.close();
  await server?.drain(2000);
});

describe('Check handler fuzzing with raw gRPC frames', () => {
  it('answers every message with RPC OK and a documented reason, undecodable ones with BAD_REQUEST', async () => {
    const samples = fc.sample(inputs, { numRuns: 2000, seed: 20261204 });
    let decoded = 0;
    let undecodable = 0;
    const reasons = new Set<string>();
    // Batches of 100 in flight: enough concurrency to interleave, bounded memory.
    for (let i = 0; i < samples.length; i += 100) {
      const batch = samples.slice(i, i + 100);
      const results = await Promise.all(batch.map((b) => send(b)));
      results.forEach((r, j) => {
        const bytes = batch[j]!;
        // SPEC 5: the RPC always succeeds, whatever the bytes.
        expect(r.code, `input ${bytes.toString('hex')} got RPC status ${r.code} ${r.details}`).toBe(0);
        const resp = check.responseDeserialize(r.value!) as Parameters<typeof responseHeaders>[0];
        const reason = resp.http_response === 'ok_response' ? 'ALLOWED' : responseHeaders(resp)['x-mandate-reason'];
        expect(REASON_CODES).toContain(reason);
        // An unexpected failure inside mandate would show up here as INTERNAL_ERROR.
        expect(reason).not.toBe('INTERNAL_ERROR');
        reasons.add(reason!);
        if (decodable(bytes)) {
          decoded++;
        } else {
          undecodable++;
          expect(reason, `undecodable input ${bytes.toString('hex')}`).toBe('BAD_REQUEST');
        }
      });
    }
    expect(decoded + undecodable).toBe(samples.length);
    // Both kinds are exercised in quantity.
    expect(decoded).toBeGreaterThan(samples.length / 8);
    expect(undecodable).toBeGreaterThan(samples.length / 8);
    expect(reasons.size).toBeGreaterThan(3);

    // Still responsive: a normal Check gets its normal answer.
    const after = await client.check(checkRequest({ principal: WORKER, destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api', method: 'POST', path: '/v1/payments/42/refund', function: 'refund-processing' }));
    expect(after.status.code).toBe(0);
    expect(after.http_response).toBe('ok_response');
  });

  it('survives large calls cancelled mid-flight', async () => {
    const big = Buffer.alloc(200_000, 0x0a);
    const calls: Promise<RawResult>[] = [];
    for (let i = 0; i < 20; i++) {
      calls.push(
        new Promise((resolve) => {
          const call = raw.makeUnaryRequest<Buffer, Buffer>(METHOD, (b) => b, (b) => b, big, new grpc.Metadata(), {}, (err) =>
            resolve({ code: err?.code ?? 0, value: null, details: '' }),
          );
          setImmediate(() => call.cancel());
        }),
      );
    }
    const results = await Promise.all(calls);
    for (const r of results) expect([grpc.status.CANCELLED, grpc.status.OK]).toContain(r.code);
    const after = await client.check(checkRequest({ principal: WORKER, function: 'refund-processing', host: 'docs.internal', path: '/a/' }));
    expect(responseHeaders(after)['x-mandate-name']).toBe('refund-worker');
  });
});
