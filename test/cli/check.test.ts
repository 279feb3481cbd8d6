/** `mandate check` on the bundled examples, in-process, with a frozen clock. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCheckCommand } from '../../src/cli/check.js';
import { runCli } from '../analysis/run-cli.js';

/** In-process, from the repository root (the examples are named relative to it). */
const check = (args: string[], stdin = '') => runCli(runCheckCommand, args, process.cwd(), stdin);

const NOW = '2026-12-04T12:00:00Z';

const examples: [string, number, string, string | null][] = [
  ['allow-order-checkout', 0, 'ALLOWED', null],
  ['allow-legacy-route', 0, 'ALLOWED', null],
  ['deny-function-not-declared', 1, 'FUNCTION_NOT_DECLARED', null],
  ['deny-token-required', 1, 'TOKEN_REQUIRED', null],
  ['deny-invalid-path', 1, 'INVALID_PATH', null],
  ['deny-untrusted-domain', 1, 'UNTRUSTED_DOMAIN', null],
  ['deny-function-conflict', 1, 'FUNCTION_CONFLICT', null],
  ['dry-run-support-agent', 0, 'ACTION_NOT_PERMITTED', 'ACTION_NOT_PERMITTED'],
];

describe('mandate check on examples/requests', () => {
  it.each(examples)('%s → exit %i, %s', async (name, exit, reason, wouldDeny) => {
    const c = await check(['--policies', 'examples/policies', '--request', `examples/requests/${name}.json`, '--now', NOW]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(exit);
    const doc = JSON.parse(c.stdout) as Record<string, unknown>;
    expect(doc['reason']).toBe(reason);
    expect(doc['would_deny']).toBe(wouldDeny);
    expect(doc['decision']).toBe(exit === 0 ? 'allow' : 'deny');
    expect(doc['explanation']).toBeTypeOf('object');
  });

  it('names the matched action of an allow', async () => {
    const c = await check(['--policies', 'examples/policies', '--request', 'examples/requests/allow-order-checkout.json', '--now', NOW]);
    const doc = JSON.parse(c.stdout) as { explanation: { matched_action: { methods: string[]; paths: string[] } } };
    expect(doc.explanation.matched_action.methods).toEqual(['POST']);
    expect(doc.explanation.matched_action.paths).toEqual(['/v1/payments']);
  });

  it('reads the request from standard input with -', async () => {
    const c = await check(
      ['--policies', 'examples/policies', '--request', '-', '--now', NOW],
      JSON.stringify({ attributes: { source: { principal: 'spiffe://prod.example.org/ns/orders/sa/orders-api' } } }),
    );
    expect(c.code).toBe(1);
    expect(JSON.parse(c.stdout).reason).toBe('BAD_REQUEST');
  });

  it.each([
    ['not JSON', '{nope'],
    ['a JSON array', '[]'],
    ['a JSON string', '"x"'],
  ])('exits 2 on %s with nothing on stdout', async (_n, text) => {
    const c = await check(['--policies', 'examples/policies', '--request', '-'], text);
    expect(c.code).toBe(2);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(/--request -/);
  });

  it.each([
    ['a misspelt field', { attributes: { contextExtension: { function: 'x' } } }, /attributes\.contextExtension: unknown field/],
    ['a number for a string', { attributes: { source: { principal: 5 } } }, /attributes\.source\.principal: expected a string, got number/],
    ['a string for a message', { attributes: { request: { http: 'GET /' } } }, /attributes\.request\.http: expected an object/],
    ['a malformed Timestamp', { attributes: { request: { time: 'yesterday' } } }, /attributes\.request\.time: expected an RFC 3339/],
    ['a number as a header value', { attributes: { request: { http: { headers: { 'x-business-function': 7 } } } } }, /attributes\.request\.http\.headers\["x-business-function"\]: expected a string/],
  ])('exits 2 on a request that is not proto3 JSON of a CheckRequest: %s', async (_n, request, message) => {
    const c = await check(['--policies', 'examples/policies', '--request', '-'], JSON.stringify(request));
    expect(c.code).toBe(2);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(message);
  });

  it('reads header names in any case, as Envoy lower-cases them', async () => {
    const request = JSON.parse(readFileSync('examples/requests/allow-order-checkout.json', 'utf8')) as { attributes: { request: { http: { headers: Record<string, string> } } } };
    const headers = request.attributes.request.http.headers;
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.startsWith(':') ? k : k.toUpperCase(), v]));
    request.attributes.request.http.headers = upper;
    expect(Object.keys(upper)).toContain('X-BUSINESS-FUNCTION');
    const c = await check(['--policies', 'examples/policies', '--request', '-', '--now', NOW], JSON.stringify(request));
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout).reason).toBe('ALLOWED');
    // Two spellings of one name are one header with two values, as Envoy joins repeats.
    request.attributes.request.http.headers = { ...headers, 'X-Business-Function': 'order-refund' };
    const twice = await check(['--policies', 'examples/policies', '--request', '-', '--now', NOW], JSON.stringify(request));
    expect(JSON.parse(twice.stdout).reason).toBe('FUNCTION_CONFLICT');
  });

  it('names its own --help for an unknown option, not serve\'s', async () => {
    const c = await check(['--policies', 'examples/policies', '--request', '-', '--frob'], '{}');
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('mandate check: --frob: unknown option (see --help)');
    expect(c.stderr).not.toContain('serve');
  });

  it('exits 2 without --request, and for a missing file', async () => {
    expect((await check(['--policies', 'examples/policies'])).code).toBe(2);
    const b = await check(['--policies', 'examples/policies', '--request', 'nope.json']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/cannot read/);
  });
});
