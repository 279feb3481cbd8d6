/**
 * CheckRequest → RequestFacts. Reads only what the decision needs, defensively: the input
 * is either a message decoded by grpc-js (snake_case, right types) or proto3 JSON given
 * to `mandate check` (lowerCamelCase allowed, any type possible). A field of the wrong
 * type counts as absent; nothing here throws.
 */
import type { RequestFacts } from '../decision/types.js';

export interface HeaderNames {
  /** Lower-case name of the business-function header. */
  readonly functionHeader: string;
  /** Lower-case name of the task-token header. */
  readonly tokenHeader: string;
}

type Obj = Record<string, unknown>;

// Each field is read by name at its own site, snake_case first and lowerCamelCase only when
// absent: a shared `obj(parent, key)` helper made every read a megamorphic keyed load, ~20%
// of an in-process decision in benchmarks/inproc-mandate.mjs's profile.
function asObj(v: unknown): Obj | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

function asStr(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function headerValue(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return null;
}

/**
 * Envoy sends headers either as `headers` (map, duplicates joined with ',') or, with
 * `encode_raw_headers: true`, as `header_map.headers[]` with byte values and duplicates
 * kept apart. Both become one lower-case-keyed view; duplicates are joined with ',' as
 * Envoy itself would, so the function-conflict rule sees them.
 */
function readHeaders(http: Obj): Map<string, string> | Obj | null {
  const map = asObj(http.headers);
  if (map !== null && hasKeys(map)) return map;
  const hm = asObj(http.header_map ?? http.headerMap);
  const list = hm === null ? null : hm['headers'];
  if (!Array.isArray(list)) return map;
  const out = new Map<string, string>();
  for (const h of list) {
    if (h === null || typeof h !== 'object') continue;
    const key = (h as Obj)['key'];
    if (typeof key !== 'string') continue;
    const raw = (h as Obj)['raw_value'] ?? (h as Obj)['rawValue'];
    let value = headerValue((h as Obj)['value']);
    if ((value === null || value === '') && raw !== undefined) {
      // proto3 JSON carries bytes as base64.
      value = typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8') : headerValue(raw);
    }
    if (value === null) continue;
    const k = key.toLowerCase();
    const prev = out.get(k);
    out.set(k, prev === undefined ? value : prev + ',' + value);
  }
  return out;
}

/** Object.keys(o).length > 0 without building the array. */
function hasKeys(o: Obj): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

function get(headers: Map<string, string> | Obj | null, name: string): string | null {
  if (headers === null) return null;
  if (headers instanceof Map) return headers.get(name) ?? null;
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}

// The fixed headers extractFacts reads, named once: factsHeaderNames() lists them for the
// server's decoder, which drops every other header, so a read added here must be added there.
const AUTHORITY = ':authority';
const METHOD = ':method';
const PATH = ':path';
const REQUEST_ID = 'x-request-id';
const XFCC = 'x-forwarded-client-cert';
const AUTHORIZATION = 'authorization';

/** Every header extractFacts reads, lower case: the server's decoder keeps only these. */
export function factsHeaderNames(names: HeaderNames): string[] {
  return [AUTHORITY, METHOD, PATH, REQUEST_ID, XFCC, AUTHORIZATION, names.functionHeader, names.tokenHeader];
}

export function extractFacts(request: unknown, names: HeaderNames): RequestFacts {
  const r = asObj(request);
  const attributes = r === null ? null : asObj(r.attributes);
  const source = attributes === null ? null : asObj(attributes.source);
  const destination = attributes === null ? null : asObj(attributes.destination);
  const req = attributes === null ? null : asObj(attributes.request);
  const http = req === null ? null : asObj(req.http);
  const ext = attributes === null ? null : asObj(attributes.context_extensions ?? attributes.contextExtensions);
  const routeFunction = ext === null ? null : typeof ext.function === 'string' ? ext.function : null;

  const headers = http === null ? null : readHeaders(http);
  let host = http === null ? '' : asStr(http.host);
  if (host === '') host = get(headers, AUTHORITY) ?? '';
  let method = http === null ? '' : asStr(http.method);
  if (method === '') method = get(headers, METHOD) ?? '';
  let path = http === null ? '' : asStr(http.path);
  if (path === '') path = get(headers, PATH) ?? '';

  return {
    hasHttp: http !== null,
    principal: source === null ? '' : asStr(source.principal),
    certificate: source === null ? '' : asStr(source.certificate),
    destinationPrincipal: destination === null ? '' : asStr(destination.principal),
    host,
    method,
    path,
    requestId: get(headers, REQUEST_ID),
    xfcc: get(headers, XFCC),
    authorization: get(headers, AUTHORIZATION),
    functionHeader: get(headers, names.functionHeader),
    routeFunction,
    taskToken: get(headers, names.tokenHeader),
  };
}
