/**
 * Replay, explain and log analysis on a decision log written by the real server: requests
 * go over a real socket (Envoy's official protos as the client's schema), the server
 * writes its decision log to a file, and the analysis commands read that file.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalyzeCommand } from '../../src/cli/analyze.js';
import { runExplainCommand } from '../../src/cli/explain.js';
import { runReplayCommand } from '../../src/cli/replay.js';
import type { Explanation } from '../../src/analysis/explain.js';
import type { ReplayResult } from '../../src/analysis/replay.js';
import { checkRequest, envoyClient, responseHeaders, type RequestParts } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { FIXTURES, runCli } from './run-cli.js';

const POLICIES = path.join(FIXTURES, 'policies');
const FE = 'spiffe://prod.example.org/ns/web/sa/frontend';
const OA = 'spiffe://prod.example.org/ns/orders/sa/orders-api';
const BA = 'spiffe://prod.example.org/ns/reports/sa/batch-reporter';
const WH = 'spiffe://staging.example.org/ns/reports/sa/warehouse';
const LEGACY = 'spiffe://prod.example.org/ns/legacy/sa/sync';
const NOW = Date.parse('2026-12-04T12:00:00Z');

const REQUESTS: [string, RequestParts, string][] = [
  ['browse', { principal: FE, destination: OA, host: 'orders.prod:8443', method: 'GET', path: '/v1/orders/42?x=1', function: 'browse-orders' }, 'ALLOWED'],
  ['delete', { principal: FE, destination: OA, host: 'orders.prod:8443', method: 'DELETE', path: '/v1/orders/42', function: 'browse-orders' }, 'ACTION_NOT_PERMITTED'],
  ['report', { principal: BA, destination: WH, host: 'warehouse.staging', method: 'GET', path: '/v1/reports/7', function: 'reporting' }, 'ALLOWED'],
  ['export', { principal: BA, destination: WH, host: 'warehouse.staging', method: 'GET', path: '/v1/exports/2025/11', function: 'reporting' }, 'ACTION_NOT_PERMITTED'],
  ['db', { principal: OA, host: 'DB.payments.internal.:5432', method: 'PATCH', path: '/rows/1', function: 'fulfil' }, 'ALLOWED'],
  ['bad token', { principal: FE, destination: OA, method: 'GET', path: '/v1/orders/1', function: 'browse-orders', headers: { 'txn-token': 'not-a-jwt' } }, 'TOKEN_INVALID'],
  ['expired', { principal: LEGACY, host: 'ledger.internal', method: 'GET', path: '/v1/entries/1', function: 'sync' }, 'MANDATE_EXPIRED'],
  ['route function', { principal: FE, destination: OA, method: 'GET', path: '/v1/orders/7', routeFunction: 'browse-orders' }, 'ALLOWED'],
];

let server: TestServer | undefined;
let dir: string;
let logFile: string;
const ids = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mandate-server-logs-'));
  logFile = path.join(dir, 'decisions.log');
  server = await startTestServer(['--policies', POLICIES, '--log-file', logFile, '--log-level', 'info'], {}, () => NOW);
  const client = envoyClient(server.grpcAddress);
  try {
    for (const [name, parts, reason] of REQUESTS) {
      const res = await client.check(checkRequest(parts));
      const h = responseHeaders(res);
      ids.set(name, h['x-mandate-decision-id']!);
      // Dry-run allows carry the would-deny code in x-mandate-dry-run; denials in x-mandate-reason.
      expect(h['x-mandate-reason'] ?? h['x-mandate-dry-run'] ?? 'ALLOWED').toBe(reason);
    }
  } finally {
    client.close();
  }
  await waitFor(
    () => existsSync(logFile) && readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"decision_id"')).length >= REQUESTS.length,
    'the decision log to hold every decision',
  );
});

afterAll(async () => {
  await server?.drain(2000);
});

describe('analysis on a real server decision log', () => {
  it('replaying against the serving policies changes nothing', async () => {
    const r = await runCli(runReplayCommand, ['--policies', POLICIES, '--logs', logFile, '--format', 'json', '--fail-on-change']);
    const out = JSON.parse(r.stdout) as ReplayResult;
    expect({ ...out, logs: undefined }).toMatchObject({ total: REQUESTS.length, replayed: REQUESTS.length, unchanged: REQUESTS.length, newlyDenied: [], newlyAllowed: [], reasonChanged: [] });
    expect(r.code).toBe(0);
  });

  it('replay shows what a proposed change would newly allow and deny', async () => {
    const proposed = mkdtempSync(path.join(tmpdir(), 'mandate-proposed-'));
    cpSync(POLICIES, proposed, { recursive: true });
    const file = path.join(proposed, 'mandates.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('methods: [GET]\n          paths: ["/v1/orders/{id}"]', 'methods: [GET, DELETE]\n          paths: ["/v1/orders/{id}"]')
        .replace('methods: ["*"]', 'methods: [GET]'),
    );
    const r = await runCli(runReplayCommand, ['--policies', proposed, '--logs', logFile, '--format', 'json']);
    const out = JSON.parse(r.stdout) as ReplayResult;
    expect(out.newlyAllowed.map((g) => [g.mandate, g.reason, g.count, g.examples[0]!.decisionId])).toEqual([['web-frontend', 'ACTION_NOT_PERMITTED', 1, ids.get('delete')]]);
    expect(out.newlyDenied.map((g) => [g.mandate, g.reason, g.count, g.examples[0]!.decisionId])).toEqual([['orders-api', 'ACTION_NOT_PERMITTED', 1, ids.get('db')]]);
  });

  it('explain reconstructs a denial with the nearest action', async () => {
    const r = await runCli(runExplainCommand, [ids.get('delete')!, '--logs', logFile, '--policies', POLICIES, '--format', 'json']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.stdout) as Explanation;
    expect(x).toMatchObject({ decision: 'deny', reason: 'ACTION_NOT_PERMITTED', identity: { source: FE, via: 'principal' }, mandate: { name: 'web-frontend', owner: 'team-web' } });
    expect(x.nearestAction!.differs).toEqual(['method: DELETE is not in [GET]']);
  });

  it('explain shows the matched action and the route as the function source', async () => {
    const r = await runCli(runExplainCommand, [ids.get('route function')!, '--logs', logFile, '--policies', POLICIES, '--format', 'json']);
    const x = JSON.parse(r.stdout) as Explanation;
    expect(x.function).toMatchObject({ name: 'browse-orders', via: 'route', route: 'browse-orders' });
    expect(x.matchedAction).toMatchObject({ function: 'browse-orders', index: 0 });
    expect(x.revisionNote).toBeNull();
  });

  it('explain shows a rejected token', async () => {
    const r = await runCli(runExplainCommand, [ids.get('bad token')!, '--logs', logFile]);
    expect(r.stdout).toContain('DENY (TOKEN_INVALID)');
    expect(r.stdout).toMatch(/task token: txn -, sha256 [0-9a-f]{16}/);
  });

  it('analyze reads the log: dry-run denials, a suggested mandate, unused actions', async () => {
    const r = await runCli(runAnalyzeCommand, [POLICIES, '--logs', logFile, '--format', 'json', '--now', '2026-12-04T12:00:00Z']);
    const rep = JSON.parse(r.stdout) as { findings: { code: string; mandates: { name: string }[] }[]; summary: { suggestedMandates: { subject: string; yaml: string }[] } };
    expect(rep.findings.filter((f) => f.code === 'DRY_RUN_WOULD_DENY').map((f) => f.mandates[0]!.name)).toEqual(['batch-reporter']);
    // legacy-sync asked (and was refused: expired), so its action counts as unused, not the mandate.
    expect(rep.findings.filter((f) => f.code === 'UNUSED_ACTION').map((f) => f.mandates[0]!.name).sort()).toEqual(['legacy-sync', 'orders-api']);
    expect(rep.findings.filter((f) => f.code === 'UNUSED_MANDATE')).toEqual([]);
    expect(rep.summary.suggestedMandates.map((s) => s.subject)).toEqual([BA]);
    expect(rep.summary.suggestedMandates[0]!.yaml).toContain('/v1/exports/{id}/{id2}');
  });
});
