import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAnalyzeCommand } from '../../src/cli/analyze.js';
import { runExplainCommand } from '../../src/cli/explain.js';
import { runReplayCommand } from '../../src/cli/replay.js';
import type { ReplayResult } from '../../src/analysis/replay.js';
import type { Explanation } from '../../src/analysis/explain.js';
import { parsePolicyTexts } from '../../src/policy/load.js';
import { FIXTURES, expectGolden, runCli } from './run-cli.js';

const LOG = 'logs/decisions.jsonl';

/** The fixture policies with the suggested batch-reporter mandate, DELETE for web-frontend, and no token-exchange. */
async function proposedPolicies(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-replay-'));
  cpSync(path.join(FIXTURES, 'policies'), dir, { recursive: true });
  const r = await runCli(runAnalyzeCommand, ['policies', '--logs', LOG, '--format', 'json', '--now', '2026-12-04T12:00:00Z']);
  const suggestion = (JSON.parse(r.stdout) as { summary: { suggestedMandates: { yaml: string }[] } }).summary.suggestedMandates[0]!.yaml;
  const docs = readFileSync(path.join(dir, 'mandates.yaml'), 'utf8').split('\n---\n');
  const web = docs[0]!.replace('methods: [GET]', 'methods: [GET, DELETE]');
  const orders = docs[1]!.replace(/    - name: token-exchange[\s\S]*$/, '').trimEnd();
  writeFileSync(path.join(dir, 'mandates.yaml'), `${web}\n---\n${orders}\n---\n${suggestion}`);
  return dir;
}

describe('mandate replay', () => {
  it('changes nothing when replayed against the policies that decided', async () => {
    const r = await runCli(runReplayCommand, ['--policies', 'policies', '--logs', LOG, '--format', 'json', '--fail-on-change']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as ReplayResult;
    expect(out).toMatchObject({ total: 8, replayed: 8, unchanged: 8, skipped: 0, newlyDenied: [], newlyAllowed: [], reasonChanged: [] });
    expect(r.code).toBe(0);
  });

  it('reports newly denied and newly allowed requests grouped by mandate and reason', async () => {
    const dir = await proposedPolicies();
    const r = await runCli(runReplayCommand, ['--policies', dir, '--logs', LOG, '--format', 'json', '--fail-on-change']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as ReplayResult;
    expect(out.newlyDenied.map((g) => [g.mandate, g.reason, g.count, g.examples.map((e) => e.decisionId)])).toEqual([
      ['orders-api', 'FUNCTION_NOT_DECLARED', 1, ['d-002']],
    ]);
    expect(out.newlyAllowed.map((g) => [g.mandate, g.reason, g.count])).toEqual([
      ['batch-reporter', 'ACTION_NOT_PERMITTED', 3],
      ['web-frontend', 'ACTION_NOT_PERMITTED', 1],
    ]);
    expect(out.unchanged).toBe(3);
  });

  it('prints a readable text summary', async () => {
    const dir = await proposedPolicies();
    const r = await runCli(runReplayCommand, ['--policies', dir, '--logs', LOG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Replayed 8 of 8 logged decisions .*: 3 unchanged, 1 newly denied, 4 newly allowed/);
    expect(r.stdout).toContain('Newly denied:\n  orders-api  FUNCTION_NOT_DECLARED  1 request(s)\n    e.g. d-002');
  });

  it('re-checks trust domains: an untrusted domain given explicitly denies everything', async () => {
    const r = await runCli(runReplayCommand, ['--policies', 'policies', '--logs', LOG, '--trust-domain', 'other.org', '--format', 'json']);
    const out = JSON.parse(r.stdout) as ReplayResult;
    expect(new Set(out.newlyDenied.map((g) => g.reason))).toEqual(new Set(['UNTRUSTED_DOMAIN']));
    expect(out.newlyDenied.reduce((n, g) => n + g.count, 0)).toBe(3);
    expect(out.reasonChanged.every((g) => g.reason.endsWith('-> UNTRUSTED_DOMAIN'))).toBe(true);
  });

  it.each([
    ['no policies', ['--logs', LOG]],
    ['no logs', ['--policies', 'policies']],
    ['missing log', ['--policies', 'policies', '--logs', 'nope.log']],
    ['bad format', ['--policies', 'policies', '--logs', LOG, '--format', 'xml']],
  ])('exits 2 on bad input: %s', async (_n, args) => {
    expect((await runCli(runReplayCommand, args)).code).toBe(2);
  });
});

describe('suggested mandates', () => {
  it('are valid policy documents', async () => {
    const r = await runCli(runAnalyzeCommand, ['policies', '--logs', LOG, '--format', 'json', '--now', '2026-12-04T12:00:00Z']);
    const yaml = (JSON.parse(r.stdout) as { summary: { suggestedMandates: { yaml: string }[] } }).summary.suggestedMandates[0]!.yaml;
    const loaded = parsePolicyTexts([{ name: 'suggested.yaml', text: yaml }]);
    expect(loaded.ok ? [] : loaded.diagnostics).toEqual([]);
  });
});

describe('mandate explain', () => {
  const explain = (...args: string[]) => runCli(runExplainCommand, args);

  it('matches the golden for a denial with the nearest action', async () => {
    const r = await explain('d-008', '--logs', LOG, '--policies', 'policies');
    expect(r.code).toBe(0);
    expectGolden('explain-d-008.txt', r.stdout);
  });

  it('names the nearest action and what differed', async () => {
    const r = await explain('d-008', '--logs', LOG, '--policies', 'policies', '--format', 'json');
    const x = JSON.parse(r.stdout) as Explanation;
    expect(x.nearestAction).toMatchObject({ function: 'browse-orders', index: 0, matches: { target: true, method: false, path: true } });
    expect(x.nearestAction!.differs).toEqual(['method: DELETE is not in [GET]']);
    expect(x.mandate).toMatchObject({ name: 'web-frontend', owner: 'team-web', purpose: 'Render order pages for signed-in customers' });
  });

  it('shows the matched action, function sources and token of an allowed decision', async () => {
    const r = await explain('d-002', '--logs', LOG, '--policies', 'policies', '--format', 'json');
    const x = JSON.parse(r.stdout) as Explanation;
    expect(x.matchedAction).toMatchObject({ function: 'token-exchange', index: 0, target: 'spiffe://prod.example.org/ns/security/sa/credential-broker' });
    expect(x.function).toEqual({ name: 'token-exchange', via: 'header+token', header: 'token-exchange', route: null, tokenScope: 'token-exchange' });
    expect(x.token).toMatchObject({ txn: 't-77', sha256: 'aaaabbbbccccdddd', ttlSeconds: 300 });
    expect(x.identity).toEqual({ source: 'spiffe://prod.example.org/ns/orders/sa/orders-api', via: 'principal', issuer: null });
  });

  it('works from the log alone without policies', async () => {
    const r = await explain('d-003', '--logs', LOG);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DENY (TOKEN_SUBJECT_MISMATCH)');
    expect(r.stdout).toContain('sub spiffe://prod.example.org/ns/orders/sa/orders-api');
  });

  it('exits 1 for an unknown decision and 2 without logs', async () => {
    expect((await explain('d-999', '--logs', LOG)).code).toBe(1);
    expect((await explain('d-001')).code).toBe(2);
  });
});
