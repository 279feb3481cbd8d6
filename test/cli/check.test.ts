/** `mandate check` on the bundled examples, in-process, with a frozen clock. */
import { describe, expect, it } from 'vitest';
import { runCheckCommand } from '../../src/cli/check.js';
import type { CliIO } from '../../src/cli/io.js';

function capture(stdin = ''): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      env: {},
      cwd: process.cwd(),
      readStdin: async () => stdin,
    },
    out: () => out,
    err: () => err,
  };
}

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
    const c = capture();
    const code = await runCheckCommand(['--policies', 'examples/policies', '--request', `examples/requests/${name}.json`, '--now', NOW], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(exit);
    const doc = JSON.parse(c.out()) as Record<string, unknown>;
    expect(doc['reason']).toBe(reason);
    expect(doc['would_deny']).toBe(wouldDeny);
    expect(doc['decision']).toBe(exit === 0 ? 'allow' : 'deny');
    expect(doc['explanation']).toBeTypeOf('object');
  });

  it('names the matched action of an allow', async () => {
    const c = capture();
    await runCheckCommand(['--policies', 'examples/policies', '--request', 'examples/requests/allow-order-checkout.json', '--now', NOW], c.io);
    const doc = JSON.parse(c.out()) as { explanation: { matched_action: { methods: string[]; paths: string[] } } };
    expect(doc.explanation.matched_action.methods).toEqual(['POST']);
    expect(doc.explanation.matched_action.paths).toEqual(['/v1/payments']);
  });

  it('reads the request from standard input with -', async () => {
    const c = capture(JSON.stringify({ attributes: { source: { principal: 'spiffe://prod.example.org/ns/orders/sa/orders-api' } } }));
    const code = await runCheckCommand(['--policies', 'examples/policies', '--request', '-', '--now', NOW], c.io);
    expect(code).toBe(1);
    expect(JSON.parse(c.out()).reason).toBe('BAD_REQUEST');
  });

  it.each([
    ['not JSON', '{nope'],
    ['a JSON array', '[]'],
    ['a JSON string', '"x"'],
  ])('exits 2 on %s with nothing on stdout', async (_n, text) => {
    const c = capture(text);
    const code = await runCheckCommand(['--policies', 'examples/policies', '--request', '-'], c.io);
    expect(code).toBe(2);
    expect(c.out()).toBe('');
    expect(c.err()).toMatch(/--request -/);
  });

  it('exits 2 without --request, and for a missing file', async () => {
    const a = capture();
    expect(await runCheckCommand(['--policies', 'examples/policies'], a.io)).toBe(2);
    const b = capture();
    expect(await runCheckCommand(['--policies', 'examples/policies', '--request', 'nope.json'], b.io)).toBe(2);
    expect(b.err()).toMatch(/cannot read/);
  });
});
