/**
 * checkRequestJsonErrors: what `mandate check` accepts as a CheckRequest in proto3 JSON form,
 * row by row, against Envoy's official descriptors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRequestJsonErrors } from '../../src/envoy/check-request-json.js';
import { checkRequest } from '../helpers/envoy-client.js';

const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';

/** A request using most of what Envoy sends, in snake_case. */
const FULL = {
  attributes: {
    source: {
      address: { socket_address: { address: '10.0.0.1', port_value: 43210, protocol: 'TCP' } },
      principal: WORKER,
      certificate: '',
      labels: { app: 'refunds' },
    },
    destination: { address: { socketAddress: { address: '10.0.0.2', portValue: '8443' } }, principal: 'spiffe://prod.example.org/ns/payments/sa/payments-api' },
    request: {
      time: '2026-12-04T12:00:00.123456789Z',
      http: {
        id: '1234',
        method: 'POST',
        headers: { ':authority': 'payments.internal', 'x-business-function': 'refund-processing' },
        header_map: { headers: [{ key: 'x-a', value: 'b' }, { key: 'x-raw', raw_value: 'YWJj' }] },
        path: '/v1/payments/1/refund?x=1',
        host: 'payments.internal',
        scheme: 'https',
        size: '-1',
        protocol: 'HTTP/2',
        raw_body: '',
      },
    },
    context_extensions: { function: 'refund-processing' },
    metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { payload: { sub: 'x', n: [1, true, null] } } } },
    tls_session: { sni: 'payments.internal' },
  },
};

describe('CheckRequests that are proto3 JSON', () => {
  it.each([
    ['an empty object', {}],
    ['the full request (snake_case, camelCase, ints as strings)', FULL],
    ['null for any field', { attributes: { source: null, request: { http: { headers: null } } } }],
    ['a port as a number and as a numeric string', { attributes: { source: { address: { socket_address: { port_value: 0 } } }, destination: { address: { socket_address: { port_value: '4294967295' } } } } }],
    ['an enum by number', { attributes: { source: { address: { socket_address: { protocol: 1 } } } } }],
    ['URL-safe base64 without padding', { attributes: { request: { http: { raw_body: 'YW-_' } } } }],
    ['a Timestamp with an offset', { attributes: { request: { time: '2026-12-04T12:00:00+02:00' } } }],
    ['a Timestamp in lower case (RFC 3339 allows it)', { attributes: { request: { time: '2026-12-04t12:00:00z' } } }],
  ])('accepts %s', (_n, request) => {
    expect(checkRequestJsonErrors(request)).toEqual([]);
  });

  it('accepts every request the test helpers build (what the integration suites send)', () => {
    const built = [
      checkRequest({ principal: WORKER, destination: 'spiffe://x/y', method: 'POST', path: '/a', function: 'f', routeFunction: 'f', headers: { 'x-request-id': 'r' } }),
      checkRequest({ principal: '', certificate: '-----BEGIN%20CERTIFICATE-----%0A', host: 'h:1', headers: { 'txn-token': 'a.b.c' } }),
    ];
    for (const r of built) expect(checkRequestJsonErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
  });

  it('accepts every bundled example request', () => {
    const dir = new URL('../../examples/requests/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(checkRequestJsonErrors(JSON.parse(readFileSync(new URL(f, dir), 'utf8'))), f).toEqual([]);
  });
});

describe('CheckRequests that are not', () => {
  it.each([
    ['an unknown top-level field', { attrs: {} }, 'attrs: unknown field'],
    ['an unknown nested field', { attributes: { source: { principle: WORKER } } }, 'attributes.source.principle: unknown field'],
    ['a field given in both spellings', { attributes: { context_extensions: {}, contextExtensions: {} } }, 'attributes.contextExtensions: field context_extensions given twice (as context_extensions and contextExtensions)'],
    ['a number for a string', { attributes: { source: { principal: 5 } } }, 'attributes.source.principal: expected a string, got number'],
    ['an array for a message', { attributes: [] }, 'attributes: expected an object (AttributeContext), got array'],
    ['a string for a map', { attributes: { context_extensions: 'function=x' } }, 'attributes.context_extensions: expected an object (map), got string'],
    ['a number as a map value', { attributes: { context_extensions: { function: 1 } } }, 'attributes.context_extensions["function"]: expected a string, got number'],
    ['an object for a repeated field', { attributes: { request: { http: { header_map: { headers: { key: 'a' } } } } } }, 'attributes.request.http.header_map.headers: expected an array, got object'],
    ['a bad element of a repeated field', { attributes: { request: { http: { header_map: { headers: [{ key: 1 }] } } } } }, 'attributes.request.http.header_map.headers[0].key: expected a string, got number'],
    ['a uint32 out of range', { attributes: { source: { address: { socket_address: { port_value: 4294967296 } } } } }, 'attributes.source.address.socket_address.port_value: expected an integer in 0..4294967295'],
    ['a negative uint32', { attributes: { source: { address: { socket_address: { port_value: '-1' } } } } }, 'attributes.source.address.socket_address.port_value: expected an integer in 0..4294967295'],
    ['a fraction for an int64', { attributes: { request: { http: { size: 1.5 } } } }, 'attributes.request.http.size: expected an integer in -9223372036854775808..9223372036854775807'],
    ['an enum name the enum lacks', { attributes: { source: { address: { socket_address: { protocol: 'SCTP' } } } } }, 'attributes.source.address.socket_address.protocol: expected one of TCP, UDP'],
    ['bytes that are not base64', { attributes: { request: { http: { raw_body: 'not base64!' } } } }, 'attributes.request.http.raw_body: expected base64 text (bytes)'],
    ['a Timestamp without a zone', { attributes: { request: { time: '2026-12-04T12:00:00' } } }, 'attributes.request.time: expected an RFC 3339 date-time string (Timestamp)'],
    ['a Timestamp with no such day', { attributes: { request: { time: '2026-13-45T12:00:00Z' } } }, 'attributes.request.time: expected an RFC 3339 date-time string (Timestamp)'],
    ['a Timestamp as a number', { attributes: { request: { time: 1764849600 } } }, 'attributes.request.time: expected an RFC 3339 date-time string (Timestamp)'],
    ['a Struct that is a string', { attributes: { metadata_context: { filter_metadata: { a: 'b' } } } }, 'attributes.metadata_context.filter_metadata["a"]: expected an object (Struct), got string'],
    ['an Any without @type', { attributes: { metadata_context: { typed_filter_metadata: { a: {} } } } }, 'attributes.metadata_context.typed_filter_metadata["a"]: expected an object with an "@type" string (Any)'],
  ])('rejects %s', (_n, request, error) => {
    expect(checkRequestJsonErrors(request)).toEqual([error]);
  });

  it('reports every problem up to ten, each with its path', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`bogus${i}`, i]));
    const errors = checkRequestJsonErrors(many);
    expect(errors).toHaveLength(10);
    expect(errors[0]).toBe('bogus0: unknown field');
    expect(checkRequestJsonErrors({ attributes: { source: { principal: 1 }, destination: { principal: 2 } } })).toEqual([
      'attributes.source.principal: expected a string, got number',
      'attributes.destination.principal: expected a string, got number',
    ]);
  });
});
