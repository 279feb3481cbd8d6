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

function obj(parent: unknown, snake: string, camel: string): Obj | null {
  if (parent === null || typeof parent !== 'object') return null;
  const p = parent as Obj;
  const v = p[snake] ?? p[camel];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

function str(parent: Obj | null, snake: string, camel: string): string {
  if (parent === null) return '';
  const v = parent[snake] ?? parent[camel];
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
  const map = obj(http, 'headers', 'headers');
  if (map !== null && Object.keys(map).length > 0) return map;
  const hm = obj(http, 'header_map', 'headerMap');
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

function get(headers: Map<string, string> | Obj | null, name: string): string | null {
  if (headers === null) return null;
  if (headers instanceof Map) return headers.get(name) ?? null;
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}

export function extractFacts(request: unknown, names: HeaderNames): RequestFacts {
  const attributes = obj(request, 'attributes', 'attributes');
  const source = obj(attributes, 'source', 'source');
  const destination = obj(attributes, 'destination', 'destination');
  const req = obj(attributes, 'request', 'request');
  const http = obj(req, 'http', 'http');
  const ext = obj(attributes, 'context_extensions', 'contextExtensions');
  const routeFunction = ext === null ? null : typeof ext['function'] === 'string' ? (ext['function'] as string) : null;

  const headers = http === null ? null : readHeaders(http);
  let host = str(http, 'host', 'host');
  if (host === '') host = get(headers, ':authority') ?? '';
  let method = str(http, 'method', 'method');
  if (method === '') method = get(headers, ':method') ?? '';
  let path = str(http, 'path', 'path');
  if (path === '') path = get(headers, ':path') ?? '';

  return {
    hasHttp: http !== null,
    principal: str(source, 'principal', 'principal'),
    certificate: str(source, 'certificate', 'certificate'),
    destinationPrincipal: str(destination, 'principal', 'principal'),
    host,
    method,
    path,
    requestId: get(headers, 'x-request-id'),
    xfcc: get(headers, 'x-forwarded-client-cert'),
    authorization: get(headers, 'authorization'),
    functionHeader: get(headers, names.functionHeader),
    routeFunction,
    taskToken: get(headers, names.tokenHeader),
  };
}
