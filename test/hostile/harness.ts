/**
 * Shared ground for the hostile suites: the estate under attack, a server on free loopback
 * ports, and the one assertion every row ends with — the answer is the documented reason,
 * travels as an RPC-OK CheckResponse, and carries nothing but the contract's fields (no
 * stack, no message, no policy text).
 */
import { expect } from 'vitest';
import { checkRequest, envoyClient, responseHeaders, type CheckResponse, type EnvoyClient, type RequestParts } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

export const POLICIES = new URL('./fixtures/policies', import.meta.url).pathname;
export const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
export const PAYMENTS = 'spiffe://prod.example.org/ns/payments/sa/payments-api';
export const ADMIN = 'spiffe://prod.example.org/ns/ops/sa/admin-tool';
export const OTHER = 'spiffe://prod.example.org/ns/other/sa/stranger';

/** An allowed request; rows change one thing in it. */
export const REFUND: RequestParts = {
  principal: WORKER,
  destination: PAYMENTS,
  method: 'POST',
  path: '/v1/payments/42/refund',
  function: 'refund-processing',
};

/** RequestParts plus what the shared builder cannot express. */
export interface HostileParts extends RequestParts {
  /** attributes.source.service (copied by Envoy from a client-controlled header). */
  sourceService?: string;
  /** Last-minute edit of the built request, for fields nothing else reaches. */
  edit?: (req: Record<string, any>) => void;
}

export function hostileRequest(p: HostileParts): Record<string, any> {
  const req = checkRequest(p) as Record<string, any>;
  if (p.sourceService !== undefined) req['attributes']['source']['service'] = p.sourceService;
  p.edit?.(req);
  return req;
}

export interface Target {
  server: TestServer;
  client: EnvoyClient;
  close(): Promise<void>;
}

export async function startTarget(extraArgs: string[] = []): Promise<Target> {
  const server = await startTestServer(['--policies', POLICIES, ...extraArgs]);
  const client = envoyClient(server.grpcAddress);
  return {
    server,
    client,
    async close() {
      client.close();
      await server.drain(2000);
    },
  };
}

/** The reason a response carries: its x-mandate-reason, or ALLOWED for an allow. */
export function reasonOf(r: CheckResponse): string {
  if (r.http_response === 'ok_response') return 'ALLOWED';
  return responseHeaders(r)['x-mandate-reason'] ?? '(none)';
}

const ALLOW_HEADERS = new Set(['x-mandate-name', 'x-mandate-function', 'x-mandate-decision-id', 'x-mandate-dry-run']);
const DENY_HEADERS = ['content-type', 'x-mandate-decision-id', 'x-mandate-reason'];
/** Text that must never reach the caller: internals, stack frames, policy content. */
const LEAKS = [
  /\bat [\w.<>]+ \(/, // a stack frame
  /\.(ts|js|mjs):\d+/,
  /Error\b/,
  /SECRET-PURPOSE-MARKER/,
  /team-billing|team-ops/,
  /apiVersion|mandate\/v1/,
  /\/home\/|\/work\/|node_modules/,
];

/**
 * Asserts the documented answer and that nothing else is on the wire. The dynamic
 * metadata goes to Envoy's access log, not to the caller, and is checked separately for
 * its fixed key set.
 */
export function expectAnswer(r: CheckResponse, reason: string): void {
  expect(reasonOf(r)).toBe(reason);
  expect(r.status.message ?? '').toBe('');
  const headers = responseHeaders(r);
  const id = headers['x-mandate-decision-id'] ?? '';
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  if (reason === 'ALLOWED') {
    expect(r.status.code).toBe(0);
    for (const k of Object.keys(headers)) expect(ALLOW_HEADERS.has(k), `unexpected allow header ${k}`).toBe(true);
  } else {
    expect(r.status.code).not.toBe(0);
    expect(Object.keys(headers).sort()).toEqual(DENY_HEADERS);
    expect(headers['content-type']).toBe('application/json');
    expect(r.denied_response?.body).toBe(JSON.stringify({ error: 'access_denied', reason, decision_id: id }));
  }
  const meta = Object.keys(r.dynamic_metadata?.fields ?? {}).sort();
  for (const k of meta) expect(['decision_id', 'dry_run', 'function', 'mandate', 'reason', 'would_deny']).toContain(k);
  const wire = JSON.stringify({ status: r.status, ok: r.ok_response, denied: r.denied_response });
  for (const leak of LEAKS) expect(wire, `leak ${leak}`).not.toMatch(leak);
}

export type Row = [name: string, parts: HostileParts, reason: string];

/** Rows reordered for it.each titles (`%s → %s` = name → reason). */
export function cases(rows: readonly Row[]): [string, string, HostileParts][] {
  return rows.map(([name, parts, reason]) => [name, reason, parts]);
}

/** Runs one row: send, then check the answer. */
export async function runRow(client: EnvoyClient, parts: HostileParts, reason: string): Promise<void> {
  const r = await client.check(hostileRequest(parts));
  expectAnswer(r, reason);
}
