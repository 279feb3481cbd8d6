/**
 * decodeCheckRequest against the oracle, proto-loader's full deserialize (protobufjs):
 * for every input the result is the oracle's object restricted to the fields facts.ts
 * reads, or the oracle's own exception. Rows name the wire cases where protobufjs reads
 * differently from a plain protobuf walk; generated requests cover the rest; mutated and
 * random frames check that malformed input behaves exactly as before.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequest, type RequestParts } from '../helpers/envoy-client.js';
import {
  createCheckRequestDecoder,
  decodeCheckRequest,
  UNDECODABLE_CHECK_REQUEST,
  decodesWithoutFallback,
  fullDecodeCheckRequest,
  prepareCheckRequestCodec,
} from '../../src/envoy/check-request-codec.js';
import { extractFacts, factsHeaderNames, type HeaderNames } from '../../src/envoy/facts.js';
import { loadExtAuthzDefinition } from '../../src/envoy/protos.js';
import { fixed32, fixed64, group, len, mapEntry, msg, num, shuffle, tag, varint } from './wire.js';

type Obj = Record<string, any>;

const check = (loadExtAuthzDefinition()['envoy.service.auth.v3.Authorization'] as Obj)['Check'];
const encode = (req: unknown): Buffer => check.requestSerialize(req);
const NAMES: HeaderNames = { functionHeader: 'x-business-function', tokenHeader: 'txn-token' };
const OTHER_NAMES: HeaderNames = { functionHeader: 'x-fn', tokenHeader: 'authorization' };
/** The server's decoders: only the headers extractFacts reads with these names. */
const FILTERED = new Map([NAMES, OTHER_NAMES].map((n) => [n, createCheckRequestDecoder(factsHeaderNames(n))] as const));

function pick(from: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(from, k)) out[k] = from[k];
  return out;
}

/** The oracle's object restricted to the fields the fast decoder emits. */
function project(full: Obj): Obj {
  const out: Obj = {};
  const a = full['attributes'];
  if (a === undefined) return out;
  const o: Obj = {};
  if (a.source !== undefined) o['source'] = pick(a.source, ['principal', 'certificate']);
  if (a.destination !== undefined) o['destination'] = pick(a.destination, ['principal']);
  if (a.request !== undefined) {
    const r: Obj = {};
    const h = a.request.http;
    if (h !== undefined) {
      const ho = pick(h, ['method', 'path', 'host', 'headers']);
      if (h.header_map !== undefined) {
        ho['header_map'] = h.header_map.headers === undefined ? {} : { headers: h.header_map.headers.map((v: Obj) => pick(v, ['key', 'value', 'raw_value'])) };
      }
      r['http'] = ho;
    }
    o['request'] = r;
  }
  if (a.context_extensions !== undefined) o['context_extensions'] = a.context_extensions;
  out['attributes'] = o;
  return out;
}

type Outcome = { ok: true; value: Obj } | { ok: false; error: string };
function outcome(f: () => unknown): Outcome {
  try {
    return { ok: true, value: f() as Obj };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

/** Null when the fast decoder agrees with the oracle on `bytes`, else what differs. */
function disagreement(bytes: Buffer): string | null {
  const full = outcome(() => fullDecodeCheckRequest(bytes));
  const mine = outcome(() => decodeCheckRequest(bytes));
  if (!full.ok) {
    if (!isDeepStrictEqual(mine, full)) return `oracle threw ${full.error}, fast gave ${JSON.stringify(mine)}`;
    // The server's decoder never throws into grpc-js: it hands the handler the marker instead.
    for (const decode of FILTERED.values()) {
      const filtered = outcome(() => decode(bytes));
      if (!filtered.ok || filtered.value !== UNDECODABLE_CHECK_REQUEST) return `oracle threw ${full.error}, server decoder gave ${JSON.stringify(filtered)}`;
    }
    return null;
  }
  if (!mine.ok) return `oracle decoded, fast threw ${mine.error}`;
  // The fast path gives the restricted object; a fallback gives proto-loader's own.
  const want = decodesWithoutFallback(bytes) ? project(full.value) : full.value;
  if (!isDeepStrictEqual(mine.value, want)) return `objects differ: ${JSON.stringify(mine.value)} vs ${JSON.stringify(want)}`;
  for (const names of [NAMES, OTHER_NAMES]) {
    const facts = extractFacts(full.value, names);
    if (!isDeepStrictEqual(extractFacts(mine.value, names), facts)) return 'facts differ';
    // The server's decoder leaves out headers the decision does not read: same facts.
    const filtered = outcome(() => FILTERED.get(names)!(bytes));
    if (!filtered.ok) return `oracle decoded, filtered decoder threw ${filtered.error}`;
    if (!isDeepStrictEqual(extractFacts(filtered.value, names), facts)) return `facts differ with headers filtered for ${names.functionHeader}`;
  }
  return null;
}

/** Asserts agreement and which path the frame took. */
function expectAgreement(bytes: Buffer, path: 'fast' | 'fallback'): void {
  expect(disagreement(bytes)).toBeNull();
  expect(decodesWithoutFallback(bytes) ? 'fast' : 'fallback').toBe(path);
}

// --- What Envoy sends, as the integration and hostile suites build it -----------------

const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';
const REFUND: RequestParts = { principal: WORKER, destination: PAYMENTS, method: 'POST', path: '/v1/payments/42/refund', function: 'refund-processing' };

/** The shape of a request from Envoy's HTTP filter with everything it fills in. */
const ENVOY_FULL = {
  attributes: {
    source: { address: { socket_address: { address: '10.12.4.21', port_value: 51234 } }, principal: WORKER, certificate: 'PEM%20TEXT' },
    destination: { address: { socket_address: { address: '10.12.7.9', port_value: 8080 } }, principal: PAYMENTS, service: 'payments' },
    request: {
      time: { seconds: '1780000000', nanos: 123 },
      http: {
        id: '9418513357891302721',
        method: 'POST',
        headers: { ':authority': 'payments.internal', ':method': 'POST', ':path': '/v1/payments/42/refund', 'x-request-id': 'r-1', 'x-business-function': 'refund-processing' },
        path: '/v1/payments/42/refund',
        host: 'payments.internal',
        scheme: 'https',
        query: 'a=1',
        size: '-1',
        protocol: 'HTTP/2',
        body: 'x',
        raw_body: Buffer.from([0, 1, 2]),
      },
    },
    context_extensions: { function: 'refund-processing', other: 'x' },
    metadata_context: {
      filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'a' }, n: { numberValue: 1.5 }, ok: { boolValue: true }, z: { nullValue: 'NULL_VALUE' }, l: { listValue: { values: [{ stringValue: 'x' }, { structValue: { fields: {} } }] } } } } },
      typed_filter_metadata: { t: { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([10, 0]) } },
    },
    route_metadata_context: { filter_metadata: {} },
    tls_session: { sni: 'payments.internal' },
  },
};

const ENCODED_ROWS: [string, unknown][] = [
  ['an allowed refund', checkRequest(REFUND)],
  ['a deny for another domain', checkRequest({ principal: 'spiffe://evil.example.org/ns/ai/sa/support-agent', host: 'tickets.internal', function: 'ticket-read' })],
  ['a certificate and no principal', checkRequest({ principal: '', certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A' })],
  ['a route function', checkRequest({ ...REFUND, routeFunction: 'refund-processing' })],
  ['no http', checkRequest({ ...REFUND, noHttp: true })],
  ['a 60 KiB header', checkRequest({ ...REFUND, headers: { 'x-big': 'a'.repeat(60 * 1024) } })],
  ['a thousand headers', checkRequest({ ...REFUND, headers: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-h-${i}`, `v${i}`])) })],
  ['tokens and xfcc', checkRequest({ ...REFUND, headers: { 'txn-token': 'a.b.c', 'x-forwarded-client-cert': 'URI=spiffe://x/y', authorization: 'Bearer e30.e30.' } })],
  ['unicode everywhere', checkRequest({ ...REFUND, path: '/v1/ünïcødé/😀', headers: { 'x-business-function': 'réfund' } })],
  ['raw headers in header_map', { attributes: { request: { http: { method: 'GET', path: '/', header_map: { headers: [{ key: 'x-business-function', raw_value: Buffer.from('a') }, { key: ':authority', value: 'h' }, { key: 'empty', raw_value: Buffer.alloc(0) }] } } } } }],
  ['an empty header_map', { attributes: { request: { http: { header_map: {} } } } }],
  ['empty sub-messages', { attributes: { source: {}, destination: {}, request: { http: {} } } }],
  ['an empty request', {}],
  ['everything Envoy fills in', ENVOY_FULL],
];

describe('decodeCheckRequest: requests as Envoy and the test suites send them', () => {
  it('prepares against the official protos (field numbers checked)', () => {
    expect(() => prepareCheckRequestCodec()).not.toThrow();
  });

  it.each(ENCODED_ROWS)('%s', (_name, request) => {
    expectAgreement(encode(request), 'fast');
  });
});

// --- Wire cases where protobufjs's reading is the question ----------------------------

const P = (s: string): Buffer => len(4, s); // Peer.principal
const attrs = (...parts: Buffer[]): Buffer => len(1, msg(...parts));
const http = (...parts: Buffer[]): Buffer => attrs(len(4, len(2, msg(...parts))));
const hv = (...parts: Buffer[]): Buffer => len(1, msg(...parts)); // HeaderMap.headers[]
const headerMap = (...values: Buffer[]): Buffer => http(len(13, msg(...values)));

const WIRE_ROWS: [string, Buffer, 'fast' | 'fallback'][] = [
  // Repetition: a sub-message seen twice replaces the first (protobufjs does not merge).
  ['attributes twice', msg(attrs(len(1, P('a'))), attrs(len(2, P('b')))), 'fast'],
  ['source twice', attrs(len(1, msg(P('a'), len(5, 'cert'))), len(1, P('b'))), 'fast'],
  ['principal twice', attrs(len(1, msg(P('a'), P('b')))), 'fast'],
  ['http twice', msg(http(len(2, 'GET')), http(len(4, '/p'))), 'fast'],
  ['header_map twice', http(len(13, hv(len(1, 'a'))), len(13, hv(len(1, 'b')))), 'fast'],
  ['a header key repeated in the map', http(mapEntry(3, 'k', '1'), mapEntry(3, 'k', '2'), mapEntry(3, 'j', '3')), 'fast'],
  ['a map entry without its key', http(mapEntry(3, undefined, 'v')), 'fast'],
  ['a map entry without its value', http(mapEntry(3, 'k', undefined)), 'fast'],
  ['an empty map entry', attrs(mapEntry(10, undefined, undefined)), 'fast'],
  ['a map entry with value before key and an unknown field', http(len(3, msg(len(2, 'v'), num(9, 1), len(1, 'k')))), 'fast'],
  ['a map entry with its key twice', attrs(len(10, msg(len(1, 'a'), len(2, 'v'), len(1, 'function')))), 'fast'],
  ['a __proto__ header key', http(mapEntry(3, '__proto__', 'x'), mapEntry(3, ':path', '/')), 'fallback'],
  ['a __proto__ context extension', attrs(mapEntry(10, '__proto__', 'x')), 'fallback'],
  ['a __proto__ label (skipped map)', attrs(len(1, mapEntry(3, '__proto__', 'x'))), 'fallback'],
  ['header values: key, value and raw bytes', headerMap(hv(len(1, 'k'), len(2, 'v'), len(3, Buffer.from([0xff, 0])))), 'fast'],
  ['a header value with empty raw bytes', headerMap(hv(len(1, 'k'), len(3, Buffer.alloc(0)))), 'fast'],
  ['an empty header value', headerMap(hv()), 'fast'],
  // Strings that are not UTF-8: protobufjs reads Buffers with Buffer's own decoder.
  ['invalid UTF-8 in the principal', attrs(len(1, len(4, Buffer.from([0x73, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80])))), 'fast'],
  ['invalid UTF-8 in a header key and value', http(mapEntry(3, Buffer.from([0xc0, 0xaf]), Buffer.from([0xf0, 0x9f, 0x98]))), 'fast'],
  ['a NUL in the path', http(len(4, Buffer.from('/a\0b'))), 'fast'],
  // Unknown fields of every wire type, at every level.
  ['unknown fields of each wire type', msg(num(100, 5), fixed64(101), len(102, 'x'), group(103, msg(num(1, 1), len(2, 'y'), group(4, fixed32(5)))), fixed32(104), attrs(num(99, 1n << 63n), len(1, msg(fixed32(77), P('a'))))), 'fast'],
  ['field number 0 (protobufjs skips it)', msg(num(0, 1), attrs(len(1, P('a')))), 'fast'],
  ['the largest field number', msg(num(536870911, 1), attrs(len(1, P('a')))), 'fast'],
  ['an end-group tag closing a group with another number', msg(tag(100, 3), num(1, 1), tag(7, 4), attrs()), 'fast'],
  ['an end-group tag on its own', msg(tag(100, 4), attrs()), 'fallback'],
  ['wire type 6', msg(tag(100, 6), attrs()), 'fallback'],
  ['wire type 7', msg(tag(100, 7)), 'fallback'],
  ['a group never closed', msg(tag(100, 3), num(1, 1)), 'fallback'],
  // Declared fields with the wrong wire type: protobufjs reads them as declared.
  ['attributes as a varint', msg(num(1, 0)), 'fallback'],
  ['principal as fixed32', attrs(len(1, fixed32(4))), 'fallback'],
  ['http.size (int64) as a string', http(len(9, '12')), 'fallback'],
  ['http.id (string) as a varint', http(num(1, 3)), 'fallback'],
  ['a header map entry as a varint', http(num(3, 3)), 'fallback'],
  ['a map key as a varint', http(len(3, msg(num(1, 3), len(2, 'v')))), 'fallback'],
  // Varints: protobufjs's 32-bit reader takes at most 5 bytes, the 64-bit one 10.
  ['http.size as a ten-byte varint', http(num(9, -1n)), 'fast'],
  ['nanos (int32) negative: a ten-byte varint', attrs(len(4, len(1, num(2, -1)))), 'fallback'],
  ['a tag padded to five bytes', msg(Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x00]), varint(0)), 'fast'],
  ['a tag whose fifth byte has high bits', msg(Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x70]), varint(0)), 'fast'],
  ['a tag of six bytes', msg(Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x80, 0x00]), varint(0)), 'fallback'],
  ['a length padded to five bytes', msg(Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x00])), 'fast'],
  ['an eleven-byte unknown varint', msg(tag(100, 0), Buffer.from([...Array(10).fill(0xff), 0x01]), attrs()), 'fast'],
  // Skipped sub-messages are walked with their schema.
  ['metadata with a struct', attrs(len(11, mapEntry(1, 'f', mapEntry(1, 'k', len(3, 'v'))))), 'fast'],
  ['metadata entry without its Struct value', attrs(len(11, len(1, len(1, 'f')))), 'fallback'],
  ['a struct value with a wrong wire type inside', attrs(len(11, mapEntry(1, 'f', mapEntry(1, 'k', num(3, 1))))), 'fallback'],
  ['a timestamp with a string for seconds', attrs(len(4, len(1, len(1, 'x')))), 'fallback'],
  ['deeply nested list values', attrs(len(11, mapEntry(1, 'f', len(1, msg(len(1, 'k'), len(2, nestLists(60))))))), 'fallback'],
  ['nested list values within the limit', attrs(len(11, mapEntry(1, 'f', len(1, msg(len(1, 'k'), len(2, nestLists(10))))))), 'fast'],
  ['deeply nested groups', msg(nestGroups(40), attrs()), 'fallback'],
  ['a packed repeated scalar? none is reachable: unknown packed bytes', msg(len(100, Buffer.from([1, 2, 3]))), 'fast'],
  // Truncation and lengths past the end.
  ['a truncated tag', Buffer.from([0x8a]), 'fallback'],
  ['a length past the end', Buffer.from([0x0a, 0x05, 0x0a]), 'fallback'],
  ['a sub-message overrunning its parent', msg(len(1, Buffer.from([0x0a, 0x05, 0x22, 0x01, 0x61])), len(100, 'xx')), 'fallback'],
  ['a string overrunning its message (protobufjs clamps it)', msg(Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x22, 0x05, 0x61])), 'fallback'],
  ['a truncated fixed64', msg(tag(100, 1), Buffer.from([1, 2, 3])), 'fallback'],
  ['a truncated varint field', msg(tag(100, 0), Buffer.from([0x80])), 'fallback'],
];

function nestLists(depth: number): Buffer {
  // Value{list_value: ListValue{values: [Value{...}]}}
  let v = len(3, 'leaf');
  for (let i = 0; i < depth; i++) v = len(6, len(1, v));
  return v;
}

function nestGroups(depth: number): Buffer {
  let g = num(1, 1);
  for (let i = 0; i < depth; i++) g = group(100, g);
  return g;
}

describe('decodeCheckRequest: wire cases', () => {
  it.each(WIRE_ROWS)('%s', (_name, bytes, path) => {
    expectAgreement(bytes, path);
  });

  it('returns the right string when many short strings share the decoder\'s string table', () => {
    // 5,000 distinct ASCII values for a 2,048-slot table: slots are shared (pigeonhole), so
    // a wrong hit would show as a wrong value. Each is decoded twice, in two orders.
    const values = Array.from({ length: 5000 }, (_, i) => `v${(i * 7919).toString(36)}`);
    const frameOf = (v: string): Buffer => attrs(len(1, P(v)), len(4, len(2, mapEntry(3, v, v))));
    for (const order of [values, values.slice().reverse()]) {
      for (const v of order) {
        const got = decodeCheckRequest(frameOf(v)) as Obj;
        expect(got['attributes'].source.principal).toBe(v);
        expect(got['attributes'].request.http.headers).toStrictEqual({ [v]: v });
      }
    }
  });

  it('falls back for a Uint8Array that is not a Buffer (protobufjs then decodes UTF-8 itself)', () => {
    const bytes = encode(checkRequest(REFUND));
    const u8 = new Uint8Array(bytes);
    expect(decodeCheckRequest(u8 as Buffer)).toEqual(fullDecodeCheckRequest(u8 as Buffer));
  });
});

// --- Generated requests ----------------------------------------------------------------

const notProto = (s: string | Uint8Array): boolean => Buffer.from(s).toString('latin1') !== '__proto__';
const text = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', WORKER, PAYMENTS, 'GET', '/v1/payments/42/refund'),
);
/** A string field's bytes: text, or anything (invalid UTF-8 included). */
const strBytes = fc.oneof(text, fc.uint8Array({ maxLength: 12 })).filter(notProto);
const headerKey = fc.oneof(fc.constantFrom(':authority', ':method', ':path', 'x-request-id', 'x-business-function', 'txn-token', 'authorization', 'x-forwarded-client-cert', 'X-Business-Function'), strBytes);

const unknownLeaf = fc.oneof(
  fc.tuple(fc.integer({ min: 100, max: 536870911 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([n, v]) => num(n, v)),
  fc.tuple(fc.integer({ min: 100, max: 100000 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([n, b]) => fixed64(n, b)),
  fc.tuple(fc.integer({ min: 100, max: 100000 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([n, b]) => fixed32(n, b)),
  fc.tuple(fc.integer({ min: 100, max: 100000 }), fc.uint8Array({ maxLength: 16 })).map(([n, b]) => len(n, b)),
);
const unknownField = fc.oneof(unknownLeaf, fc.tuple(fc.integer({ min: 100, max: 100000 }), fc.array(unknownLeaf, { maxLength: 3 })).map(([n, inner]) => group(n, msg(...inner))));
const unknowns = fc.array(unknownField, { maxLength: 2 });
const seed = fc.integer();

/** Fields of a message (each a complete encoded field), shuffled, with unknown ones mixed in. */
function fields(parts: fc.Arbitrary<Buffer[]>): fc.Arbitrary<Buffer> {
  return fc.tuple(parts, unknowns, seed).map(([p, u, s]) => msg(...shuffle([...p, ...u], s)));
}
const some = <T>(a: fc.Arbitrary<T>, max = 2): fc.Arbitrary<T[]> => fc.array(a, { maxLength: max });

const address = fields(fc.tuple(fc.option(text), fc.option(fc.integer({ min: 0, max: 65535 }))).map(([a, p]) => [
  len(1, msg(...(a === null ? [] : [len(2, a)]), ...(p === null ? [] : [num(3, p)]))),
]));
const peer = fields(
  fc.tuple(some(strBytes), some(strBytes), some(address, 1), some(text, 1), some(fc.tuple(strBytes, text), 2)).map(([pr, cert, addr, svc, labels]) => [
    ...pr.map((v) => len(4, v)),
    ...cert.map((v) => len(5, v)),
    ...addr.map((a) => len(1, a)),
    ...svc.map((v) => len(2, v)),
    ...labels.map(([k, v]) => mapEntry(3, k, v)),
  ]),
);
const headerValue = fields(
  fc.tuple(some(headerKey, 1), some(strBytes, 1), some(fc.uint8Array({ maxLength: 10 }), 1)).map(([k, v, raw]) => [
    ...k.map((x) => len(1, x)),
    ...v.map((x) => len(2, x)),
    ...raw.map((x) => len(3, x)),
  ]),
);
const headerMapArb = fields(some(headerValue, 6).map((vs) => vs.map((v) => len(1, v))));
const httpArb = fields(
  fc
    .tuple(
      some(strBytes, 2),
      some(strBytes, 2),
      some(strBytes, 2),
      some(fc.tuple(fc.option(headerKey), fc.option(strBytes)), 8),
      some(headerMapArb, 2),
      fc.option(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })),
      some(text, 1),
      some(fc.uint8Array({ maxLength: 8 }), 1),
    )
    .map(([method, path, host, headers, hm, size, id, rawBody]) => [
      ...method.map((v) => len(2, v)),
      ...path.map((v) => len(4, v)),
      ...host.map((v) => len(5, v)),
      ...headers.map(([k, v]) => mapEntry(3, k ?? undefined, v ?? undefined)),
      ...hm.map((m) => len(13, m)),
      ...(size === null ? [] : [num(9, size)]),
      ...id.map((v) => len(1, v)),
      ...rawBody.map((v) => len(12, v)),
    ]),
);
const timestamp = fields(fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.integer({ min: 0, max: 999999999 })).map(([s, n]) => [num(1, s), num(2, n)]));
const requestArb = fields(fc.tuple(some(httpArb), some(timestamp, 1)).map(([h, t]) => [...h.map((x) => len(2, x)), ...t.map((x) => len(1, x))]));
const structValue = fc.oneof(text.map((s) => len(3, s)), fc.boolean().map((b) => num(4, b ? 1 : 0)), fc.constant(num(1, 0)), fc.constant(fixed64(2)));
const metadata = some(fc.tuple(text, some(fc.tuple(text, structValue), 3)), 2).map((entries) =>
  msg(...entries.filter(([k]) => notProto(k)).map(([k, fs]) => mapEntry(1, k, msg(...fs.filter(([fk]) => notProto(fk)).map(([fk, v]) => mapEntry(1, fk, v)))))),
);
const attributesArb = fields(
  fc
    .tuple(some(peer), some(peer), some(requestArb), some(fc.tuple(fc.option(fc.oneof(fc.constant('function'), strBytes)), fc.option(strBytes)), 3), some(metadata, 1), some(text, 1))
    .map(([src, dst, req, ext, meta, sni]) => [
      ...src.map((p) => len(1, p)),
      ...dst.map((p) => len(2, p)),
      ...req.map((r) => len(4, r)),
      ...ext.map(([k, v]) => mapEntry(10, k ?? undefined, v ?? undefined)),
      ...meta.map((m) => len(11, m)),
      ...sni.map((s) => len(12, len(1, s))),
    ]),
);
const checkRequestArb = fields(some(attributesArb).map((as) => as.map((a) => len(1, a))));

describe('decodeCheckRequest: generated requests', () => {
  it('equals the oracle and stays on the fast path (fields shuffled, repeated, unknown ones interleaved)', () => {
    fc.assert(
      fc.property(checkRequestArb, (bytes) => {
        expect(disagreement(bytes)).toBeNull();
        expect(decodesWithoutFallback(bytes)).toBe(true);
      }),
      { numRuns: 400, seed: Number(process.env['FC_SEED'] ?? 9) },
    );
  });
});

// --- Mutated and random frames -----------------------------------------------------------

function mutate(b0: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(b0);
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const at = b.length === 0 ? 0 : Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 6)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
        break;
      case 1:
        if (b.length > 0) b[at] = Math.floor(rnd() * 256);
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 256))), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rnd() * 8))]);
        break;
      default:
        // A tag with a random field number and wire type.
        b = Buffer.concat([b.subarray(0, at), tag(Math.floor(rnd() * 20), Math.floor(rnd() * 8)), b.subarray(at)]);
    }
  }
  return b;
}

describe('decodeCheckRequest: 2,000 mutated and random frames', () => {
  it('has the oracle outcome on each: the same object, or the same exception', () => {
    const seeds = [...ENCODED_ROWS.map(([, r]) => encode(r)).filter((b) => b.length < 4096), ...fc.sample(checkRequestArb, { numRuns: 40, seed: 3 })];
    let s = 12345;
    const rnd = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 4294967296;
    };
    const frames: Buffer[] = [];
    for (let i = 0; i < 1600; i++) frames.push(mutate(seeds[i % seeds.length]!, rnd));
    for (let i = 0; i < 400; i++) frames.push(Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))));
    const problems: string[] = [];
    let fast = 0;
    let oracleThrew = 0;
    for (const [i, f] of frames.entries()) {
      const d = disagreement(f);
      if (d !== null && problems.length < 5) problems.push(`frame ${i} ${f.toString('hex')}: ${d}`);
      if (decodesWithoutFallback(f)) fast++;
      if (!outcome(() => fullDecodeCheckRequest(f)).ok) oracleThrew++;
    }
    expect(problems).toEqual([]);
    // The set exercises both paths: decodable frames the fast decoder took, and frames
    // proto-loader rejects (which always fall back).
    expect(fast).toBeGreaterThan(300);
    expect(oracleThrew).toBeGreaterThan(300);
  });
});

// --- The server's decoder: only the headers the decision reads --------------------------

describe('createCheckRequestDecoder: headers the decision does not read are left out', () => {
  const decode = FILTERED.get(NAMES)!;
  const request = checkRequest({ ...REFUND, headers: { 'user-agent': 'curl/8', 'x-envoy-expected-rq-timeout-ms': '200', 'x-request-id': 'r-1', 'txn-token': 'abc' } });

  it('keeps exactly the wanted headers of the headers map', () => {
    const http = (decode(encode(request)) as Obj)['attributes'].request.http;
    for (const k of Object.keys(http.headers)) expect(factsHeaderNames(NAMES)).toContain(k);
    expect(http.headers).toMatchObject({ 'x-request-id': 'r-1', 'txn-token': 'abc', 'x-business-function': 'refund-processing' });
    expect(http.headers['user-agent']).toBeUndefined();
    expect(extractFacts(decode(encode(request)), NAMES)).toEqual(extractFacts(fullDecodeCheckRequest(encode(request)), NAMES));
  });

  it('keeps wanted raw headers whatever their case, and leaves out the others', () => {
    const bytes = headerMap(hv(len(1, 'X-Business-Function'), len(3, 'refund')), hv(len(1, 'user-agent'), len(2, 'curl')), hv(len(1, ':path'), len(2, '/a')));
    const http = (decode(bytes) as Obj)['attributes'].request.http;
    expect(http.header_map.headers.map((h: Obj) => h['key'])).toEqual(['X-Business-Function', ':path']);
    expect(extractFacts(decode(bytes), NAMES)).toEqual(extractFacts(fullDecodeCheckRequest(bytes), NAMES));
  });

  it('matches raw header names as facts.ts does, with String.prototype.toLowerCase', () => {
    // U+212A KELVIN SIGN lower-cases to "k": facts.ts finds this as the txn-token header.
    const bytes = headerMap(hv(len(1, 'TXN-TO\u212AEN'), len(2, 'tok')), hv(len(1, 'x-b3-spanid'), len(2, 'e4')));
    expect(extractFacts(fullDecodeCheckRequest(bytes), NAMES).taskToken).toBe('tok');
    expect(extractFacts(decode(bytes), NAMES).taskToken).toBe('tok');
    expect((decode(bytes) as Obj)['attributes'].request.http.header_map.headers).toHaveLength(1);
  });

  it('takes the full decode when a request carries both headers and header_map', () => {
    const bytes = http(mapEntry(3, 'user-agent', 'curl'), len(13, msg(hv(len(1, 'x-business-function'), len(2, 'refund')))));
    expect(decode(bytes)).toEqual(fullDecodeCheckRequest(bytes));
    expect(extractFacts(decode(bytes), NAMES).functionHeader).toBe(extractFacts(fullDecodeCheckRequest(bytes), NAMES).functionHeader);
  });
});
