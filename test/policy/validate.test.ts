import { describe, expect, it } from 'vitest';
import { parsePolicyTexts } from '../../src/policy/load.js';
import type { Diagnostic, LoadResult, MandateDoc } from '../../src/policy/model.js';
import { FUNCTIONS, loadedSet as ok, mandate } from './fixtures.js';

function diags(result: LoadResult): readonly Diagnostic[] {
  if (result.ok) throw new Error('expected diagnostics');
  return result.diagnostics;
}

function only(text: string): MandateDoc {
  return ok(parsePolicyTexts([{ name: 'p.yaml', text }])).mandates[0]!;
}

describe('defaults by risk', () => {
  it.each([
    ['low', 'optional', 900],
    ['medium', 'optional', 900],
    ['high', 'required', 300],
    ['critical', 'required', 300],
  ])('risk %s: taskToken %s, maxTokenTtl %d s', (risk, taskToken, ttl) => {
    const m = only(mandate('m', `  risk: ${risk}\n${FUNCTIONS}`));
    expect(m.risk).toBe(risk);
    expect(m.functions[0]).toMatchObject({ taskToken, maxTokenTtlSeconds: ttl });
  });

  it('risk medium, mode enforce, no review date, no labels when unset', () => {
    const m = only(mandate('m'));
    expect(m).toMatchObject({ risk: 'medium', mode: 'enforce', reviewBy: null, reviewByText: null, labels: {} });
    expect(m.location).toEqual({ file: 'p.yaml', line: 1, column: 1 });
    expect(m.functions[0]!.location).toEqual({ file: 'p.yaml', line: 10, column: 7 });
    expect(m.functions[0]!.actions[0]!.location).toEqual({ file: 'p.yaml', line: 12, column: 11 });
  });

  it('explicit values win over defaults', () => {
    const m = only(mandate('m', `  risk: critical
  mode: dry-run
  reviewBy: "2027-03-01T00:00:00+01:00"
  functions:
    - name: f
      taskToken: optional
      maxTokenTtl: 1h
      actions:
        - {target: a.internal, methods: ["*"], paths: ["/**"]}
`));
    expect(m).toMatchObject({ mode: 'dry-run', reviewBy: Date.UTC(2027, 1, 28, 23), reviewByText: '2027-03-01T00:00:00+01:00' });
    expect(m.functions[0]).toMatchObject({ taskToken: 'optional', maxTokenTtlSeconds: 3600 });
  });

  it('a function ttl of exactly 1h is allowed, 1h1s is not', () => {
    const r = parsePolicyTexts([{ name: 'p.yaml', text: mandate('m', FUNCTIONS.replace('- name: f', '- name: f\n      maxTokenTtl: 1h0m1s')) }]);
    expect(diags(r).map((d) => d.code)).toEqual(['TTL_TOO_LONG']);
  });
});

describe('documents', () => {
  it('are frozen', () => {
    const set = ok(parsePolicyTexts([{ name: 'p.yaml', text: mandate('m') }]));
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.mandates[0])).toBe(true);
    expect(Object.isFrozen(set.mandates[0]!.functions[0]!.actions[0]!.methods)).toBe(true);
  });

  it('targets default their environment to the trust domain of a SPIFFE match and none for a host', () => {
    const text = `apiVersion: mandate/v1
kind: Target
metadata: {name: a}
spec: {match: "spiffe://prod.example.org/ns/a/sa/a"}
---
apiVersion: mandate/v1
kind: Target
metadata: {name: b}
spec: {match: "b.internal:8443", sensitivity: critical, capabilities: [edit-policy, impersonate]}
---
apiVersion: mandate/v1
kind: Target
metadata: {name: c}
spec: {match: "c.internal", environment: staging, owner: team-c}
`;
    const set = ok(parsePolicyTexts([{ name: 't.yaml', text }]));
    expect(set.targets.map((t) => [t.name, t.environment, t.sensitivity, t.owner, t.capabilities])).toEqual([
      ['a', 'prod.example.org', 'medium', null, []],
      ['b', null, 'critical', null, ['edit-policy', 'impersonate']],
      ['c', 'staging', 'medium', 'team-c', []],
    ]);
  });

  it('names are unique across all documents, Mandates and Targets together', () => {
    const target = 'apiVersion: mandate/v1\nkind: Target\nmetadata: {name: m}\nspec: {match: a.internal}\n';
    const d = diags(parsePolicyTexts([{ name: 'p.yaml', text: `${mandate('m')}---\n${target}` }]));
    expect(d.map((x) => `${x.code} ${x.line}:${x.column} ${x.message}`)).toEqual([
      'DUPLICATE_NAME 16:18 name "m" is already used by the Mandate at p.yaml:4:9',
    ]);
  });

  it('empty files, comment-only files and empty documents are ignored', () => {
    const set = ok(parsePolicyTexts([
      { name: 'a.yaml', text: '' },
      { name: 'b.yaml', text: '# nothing here\n' },
      { name: 'c.yaml', text: `---\n---\n${mandate('m')}---\n` },
    ]));
    expect(set.mandates.map((m) => m.name)).toEqual(['m']);
    expect(set.files).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
  });

  it.each([
    ['flow sequences', `a: ${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['flow mappings', `a: ${'{b: '.repeat(5000)}1${'}'.repeat(5000)}`],
  ])('absurdly nested %s are a YAML_SYNTAX diagnostic, not a crash', (_name, text) => {
    const d = diags(parsePolicyTexts([{ name: 'deep.yaml', text }], [], false));
    expect(new Set(d.map((x) => x.code))).toEqual(new Set(['YAML_SYNTAX']));
  });

  it('JSON documents are accepted', () => {
    const json = JSON.stringify({
      apiVersion: 'mandate/v1',
      kind: 'Mandate',
      metadata: { name: 'j' },
      spec: {
        subject: 'spiffe://prod.example.org/ns/a/sa/j',
        owner: 'o',
        purpose: 'p',
        functions: [{ name: 'f', actions: [{ target: 'a.internal', methods: ['GET'], paths: ['/'] }] }],
      },
    }, null, 2);
    expect(ok(parsePolicyTexts([{ name: 'j.json', text: json }])).mandates[0]!.subject).toBe('spiffe://prod.example.org/ns/a/sa/j');
  });
});

describe('semantic rules', () => {
  const cases: [string, string, string, string][] = [
    ['subject with a port', mandate('m').replace('prod.example.org/', 'prod.example.org:443/'), 'INVALID_SUBJECT', '6:12'],
    ['subject with trailing slash', mandate('m').replace('sa/m', 'sa/m/'), 'INVALID_SUBJECT', '6:12'],
    ['subject without path', mandate('m').replace('/ns/a/sa/m', ''), 'INVALID_SUBJECT', '6:12'],
    ['subject percent-encoded', mandate('m').replace('sa/m', 'sa/%6D'), 'INVALID_SUBJECT', '6:12'],
    ['subject upper-case scheme', mandate('m').replace('spiffe:', 'SPIFFE:'), 'INVALID_SUBJECT', '6:12'],
    ['name too long', mandate('a'.repeat(64)), 'INVALID_NAME', '4:9'],
    ['name ending in dash', mandate('a-'), 'INVALID_NAME', '4:9'],
    ['function name too long', mandate('m', FUNCTIONS.replace('name: f', `name: ${'f'.repeat(64)}`)), 'INVALID_NAME', '10:13'],
    ['method lower case', mandate('m', FUNCTIONS.replace('[GET]', '[get]')), 'INVALID_METHOD', '12:42'],
    ['method with dash', mandate('m', FUNCTIONS.replace('[GET]', '[M-SEARCH]')), 'INVALID_METHOD', '12:42'],
    ['star with another method', mandate('m', FUNCTIONS.replace('[GET]', '[GET, "*"]')), 'INVALID_METHOD', '12:47'],
    ['empty methods', mandate('m', FUNCTIONS.replace('[GET]', '[]')), 'EMPTY_LIST', '12:41'],
    ['spiffe target with query', mandate('m', FUNCTIONS.replace('a.internal', '"spiffe://prod.example.org/x?y"')), 'INVALID_TARGET', '12:20'],
    ['host target with path', mandate('m', FUNCTIONS.replace('a.internal', 'a.internal/x')), 'INVALID_TARGET', '12:20'],
    ['host target with port 70000', mandate('m', FUNCTIONS.replace('a.internal', 'a.internal:70000')), 'INVALID_TARGET', '12:20'],
    ['missing owner', mandate('m').replace('  owner: team-a\n', ''), 'MISSING_FIELD', '5:1'],
    ['owner without value', mandate('m').replace('owner: team-a', 'owner:'), 'MISSING_FIELD', '7:3'],
    ['owner of spaces only', mandate('m').replace('owner: team-a', 'owner: "   "'), 'EMPTY_VALUE', '7:10'],
    ['purpose of a tab only', mandate('m').replace(/purpose: .*/, 'purpose: "\\t"'), 'EMPTY_VALUE', '8:12'],
    ['missing methods', mandate('m', FUNCTIONS.replace('methods: [GET], ', '')), 'MISSING_FIELD', '12:11'],
  ];
  it.each(cases)('%s', (_name, text, code, at) => {
    const d = diags(parsePolicyTexts([{ name: 'p.yaml', text }]));
    expect(d.map((x) => `${x.code} ${x.line}:${x.column}`)).toEqual([`${code} ${at}`]);
  });

  it('reports every problem at once, across files, sorted', () => {
    const bad1 = mandate('m', FUNCTIONS.replace('[GET]', '[get]'));
    const bad2 = mandate('n', FUNCTIONS.replace('a.internal', 'a..internal')).replace('owner: team-a', 'owner: ""');
    const d = diags(parsePolicyTexts([{ name: 'z.yaml', text: bad1 }, { name: 'a.yaml', text: bad2 }]));
    expect(d.map((x) => `${x.file}:${x.line}:${x.column}: ${x.code}`)).toEqual([
      'a.yaml:7:10: EMPTY_VALUE',
      'a.yaml:12:20: INVALID_TARGET',
      'z.yaml:12:42: INVALID_METHOD',
    ]);
  });

  it('two targets equal after host normalisation are duplicates', () => {
    const t = (name: string, match: string) => `apiVersion: mandate/v1\nkind: Target\nmetadata: {name: ${name}}\nspec: {match: "${match}"}\n`;
    const d = diags(parsePolicyTexts([{ name: 't.yaml', text: `${t('a', 'Ledger.internal.:8443')}---\n${t('b', 'ledger.internal:8443')}` }]));
    expect(d.map((x) => [x.code, x.line])).toEqual([['DUPLICATE_TARGET', 9]]);
    expect(d[0]!.message).toContain('t.yaml:4:');
  });

  it('the same host with and without port are different targets', () => {
    const t = (name: string, match: string) => `apiVersion: mandate/v1\nkind: Target\nmetadata: {name: ${name}}\nspec: {match: "${match}"}\n`;
    ok(parsePolicyTexts([{ name: 't.yaml', text: `${t('a', 'ledger.internal')}---\n${t('b', 'ledger.internal:8443')}` }]));
  });
});
