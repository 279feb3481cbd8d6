import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import AjvModule from 'ajv-draft-04';
import { describe, expect, it } from 'vitest';
import { runAnalyzeCommand } from '../../src/cli/analyze.js';
import { FINDING_CODES } from '../../src/analysis/findings.js';
import { expectGolden, FIXTURES, runCli } from './run-cli.js';

const NOW = ['--now', '2026-12-04T12:00:00Z'];
const analyze = (...args: string[]) => runCli(runAnalyzeCommand, args);

interface JsonReport {
  findings: { code: string; severity: string; owasp: string; path: string[] | null; mandates: { name: string; id: string }[]; targets: unknown[]; location: { file: string; line: number; column: number } }[];
  summary: Record<string, unknown> & { suggestedMandates: { subject: string; yaml: string }[]; logs: Record<string, unknown> | null };
}

describe('mandate analyze on the fixture policies', () => {
  it.each([
    ['text', 'policies.txt'],
    ['json', 'policies.json'],
    ['sarif', 'policies.sarif'],
  ])('matches the %s golden', async (format, golden) => {
    const r = await analyze('policies', '--format', format, ...NOW);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectGolden(golden, r.stdout);
  });

  it('matches the text golden with decision logs (log findings and the suggested mandate)', async () => {
    const r = await analyze('policies', '--logs', 'logs/decisions.jsonl', ...NOW);
    expect(r.code).toBe(0);
    expectGolden('policies-logs.txt', r.stdout);
  });

  it('matches the JSON golden with decision logs', async () => {
    const r = await analyze('policies', '--logs', 'logs/decisions.jsonl', '--format', 'json', ...NOW);
    expect(r.code).toBe(0);
    expectGolden('policies-logs.json', r.stdout);
  });

  it('reports the expected findings with OWASP items and policy locations', async () => {
    const r = await analyze('policies', '--format', 'json', ...NOW);
    const rep = JSON.parse(r.stdout) as JsonReport;
    expect(Object.keys(rep)).toEqual(['findings', 'summary']);
    const byCode = (c: string) => rep.findings.filter((f) => f.code === c);
    expect(byCode('LATERAL_PATH').map((f) => f.path).sort()).toEqual([
      ['spiffe://prod.example.org/ns/web/sa/frontend', 'spiffe://prod.example.org/ns/orders/sa/orders-api', 'db.payments.internal:5432'],
      ['spiffe://prod.example.org/ns/web/sa/frontend', 'spiffe://prod.example.org/ns/orders/sa/orders-api', 'spiffe://prod.example.org/ns/security/sa/credential-broker'],
    ]);
    expect(byCode('ESCALATION_PATH').map((f) => f.mandates[0]!.name).sort()).toEqual(['orders-api', 'web-frontend']);
    expect(byCode('BROAD_ACTION')).toHaveLength(1);
    expect(byCode('CROSS_ENVIRONMENT')[0]!.mandates[0]!.name).toBe('batch-reporter');
    expect(byCode('HIGH_RISK_WITHOUT_TOKEN')[0]!.location).toMatchObject({ file: 'policies/mandates.yaml' });
    expect(byCode('REVIEW_OVERDUE')[0]!.location).toEqual({ file: 'policies/legacy.yaml', line: expect.any(Number), column: expect.any(Number) });
    expect(byCode('REVIEW_DUE_SOON')[0]!.mandates).toEqual([{ name: 'orders-api', id: 'spiffe://prod.example.org/ns/orders/sa/orders-api' }]);
    expect(byCode('REVIEW_MISSING')[0]!.mandates[0]!.name).toBe('batch-reporter');
    for (const f of rep.findings) {
      expect(f.owasp).toMatch(/^NHI([1-9]|10)$/);
      expect(f.location.line).toBeGreaterThan(0);
    }
  });

  it('adds the log-driven findings and a suggested mandate', async () => {
    const r = await analyze('policies', '--logs', 'logs/decisions.jsonl', '--format', 'json', ...NOW);
    const rep = JSON.parse(r.stdout) as JsonReport;
    const byCode = (c: string) => rep.findings.filter((f) => f.code === c);
    expect(byCode('UNUSED_MANDATE').map((f) => f.mandates[0]!.name)).toEqual(['legacy-sync']);
    expect(byCode('UNUSED_ACTION').map((f) => f.mandates[0]!.name)).toEqual(['orders-api']);
    const chain = byCode('TOKEN_CHAINING_ATTEMPT');
    expect(chain).toHaveLength(1);
    expect(chain[0]!.mandates.map((m) => m.name)).toEqual(['web-frontend', 'orders-api']);
    const dry = byCode('DRY_RUN_WOULD_DENY');
    expect(dry).toHaveLength(1);
    expect(dry[0]!.mandates[0]!.name).toBe('batch-reporter');
    expect(rep.summary.logs).toMatchObject({ entries: 8, skipped: 2, inWindow: 8, since: '2026-11-30T10:00:00.000Z', until: '2026-12-01T03:00:00.000Z' });
    const sug = rep.summary.suggestedMandates;
    expect(sug.map((s) => s.subject)).toEqual(['spiffe://prod.example.org/ns/reports/sa/batch-reporter']);
    expect(sug[0]!.yaml).toContain('/v1/exports/{id}/{id2}');
    expect(sug[0]!.yaml).toContain('/v1/reports/{id}/refresh');
  });

  it('reads gzip logs like plain ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-analyze-'));
    const gz = path.join(dir, 'decisions.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(path.join(FIXTURES, 'logs/decisions.jsonl'))));
    const plain = await analyze('policies', '--logs', 'logs/decisions.jsonl', '--format', 'json', ...NOW);
    const zipped = await analyze('policies', '--logs', gz, '--format', 'json', ...NOW);
    const strip = (s: string) => {
      const o = JSON.parse(s) as JsonReport;
      delete (o.summary.logs as Record<string, unknown>)['files'];
      return o;
    };
    expect(strip(zipped.stdout)).toEqual(strip(plain.stdout));
  });

  it('limits log findings to the --since/--until window', async () => {
    const r = await analyze('policies', '--logs', 'logs/decisions.jsonl', '--since', '2026-12-01T00:00:00Z', '--format', 'json', ...NOW);
    const rep = JSON.parse(r.stdout) as JsonReport;
    expect(rep.findings.filter((f) => f.code === 'TOKEN_CHAINING_ATTEMPT')).toEqual([]);
    expect(rep.findings.filter((f) => f.code === 'UNUSED_MANDATE').map((f) => f.mandates[0]!.name).sort()).toEqual(['legacy-sync', 'orders-api']);
    expect(rep.summary.logs).toMatchObject({ inWindow: 5, since: '2026-12-01T00:00:00.000Z' });
  });

  it.each([
    ['critical', 1],
    ['high', 1],
    ['info', 1],
  ])('exits 1 with --fail-on %s when such findings exist', async (sev, code) => {
    expect((await analyze('policies', '--fail-on', sev, ...NOW)).code).toBe(code);
  });

  it('exits 0 with --fail-on when nothing reaches the bar', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-analyze-'));
    writeFileSync(
      path.join(dir, 'm.yaml'),
      'apiVersion: mandate/v1\nkind: Mandate\nmetadata: {name: calm}\nspec:\n  subject: spiffe://a.org/x\n  owner: o\n  purpose: p\n  risk: low\n  reviewBy: "2027-11-01"\n  functions:\n    - name: f\n      actions: [{target: api.local, methods: [GET], paths: [/v1/x]}]\n',
    );
    const r = await runCli(runAnalyzeCommand, ['m.yaml', '--fail-on', 'low', '--format', 'json', ...NOW], dir);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    expect(r.code).toBe(0);
  });

  it.each([
    ['no path', []],
    ['unknown format', ['policies', '--format', 'xml']],
    ['unknown severity', ['policies', '--fail-on', 'severe']],
    ['bad --now', ['policies', '--now', 'yesterday']],
    ['unknown flag', ['policies', '--frobnicate']],
    ['missing policy path', ['does-not-exist']],
    ['missing log file', ['policies', '--logs', 'logs/none.log']],
  ])('exits 2 on bad input: %s', async (_n, args) => {
    const r = await analyze(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toBe('');
  });

  it('exits 2 with the diagnostics of an invalid policy set', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-analyze-'));
    writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: mandate/v1\nkind: Mandate\nmetadata: {name: x}\nspec:\n  subject: nope\n  bogus: 1\n');
    const r = await runCli(runAnalyzeCommand, ['bad.yaml'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bad\.yaml:\d+:\d+: [A-Z_]+: /m);
  });

  it('writes to --out instead of stdout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-analyze-'));
    const out = path.join(dir, 'r.dot');
    const r = await analyze('policies', '--format', 'dot', '--out', out, ...NOW);
    expect(r.stdout).toBe('');
    const dot = readFileSync(out, 'utf8');
    expect(dot).toMatch(/^digraph mandate \{/);
    expect(dot).toContain('"spiffe://prod.example.org/ns/web/sa/frontend" -> "spiffe://prod.example.org/ns/orders/sa/orders-api"');
    expect(dot).toContain('"spiffe://prod.example.org/ns/orders/sa/orders-api" -> "db.payments.internal:5432"');
  });
});

describe('SARIF output', () => {
  const require = createRequire(import.meta.url);
  // ajv-draft-04 is CommonJS with `exports.default`; under NodeNext the default import is the module object.
  const Ajv = AjvModule.default;
  const schemaPath = path.join(path.dirname(require.resolve('@microsoft/jest-sarif/package.json')), 'lib/schemas/sarif-2.1.0-rtm.5.json');

  it('validates against the SARIF 2.1.0 JSON schema', async () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    const r = await analyze('policies', '--logs', 'logs/decisions.jsonl', '--format', 'sarif', ...NOW);
    const log = JSON.parse(r.stdout) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[] }[] }[] };
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual([...FINDING_CODES]);
    expect(run.results.length).toBeGreaterThan(5);
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex]!.id).toBe(res.ruleId);
      const pl = res.locations[0]!.physicalLocation;
      expect(path.isAbsolute(pl.artifactLocation.uri)).toBe(false);
      expect(pl.region.startLine).toBeGreaterThan(0);
    }
  });

  it('the schema rejects a broken log (the validator is really checking)', () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    const validate = new Ajv({ strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [] }] })).toBe(false);
  });
});
