import { describe, expect, it } from 'vitest';
import { analyzePolicy, DEFAULT_MAX_DEPTH } from '../../src/analysis/policy-findings.js';
import type { FindingCode } from '../../src/analysis/findings.js';
import type { PolicySet } from '../../src/policy/model.js';
import { act, fn, id, mandate, policySet, target } from './build.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const run = (set: PolicySet, maxDepth = DEFAULT_MAX_DEPTH) =>
  analyzePolicy(set, { nowMs: NOW, maxDepth, maxPathFindings: 10_000 }).findings;
const codes = (set: PolicySet, code: FindingCode) => run(set).filter((f) => f.code === code);

// A -> B -> DB (critical), B is a mandate subject.
const chain = (extraForA: ReturnType<typeof act>[] = []) =>
  policySet(
    [
      mandate('a', id('a'), [fn('work', [act(id('b')), ...extraForA])]),
      mandate('b', id('b'), [fn('work', [act('db.internal:5432')])]),
    ],
    [target('db', 'db.internal', { sensitivity: 'critical' })],
  );

describe('LATERAL_PATH', () => {
  it('reports A -> B -> sensitive target with the full path', () => {
    const [f, ...rest] = codes(chain(), 'LATERAL_PATH');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      code: 'LATERAL_PATH',
      severity: 'critical',
      owasp: 'NHI5',
      path: [id('a'), id('b'), 'db.internal:5432'],
      mandates: [
        { name: 'a', id: id('a') },
        { name: 'b', id: id('b') },
      ],
      targets: [{ name: 'db', id: 'db.internal:5432' }],
    });
    expect(f!.location.file).toBe('policies/actions.yaml');
  });

  it.each([
    ['a direct grant on the same host and port', [act('db.internal:5432')]],
    ['a direct grant on the host without port', [act('db.internal')]],
  ])('is not reported with %s', (_name, extra) => {
    expect(codes(chain(extra), 'LATERAL_PATH')).toEqual([]);
  });

  it('is not reported when the target is only medium sensitivity', () => {
    const set = policySet(chain().mandates as never, [target('db', 'db.internal', { sensitivity: 'medium' })]);
    expect(codes(set, 'LATERAL_PATH')).toEqual([]);
  });

  it('is not reported through a target that is not a mandate subject', () => {
    const set = policySet(
      [mandate('a', id('a'), [fn('w', [act(id('ghost'))])]), mandate('c', id('c'), [fn('w', [act('db.internal')])])],
      [target('db', 'db.internal', { sensitivity: 'high' })],
    );
    expect(codes(set, 'LATERAL_PATH').map((f) => f.path)).toEqual([]);
  });

  it('respects the depth limit and picks the shortest path', () => {
    // a -> b1 -> b2 -> b3 -> db and a -> c -> db: shortest is 2 hops via c.
    const set = policySet(
      [
        mandate('a', id('a'), [fn('w', [act(id('b1')), act(id('c'))])]),
        mandate('b1', id('b1'), [fn('w', [act(id('b2'))])]),
        mandate('b2', id('b2'), [fn('w', [act(id('b3'))])]),
        mandate('b3', id('b3'), [fn('w', [act('db.internal')])]),
        mandate('c', id('c'), [fn('w', [act('db.internal')])]),
      ],
      [target('db', 'db.internal', { sensitivity: 'high' })],
    );
    const fa = codes(set, 'LATERAL_PATH').find((f) => f.path![0] === id('a'))!;
    expect(fa.path).toEqual([id('a'), id('c'), 'db.internal']);
    const shallow = analyzePolicy(set, { nowMs: NOW, maxDepth: 2, maxPathFindings: 100 }).findings;
    expect(shallow.filter((f) => f.code === 'LATERAL_PATH').map((f) => f.path![0]).sort()).toEqual([id('a'), id('b2')]);
  });

  it('terminates on cycles and reports each (subject, target) once', () => {
    const set = policySet(
      [
        mandate('a', id('a'), [fn('w', [act(id('b'))])]),
        mandate('b', id('b'), [fn('w', [act(id('a')), act('db.internal')])]),
      ],
      [target('db', 'db.internal', { sensitivity: 'high' })],
    );
    expect(codes(set, 'LATERAL_PATH').map((f) => f.path)).toEqual([[id('a'), id('b'), 'db.internal']]);
  });

  it('stops at the cap and says so', () => {
    const r = analyzePolicy(chain(), { nowMs: NOW, maxDepth: 6, maxPathFindings: 0 });
    expect(r.truncated).toBe(true);
    expect(r.findings.filter((f) => f.code === 'LATERAL_PATH')).toEqual([]);
  });
});

describe('ESCALATION_PATH', () => {
  const vault = (risk: 'low' | 'medium' | 'high' | 'critical', sensitivity: 'high' | 'critical' = 'high', caps = ['mint-credentials'] as const) =>
    policySet(
      [
        mandate('a', id('a'), [fn('w', [act(id('b'))])], { risk }),
        mandate('b', id('b'), [fn('w', [act(id('vault'))])], { risk: 'critical' }),
      ],
      [target('vault', id('vault'), { sensitivity, capabilities: [...caps] })],
    );

  it('reports a lower-risk subject reaching a minting target, with its path', () => {
    const f = codes(vault('low'), 'ESCALATION_PATH');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'high', owasp: 'NHI5', path: [id('a'), id('b'), id('vault')] });
  });

  it('reports a direct grant too (any path)', () => {
    const set = policySet(
      [mandate('a', id('a'), [fn('w', [act(id('vault'))])], { risk: 'medium' })],
      [target('vault', id('vault'), { sensitivity: 'critical', capabilities: ['impersonate'] })],
    );
    expect(codes(set, 'ESCALATION_PATH').map((f) => [f.severity, f.path])).toEqual([['critical', [id('a'), id('vault')]]]);
  });

  it.each([
    ['an equal-risk subject', vault('high')],
    ['a higher-risk subject', vault('critical')],
    ['a target with only read-secrets', vault('low', 'high', ['read-secrets'] as never)],
  ])('is not reported for %s', (_n, set) => {
    expect(codes(set, 'ESCALATION_PATH').filter((f) => f.path![0] === id('a'))).toEqual([]);
  });
});

describe('CROSS_ENVIRONMENT', () => {
  it.each([
    ['spiffe target in another trust domain', act(id('x', 'staging.example.org')), [], 1],
    ['same trust domain', act(id('x')), [], 0],
    ['host target with a Target doc in dev', act('cache.dev'), [target('cache', 'cache.dev', { environment: 'dev' })], 1],
    ['host target without any environment', act('cache.dev'), [], 0],
    ['host target labelled prod from a prod.example.org subject', act('db.prod'), [target('db', 'db.prod', { environment: 'prod' })], 0],
    ['host target labelled staging from a prod.example.org subject', act('db.stg'), [target('db', 'db.stg', { environment: 'staging' })], 1],
    ['spiffe target whose Target doc says prod', act(id('x')), [target('x', id('x'), { environment: 'prod' })], 0],
    ['spiffe target in prod.example.org labelled dev', act(id('x')), [target('x', id('x'), { environment: 'dev' })], 1],
  ])('%s', (_n, a, targets, n) => {
    const set = policySet([mandate('a', id('a'), [fn('w', [a])])], targets);
    const f = codes(set, 'CROSS_ENVIRONMENT');
    expect(f).toHaveLength(n);
    if (n > 0) expect(f[0]!.owasp).toBe('NHI8');
  });

  it('uses the environment label of the mandate', () => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('cache.dev')])], { labels: { environment: 'dev' } })], [
      target('cache', 'cache.dev', { environment: 'dev' }),
    ]);
    expect(codes(set, 'CROSS_ENVIRONMENT')).toEqual([]);
  });
});

describe('BROAD_ACTION', () => {
  it.each([
    ['* methods on a high target', 'high', ['*'], ['/v1/x'], 'medium'],
    ['** path on a critical target', 'critical', ['GET'], ['/v1/**'], 'high'],
    ['bare ** on a high target', 'high', ['GET'], ['/**'], 'medium'],
    ['* on a medium target', 'medium', ['*'], ['/**'], null],
    ['exact action on a critical target', 'critical', ['GET', 'POST'], ['/v1/items/{id}'], null],
  ] as const)('%s', (_n, sensitivity, methods, paths, severity) => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('api.internal', [...methods], [...paths])])])], [
      target('api', 'api.internal', { sensitivity }),
    ]);
    const f = codes(set, 'BROAD_ACTION');
    expect(f.map((x) => x.severity)).toEqual(severity === null ? [] : [severity]);
  });
});

describe('HIGH_RISK_WITHOUT_TOKEN', () => {
  it.each([
    ['high risk, optional token', 'high', 'optional', ['medium']],
    ['critical risk, optional token', 'critical', 'optional', ['high']],
    ['high risk, required token', 'high', 'required', []],
    ['low risk, optional token is fine', 'low', 'optional', []],
    ['medium risk, optional token is fine', 'medium', 'optional', []],
  ] as const)('%s', (_n, risk, taskToken, severities) => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('x')], taskToken)], { risk })]);
    const f = codes(set, 'HIGH_RISK_WITHOUT_TOKEN');
    expect(f.map((x) => x.severity)).toEqual(severities);
    f.forEach((x) => expect(x.targets).toEqual([{ name: null, id: 'x' }]));
    f.forEach((x) => expect(x.owasp).toBe('NHI7'));
  });
});

describe('review dates', () => {
  it.each([
    ['no reviewBy', null, 'REVIEW_MISSING'],
    ['passed yesterday', '2026-12-03', 'REVIEW_OVERDUE'],
    ['exactly now', '2026-12-04T12:00:00Z', 'REVIEW_OVERDUE'],
    ['in 10 days', '2026-12-14', 'REVIEW_DUE_SOON'],
    ['in exactly 30 days', '2027-01-03T12:00:00Z', 'REVIEW_DUE_SOON'],
    ['in 31 days', '2027-01-04T12:00:01Z', null],
  ] as const)('%s', (_n, reviewBy, code) => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('x')])], { reviewBy })]);
    const f = run(set).filter((x) => x.code.startsWith('REVIEW_'));
    expect(f.map((x) => x.code)).toEqual(code === null ? [] : [code]);
    f.forEach((x) => {
      expect(x.owasp).toBe('NHI1');
      expect(x.mandates).toEqual([{ name: 'a', id: id('a') }]);
      expect(x.location.file).toBe('policies/a.yaml');
    });
  });
});
