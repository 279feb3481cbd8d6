/**
 * Path, host, method and business-function tricks (SPEC sections 2, 5, 6) against the
 * running server over gRPC. A path trick either dies as INVALID_PATH before any matching
 * or, being a different string, fails to match (allow-only semantics fail closed); a
 * function trick is a conflict or an undeclared name, never a match by resemblance.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REFUND, WORKER, cases, runRow, startTarget, type HostileParts, type Row, type Target } from './harness.js';

const p = (path: string): HostileParts => ({ ...REFUND, path });

const paths: Row[] = [
  ['baseline', p('/v1/payments/42/refund'), 'ALLOWED'],
  ['query is cut off and not inspected', p('/v1/payments/42/refund?next=../../admin;%2F'), 'ALLOWED'],
  ['a fragment is cut off for matching', p('/v1/payments/42/refund#section-2'), 'ALLOWED'],
  // SPEC 2 checks "the part before `?`", fragment included.
  ['a fragment holding ../ segments', p('/v1/payments/42/refund#../../x'), 'INVALID_PATH'],
  ['a fragment after the query is not inspected', p('/v1/payments/42/refund?q#../../x'), 'ALLOWED'],
  ['%2e%2e lower case', p('/v1/payments/%2e%2e/refund'), 'INVALID_PATH'],
  ['%2E%2E upper case', p('/v1/payments/%2E%2E/refund'), 'INVALID_PATH'],
  ['%2e%2E mixed case', p('/v1/payments/%2e%2E/refund'), 'INVALID_PATH'],
  ['.%2e half encoded', p('/v1/payments/.%2e/refund'), 'INVALID_PATH'],
  ['%2e single encoded dot', p('/v1/payments/%2e/42/refund'), 'INVALID_PATH'],
  ['%2e inside a segment', p('/v1/payments/4%2e2/refund'), 'INVALID_PATH'],
  ['%2f lower case', p('/v1/payments/42%2frefund'), 'INVALID_PATH'],
  ['%2F upper case', p('/v1/payments%2F42/refund'), 'INVALID_PATH'],
  ['%5c lower case', p('/v1/payments/42%5crefund'), 'INVALID_PATH'],
  ['%5C upper case', p('/v1/payments/42%5Crefund'), 'INVALID_PATH'],
  ['literal backslash', p('/v1\\payments/42/refund'), 'INVALID_PATH'],
  ['backslash dot-dot', p('/v1/payments/42/refund\\..\\..\\admin'), 'INVALID_PATH'],
  ['semicolon path parameter at the end', p('/v1/payments/42/refund;jsessionid=1'), 'INVALID_PATH'],
  ['semicolon inside a segment', p('/v1/payments/42;x/refund'), 'INVALID_PATH'],
  ['double slash inside', p('/v1//payments/42/refund'), 'INVALID_PATH'],
  ['double slash at the start', p('//v1/payments/42/refund'), 'INVALID_PATH'],
  ['dot segment', p('/v1/./payments/42/refund'), 'INVALID_PATH'],
  ['dot-dot segment', p('/v1/payments/7/../42/refund'), 'INVALID_PATH'],
  ['trailing dot segment', p('/v1/payments/42/refund/.'), 'INVALID_PATH'],
  ['absolute form http://', p('http://payments/v1/payments/42/refund'), 'INVALID_PATH'],
  ['absolute form https:// with the same path', p('https://x/v1/payments/42/refund'), 'INVALID_PATH'],
  ['asterisk form', p('*'), 'INVALID_PATH'],
  ['empty path', p(''), 'INVALID_PATH'],
  ['relative path', p('v1/payments/42/refund'), 'INVALID_PATH'],
  ['space', p('/v1/payments/4 2/refund'), 'INVALID_PATH'],
  ['tab', p('/v1/payments/42/refund\t'), 'INVALID_PATH'],
  ['NUL', p('/v1/payments/42\u0000/refund'), 'INVALID_PATH'],
  ['DEL', p('/v1/payments/42\u007f/refund'), 'INVALID_PATH'],
  ['raw non-ASCII', p('/v1/paymênts/42/refund'), 'INVALID_PATH'],
  ['full-width digits', p('/v1/payments/\uff14\uff12/refund'), 'INVALID_PATH'],
  ['unicode division slash', p('/v1/payments\u221542/refund'), 'INVALID_PATH'],
  ['upper case literal', p('/V1/payments/42/refund'), 'ACTION_NOT_PERMITTED'],
  ['trailing slash is significant', p('/v1/payments/42/refund/'), 'ACTION_NOT_PERMITTED'],
  ['percent-encoded letter is not decoded', p('/v1/%70ayments/42/refund'), 'ACTION_NOT_PERMITTED'],
  ['double-encoded dots on a literal', p('/v1/%252e%252e/42/refund'), 'ACTION_NOT_PERMITTED'],
  ['overlong UTF-8 dots on a literal', p('/v1/%c0%ae%c0%ae/42/refund'), 'ACTION_NOT_PERMITTED'],
  ['empty parameter segment', p('/v1/payments//refund'), 'INVALID_PATH'],
  ['a parameter is one segment only', p('/v1/payments/4/2/refund'), 'ACTION_NOT_PERMITTED'],
  // {id} takes any acceptable segment as opaque text: mandate does not decode, so neither may the upstream.
  ['double-encoded dots in a parameter stay one opaque segment', p('/v1/payments/%252e%252e/refund'), 'ALLOWED'],
];

const l = (host: string, path = '/v1/entries/2026'): HostileParts => ({ principal: WORKER, host, method: 'GET', path, function: 'refund-processing' });

const hosts: Row[] = [
  ['baseline host with port', l('ledger.internal:8443'), 'ALLOWED'],
  ['upper case host', l('LEDGER.INTERNAL:8443'), 'ALLOWED'],
  ['one trailing dot', l('ledger.internal.:8443'), 'ALLOWED'],
  ['two trailing dots', l('ledger.internal..:8443'), 'ACTION_NOT_PERMITTED'],
  ['other port', l('ledger.internal:9443'), 'ACTION_NOT_PERMITTED'],
  ['no port where the target names one', l('ledger.internal'), 'ACTION_NOT_PERMITTED'],
  ['two ports', l('ledger.internal:8443:8443'), 'ACTION_NOT_PERMITTED'],
  ['port 0', l('ledger.internal:0'), 'ACTION_NOT_PERMITTED'],
  ['port 65536 (wraps to 0 in 16 bits)', l('ledger.internal:65536'), 'ACTION_NOT_PERMITTED'],
  ['port 74979 (wraps to 9443 in 16 bits)', l('ledger.internal:74979'), 'ACTION_NOT_PERMITTED'],
  ['userinfo before the host', l('evil.com@ledger.internal:8443'), 'ACTION_NOT_PERMITTED'],
  ['host as userinfo', l('ledger.internal:8443@evil.com'), 'ACTION_NOT_PERMITTED'],
  ['suffix domain', l('ledger.internal.evil.com:8443'), 'ACTION_NOT_PERMITTED'],
  ['prefix label', l('xledger.internal:8443'), 'ACTION_NOT_PERMITTED'],
  ['fragment in host', l('evil.com#ledger.internal:8443'), 'ACTION_NOT_PERMITTED'],
  ['space before the port', l('ledger.internal :8443'), 'ACTION_NOT_PERMITTED'],
  ['NUL in host', l('ledger.internal\u0000:8443'), 'ACTION_NOT_PERMITTED'],
  ['one-dot-leader look-alike', l('ledger\u2024internal:8443'), 'ACTION_NOT_PERMITTED'],
  ['dotted capital I folding to i', { ...l('docs.\u0130nternal', '/a/'), method: 'GET' }, 'ACTION_NOT_PERMITTED'],
  ['asterisk host', l('*'), 'ACTION_NOT_PERMITTED'],
  ['wildcard host', l('*.internal:8443'), 'ACTION_NOT_PERMITTED'],
  ['host naming the SPIFFE target', { ...REFUND, destination: '', host: 'spiffe://prod.example.org/ns/payments/sa/payments-api' }, 'ACTION_NOT_PERMITTED'],
  [':authority is used when request.http.host is empty', { ...l('x'), edit: (r) => { r['attributes']['request']['http']['host'] = ''; r['attributes']['request']['http']['headers'][':authority'] = 'ledger.internal:8443'; } }, 'ALLOWED'],
  ['request.http.host wins over :authority', { ...l('evil.internal:8443'), edit: (r) => { r['attributes']['request']['http']['headers'][':authority'] = 'ledger.internal:8443'; } }, 'ACTION_NOT_PERMITTED'],
  ['destination with a trailing slash', { ...REFUND, destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api/' }, 'ACTION_NOT_PERMITTED'],
  ['destination in upper case', { ...REFUND, destination: 'spiffe://PROD.example.org/ns/payments/sa/payments-api' }, 'ACTION_NOT_PERMITTED'],
  ['destination with a trailing space', { ...REFUND, destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api ' }, 'ACTION_NOT_PERMITTED'],
  ['path trick under a ** target', l('ledger.internal:8443', '/v1/entries/%2e%2e/%2e%2e/admin'), 'INVALID_PATH'],
];

const methods: Row[] = [
  ['lower case method', { ...REFUND, method: 'post' }, 'ACTION_NOT_PERMITTED'],
  ['mixed case method', { ...REFUND, method: 'PoSt' }, 'ACTION_NOT_PERMITTED'],
  ['method with trailing space', { ...REFUND, method: 'POST ' }, 'ACTION_NOT_PERMITTED'],
  ['asterisk method against an explicit list', { ...REFUND, method: '*' }, 'ACTION_NOT_PERMITTED'],
  ['empty method', { ...REFUND, method: '', edit: (r) => { r['attributes']['request']['http']['headers'][':method'] = ''; } }, 'ACTION_NOT_PERMITTED'],
  [':method header cannot override request.http.method', { ...REFUND, method: 'GET', edit: (r) => { r['attributes']['request']['http']['headers'][':method'] = 'POST'; } }, 'ACTION_NOT_PERMITTED'],
];

const f = (fn: string | undefined, extra: HostileParts = {}): HostileParts => ({ ...REFUND, function: fn, ...extra });
const rawHeaders = (values: string[]): HostileParts => ({
  ...REFUND,
  function: undefined,
  edit: (r) => {
    const http = r['attributes']['request']['http'];
    const list = Object.entries(http['headers'] as Record<string, string>).map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));
    for (const v of values) list.push({ key: 'x-business-function', raw_value: Buffer.from(v) });
    http['headers'] = {};
    http['header_map'] = { headers: list };
  },
});

const functions: Row[] = [
  ['baseline', f('refund-processing'), 'ALLOWED'],
  ['comma-joined duplicate', f('refund-processing,refund-processing'), 'FUNCTION_CONFLICT'],
  ['comma-joined two functions', f('refund-processing, refund-approval'), 'FUNCTION_CONFLICT'],
  ['trailing comma', f('refund-processing,'), 'FUNCTION_CONFLICT'],
  ['leading comma', f(',refund-processing'), 'FUNCTION_CONFLICT'],
  ['a lone comma', f(','), 'FUNCTION_CONFLICT'],
  ['repeated header kept apart (encode_raw_headers)', rawHeaders(['refund-processing', 'refund-processing']), 'FUNCTION_CONFLICT'],
  ['one header in header_map', rawHeaders(['refund-processing']), 'ALLOWED'],
  ['header and route disagree', f('refund-processing', { routeFunction: 'refund-approval' }), 'FUNCTION_CONFLICT'],
  ['header and route agree', f('refund-processing', { routeFunction: 'refund-processing' }), 'ALLOWED'],
  ['route alone', f(undefined, { routeFunction: 'refund-processing' }), 'ALLOWED'],
  ['empty header counts as absent', f('', { routeFunction: 'refund-processing' }), 'ALLOWED'],
  ['empty header and no route', f(''), 'MISSING_FUNCTION'],
  ['no function at all', f(undefined), 'MISSING_FUNCTION'],
  ['header name in upper case is not the header', f(undefined, { headers: { 'X-Business-Function': 'refund-processing' } }), 'MISSING_FUNCTION'],
  ['upper-case value', f('Refund-Processing'), 'FUNCTION_NOT_DECLARED'],
  ['leading space', f(' refund-processing'), 'FUNCTION_NOT_DECLARED'],
  ['trailing space', f('refund-processing '), 'FUNCTION_NOT_DECLARED'],
  ['unicode hyphen look-alike', f('refund\u2010processing'), 'FUNCTION_NOT_DECLARED'],
  ['Cyrillic i look-alike', f('refund-process\u0456ng'), 'FUNCTION_NOT_DECLARED'],
  ['zero-width joiner', f('refund-\u200dprocessing'), 'FUNCTION_NOT_DECLARED'],
  ['NUL suffix', f('refund-processing\u0000'), 'FUNCTION_NOT_DECLARED'],
  ['semicolon-joined', f('refund-processing;refund-approval'), 'FUNCTION_NOT_DECLARED'],
  ['asterisk', f('*'), 'FUNCTION_NOT_DECLARED'],
  ['another mandate\'s function', f('admin'), 'FUNCTION_NOT_DECLARED'],
  ['a declared function whose actions do not cover the request', f('ledger.read'), 'ACTION_NOT_PERMITTED'],
  ['a token-required function without a token', f('refund-approval', { path: '/v1/approvals' }), 'TOKEN_REQUIRED'],
  ['route function smuggled in a header named like the context extension', f(undefined, { headers: { function: 'refund-processing', 'context_extensions': 'function=refund-processing' } }), 'MISSING_FUNCTION'],
];

describe('hostile requests', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget();
  });
  afterAll(async () => t?.close());

  it.each(cases(paths))('path: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
  it.each(cases(hosts))('host: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
  it.each(cases(methods))('method: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
  it.each(cases(functions))('function: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
});
