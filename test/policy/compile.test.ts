import { describe, expect, it } from 'vitest';
import { compilePolicy, compilePolicyYielding } from '../../src/policy/compile.js';
import type { ActionRequest } from '../../src/policy/compiled.js';
import { normalizeHost } from '../../src/policy/hosts.js';
import { parsePolicyTexts } from '../../src/policy/load.js';
import { checkRequestPath } from '../../src/policy/paths.js';
import { loadedSet, mandate } from './fixtures.js';

// "mixed": five actions covering every kind of target; the comments are their indexes.
const MIXED_ACTIONS = `      actions:
        - target: spiffe://prod.example.org/ns/b/sa/api      # 0
          methods: [POST]
          paths: ["/v1/items/{id}"]
        - target: Ledger.Internal.                          # 1: any port
          methods: [GET]
          paths: ["/v1/entries/**"]
        - target: ledger.internal:8443                      # 2: only 8443
          methods: [PUT]
          paths: ["/v1/entries/{id}"]
        - target: spiffe://prod.example.org/ns/b/sa/api      # 3
          methods: ["*"]
          paths: ["/v1/items/{id}", "/v1/other/"]
        - target: "[::1]:9000"                              # 4
          methods: [DELETE]
          paths: ["/x"]
`;
const PLAIN = `    - name: plain
      actions:
        - {target: api.internal, methods: [GET], paths: [/]}
`;

const WORKER = mandate('worker', `  risk: high
  reviewBy: "2027-03-01"
  functions:
    - name: mixed
      taskToken: optional
      maxTokenTtl: 2m
${MIXED_ACTIONS}${PLAIN}`);
const AGENT = mandate('agent', `  mode: dry-run
  functions:
${PLAIN}`, 'spiffe://ci.example.org/repo/acme/api');
const TEXT = `${WORKER}---\n${AGENT}`;

// The same five actions as "mixed", then enough others that the function is indexed by
// target instead of scanned (more than compile.ts's SCAN_LIMIT of 8).
const PADDING = Array.from({ length: 7 }, (_, i) =>
  `        - {target: "spiffe://prod.example.org/ns/pad/sa/p${i}", methods: [GET], paths: ["/p/${i}"]}\n` +
  `        - {target: "pad-${i}.internal", methods: [GET], paths: ["/h/**"]}\n`).join('');
const WIDE = mandate('wide', `  risk: low
  functions:
    - name: mixed
${MIXED_ACTIONS}${PADDING}        - {target: "spiffe://prod.example.org/ns/pad/sa/p0", methods: [GET], paths: ["/late"]}
        - {target: "ledger.internal", methods: [GET], paths: ["/late"]}
`);

const set = loadedSet(parsePolicyTexts([{ name: 'p.yaml', text: TEXT }, { name: 'wide.yaml', text: WIDE }]));
const policy = compilePolicy(set);

function req(destinationPrincipal: string, host: string, method: string, path: string): ActionRequest {
  const hp = host === '' ? null : normalizeHost(host);
  return { destinationPrincipal, host: hp?.host ?? null, port: hp?.port ?? null, method, path, pathEnd: checkRequestPath(path) };
}

const API = 'spiffe://prod.example.org/ns/b/sa/api';

const WORKER_ID = 'spiffe://prod.example.org/ns/a/sa/worker';
const WIDE_ID = 'spiffe://prod.example.org/ns/a/sa/wide';

describe('compilePolicy', () => {
  it('indexes mandates by exact subject', () => {
    expect(policy.mandateCount).toBe(3);
    expect(policy.revision).toBe(set.revision);
    expect(policy.mandateName(policy.mandateOf(WORKER_ID))).toBe('worker');
    expect(policy.mandateOf('spiffe://prod.example.org/ns/a/sa/Worker')).toBe(-1);
    expect(policy.mandateOf(`${WORKER_ID}/`)).toBe(-1);
    expect(policy.mandateOf('')).toBe(-1);
    expect(policy.mandateOf('__proto__')).toBe(-1);
    expect([...policy.subjectTrustDomains].sort()).toEqual(['ci.example.org', 'prod.example.org']);
    expect(policy.mandateName(policy.mandateOf(WIDE_ID))).toBe('wide');
  });

  it('keeps the documents only when asked', () => {
    expect(policy.documents).toBeNull();
    expect(compilePolicy(set, { keepDocuments: true }).documents).toBe(set);
  });

  it('carries what the decision log and the checks need of each mandate', () => {
    const worker = policy.mandateOf(WORKER_ID);
    const agent = policy.mandateOf('spiffe://ci.example.org/repo/acme/api');
    const wide = policy.mandateOf(WIDE_ID);
    const doc = (name: string) => set.mandates.find((m) => m.name === name)!;
    for (const [m, name] of [[worker, 'worker'], [agent, 'agent'], [wide, 'wide']] as const) {
      const d = doc(name);
      expect([policy.mandateName(m), policy.mandateOwner(m), policy.mandatePurpose(m), policy.mandateRisk(m)])
        .toEqual([d.name, d.owner, d.purpose, d.risk]);
    }
    expect([policy.dryRun(worker), policy.reviewBy(worker), policy.reviewByText(worker)]).toEqual([false, Date.UTC(2027, 2, 1), '2027-03-01']);
    expect([policy.dryRun(agent), policy.reviewBy(agent), policy.reviewByText(agent)]).toEqual([true, Number.POSITIVE_INFINITY, null]);
    expect(policy.mandateRisk(worker)).toBe('high');
    const rules = (m: number, name: string) => {
      const f = policy.functionOf(m, name);
      return [policy.tokenRequired(f), policy.maxTokenTtlSeconds(f)];
    };
    expect(rules(worker, 'mixed')).toEqual([false, 120]);
    expect(rules(worker, 'plain')).toEqual([true, 300]);
    expect(rules(agent, 'plain')).toEqual([false, 900]);
    // Functions are the mandate's own: "mixed" of wide is not "mixed" of worker.
    expect(policy.functionOf(wide, 'mixed')).not.toBe(policy.functionOf(worker, 'mixed'));
    expect(policy.functionOf(agent, 'mixed')).toBe(-1);
  });

  it.each(['missing', 'Mixed', '__proto__', 'constructor', 'toString', ''])('has no function %j', (name) => {
    expect(policy.functionOf(policy.mandateOf(WORKER_ID), name)).toBe(-1);
  });

  const mixed = policy.functionOf(policy.mandateOf(WORKER_ID), 'mixed');
  const wide = policy.functionOf(policy.mandateOf(WIDE_ID), 'mixed');
  const wideSpecLength = set.mandates.find((m) => m.name === 'wide')!.functions[0]!.actions.length;
  it.each([
    ['SPIFFE target by principal', req(API, 'anything.example', 'POST', '/v1/items/7'), 0],
    ['SPIFFE target ignores the host', req('', API, 'POST', '/v1/items/7'), -1],
    ['SPIFFE target needs the exact principal', req(`${API}2`, '', 'POST', '/v1/items/7'), -1],
    ['first match in declaration order', req(API, '', 'POST', '/v1/items/7'), 0],
    ['later action when the first does not match the method', req(API, '', 'GET', '/v1/items/7'), 3],
    ['"*" matches any method, exactly as sent', req(API, '', 'post', '/v1/items/7'), 3],
    ['second template of an action', req(API, '', 'GET', '/v1/other/'), 3],
    ['trailing slash is significant', req(API, '', 'GET', '/v1/other'), -1],
    ['{id} needs a segment', req(API, '', 'POST', '/v1/items/'), -1],
    ['host target normalised at compile time, any port', req('', 'ledger.internal:1234', 'GET', '/v1/entries/a/b'), 1],
    ['host target without port matches a request without port', req('', 'LEDGER.internal.', 'GET', '/v1/entries'), 1],
    ['host target with port matches that port', req('', 'ledger.internal:8443', 'PUT', '/v1/entries/9'), 2],
    ['host target with port needs the port', req('', 'ledger.internal', 'PUT', '/v1/entries/9'), -1],
    ['host target with port refuses another port', req('', 'ledger.internal:443', 'PUT', '/v1/entries/9'), -1],
    ['host target ignores the destination principal', req('ledger.internal', '', 'GET', '/v1/entries'), -1],
    ['method is case-sensitive', req('', 'ledger.internal', 'get', '/v1/entries'), -1],
    ['IPv6 host target', req('', '[::1]:9000', 'DELETE', '/x'), 4],
    ['IPv6 host target needs its port', req('', '[::1]', 'DELETE', '/x'), -1],
    ['both principal and host: the earlier action wins', req(API, 'ledger.internal', 'GET', '/v1/entries'), 1],
    ['both principal and host: the earlier action wins, other way', req(API, 'ledger.internal', 'POST', '/v1/items/1'), 0],
    ['no target at all', req('', '', 'GET', '/'), -1],
  ])('%s', (_name, request, want) => {
    expect(policy.matchAction(mixed, request)).toBe(want);
    // A function indexed by target gives the same first match.
    expect(policy.matchAction(wide, request)).toBe(want);
  });

  it.each([
    ['a padding principal', req('spiffe://prod.example.org/ns/pad/sa/p3', '', 'GET', '/p/3'), 5 + 6],
    ['a padding host', req('', 'pad-6.internal:80', 'GET', '/h/x/y'), 5 + 13],
    ['a later action of an indexed principal', req('spiffe://prod.example.org/ns/pad/sa/p0', '', 'GET', '/late'), 19],
    ['a later action of an indexed host', req('', 'ledger.internal', 'GET', '/late'), 20],
    ['principal and host both indexed: the host matches', req('spiffe://prod.example.org/ns/pad/sa/p2', 'pad-1.internal', 'GET', '/h/1'), 5 + 3],
    ['an indexed principal with the wrong path', req('spiffe://prod.example.org/ns/pad/sa/p3', '', 'GET', '/p/4'), -1],
  ])('indexed function: %s', (_name, request, want) => {
    expect(wideSpecLength).toBe(21);
    expect(policy.matchAction(wide, request)).toBe(want);
  });

  it.each([
    ['host-only function: the host', req('', 'api.internal:80', 'GET', '/'), 0],
    ['host-only function: a principal that spells the host', req('api.internal', '', 'GET', '/'), -1],
    ['host-only function: a SPIFFE principal', req(API, '', 'GET', '/'), -1],
  ])('%s', (_name, request, want) => {
    expect(policy.matchAction(policy.functionOf(policy.mandateOf(WORKER_ID), 'plain'), request)).toBe(want);
  });

  it('answers the same after its recent-subject and recent-target tables fill and clear', () => {
    // The tables hold 4,096 entries each; 10,000 distinct misses clear them twice.
    for (let i = 0; i < 10_000; i++) {
      expect(policy.mandateOf(`spiffe://prod.example.org/ns/a/sa/none-${i}`)).toBe(-1);
      // A MandateRef is valid until the next lookup (it may be a hot copy), so look again.
      const mixedAgain = policy.functionOf(policy.mandateOf(WORKER_ID), 'mixed');
      expect(policy.matchAction(mixedAgain, req(`${API}-${i}`, `h${i}.internal`, 'POST', '/v1/items/7'))).toBe(-1);
      if (i % 1_000 === 0) {
        expect(policy.mandateName(policy.mandateOf(WORKER_ID))).toBe('worker');
        expect(policy.matchAction(mixedAgain, req(API, '', 'POST', '/v1/items/7'))).toBe(0);
        expect(policy.matchAction(mixedAgain, req('', 'ledger.internal:8443', 'PUT', '/v1/entries/9'))).toBe(2);
      }
    }
    expect(policy.mandateName(policy.mandateOf(WIDE_ID))).toBe('wide');
  });

  describe('hot copies of recently used mandates', () => {
    // Each mandate: two functions, the second with `width` host actions of which only the
    // last matches its own host; every field the decision reads differs per mandate.
    function estate(count: number, width: (i: number) => number): ReturnType<typeof compilePolicy> {
      const docs = Array.from({ length: count }, (_, i) => mandate(`m${i}`, `  risk: ${i % 2 === 0 ? 'low' : 'high'}
  reviewBy: "${2030 + (i % 50)}-01-01"
${i % 3 === 0 ? '  mode: dry-run\n' : ''}  functions:
    - name: first
      taskToken: ${i % 2 === 0 ? 'optional' : 'required'}
      actions:
        - {target: "spiffe://prod.example.org/ns/b/sa/t${i}", methods: [POST], paths: ["/v1/{id}"]}
    - name: wide
      maxTokenTtl: ${60 + (i % 3000)}s
      actions:
${'        - {target: "other.internal", methods: [GET], paths: ["/o"]}\n'.repeat(width(i) - 1)}        - {target: "h${i}.internal", methods: [GET], paths: ["/m/${i}/**"]}
`));
      return compilePolicy(loadedSet(parsePolicyTexts([{ name: 'estate.yaml', text: docs.join('---\n') }])));
    }

    function expectMandate(p: ReturnType<typeof compilePolicy>, i: number, width: number): void {
      const m = p.mandateOf(`spiffe://prod.example.org/ns/a/sa/m${i}`);
      expect(m).not.toBe(-1);
      expect([p.mandateName(m), p.mandateRisk(m), p.reviewByText(m), p.dryRun(m)])
        .toEqual([`m${i}`, i % 2 === 0 ? 'low' : 'high', `${2030 + (i % 50)}-01-01`, i % 3 === 0]);
      expect(p.reviewBy(m)).toBe(Date.parse(`${2030 + (i % 50)}-01-01T00:00:00Z`));
      const first = p.functionOf(m, 'first');
      expect([p.tokenRequired(first), p.matchAction(first, req(`spiffe://prod.example.org/ns/b/sa/t${i}`, '', 'POST', '/v1/7'))])
        .toEqual([i % 2 === 1, 0]);
      expect(p.matchAction(first, req(`spiffe://prod.example.org/ns/b/sa/t${i + 1}`, '', 'POST', '/v1/7'))).toBe(-1);
      const wide = p.functionOf(m, 'wide');
      expect(p.maxTokenTtlSeconds(wide)).toBe(60 + (i % 3000));
      expect(p.matchAction(wide, req('', `h${i}.internal`, 'GET', `/m/${i}/x`))).toBe(width - 1);
      expect(p.matchAction(wide, req('', `h${i}.internal`, 'GET', `/m/${i + 1}/x`))).toBe(-1);
    }

    it('copies a looked-up record whole: its functions lie within the copy, after the arena\'s earlier copies', () => {
      const p = estate(3, () => 2);
      const refs = [0, 1, 2].map((i) => p.mandateOf(`spiffe://prod.example.org/ns/a/sa/m${i}`));
      // The arena follows every original record, and the copies follow each other.
      expect(refs[0]).toBeGreaterThan(0);
      expect(refs[1]).toBeGreaterThan(refs[0]!);
      expect(refs[2]).toBeGreaterThan(refs[1]!);
      const wide = p.functionOf(refs[2]!, 'wide');
      // Relocated: the copy's function, not the original's (which lies before the arena).
      expect(wide).toBeGreaterThan(refs[2]!);
      expect(wide - refs[2]!).toBeLessThan(refs[2]! - refs[1]!);
      expectMandate(p, 2, 2);
    });

    it('answers the same when more callers are active than the recent-subject table holds', () => {
      // 5,000 small records: the table (4,096 subjects) empties the arena before it fills.
      const p = estate(5_000, () => 2);
      for (const pass of [0, 1]) {
        for (let k = 0; k < 5_000; k++) expectMandate(p, pass === 0 ? k : 4_999 - k, 2);
      }
    }, 60_000);

    it('answers the same when the active records outgrow the arena, and serves a huge one in place', () => {
      // ~1,000 slots each: the 1 MiB arena holds ~260 of these 400, so it empties by size;
      // m0 (20,000 slots) is larger than a copy may be.
      const width = (i: number): number => (i === 0 ? 5_000 : 250);
      const p = estate(400, width);
      for (const pass of [0, 1, 2]) {
        for (let k = 0; k < 400; k++) {
          const i = pass === 1 ? 399 - k : k;
          expectMandate(p, i, width(i));
          if (k % 50 === 0) expectMandate(p, 0, width(0));
        }
      }
    }, 60_000);
  });

  it('compiles an empty set', () => {
    const p = compilePolicy(loadedSet(parsePolicyTexts([{ name: 'e.yaml', text: '' }])));
    expect([p.mandateCount, p.subjectTrustDomains.size, p.mandateOf('spiffe://a/b')]).toEqual([0, 0, -1]);
  });
});

describe('compilePolicyYielding', () => {
  // More mandates than one chunk (2,000), each with its own host target and function.
  const big = loadedSet(parsePolicyTexts([{
    name: 'big.yaml',
    text: Array.from({ length: 2_300 }, (_, i) => mandate(`m${i}`, `  functions:
    - name: f${i % 7}
      actions:
        - {target: "h${i}.internal", methods: [GET], paths: ["/x/{id}"]}
`)).join('---\n'),
  }]));

  it('builds the same index as compilePolicy, turning the event loop between chunks', async () => {
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const yielded = await compilePolicyYielding(big);
    const direct = compilePolicy(big);
    expect(turns).toBeGreaterThan(0);
    expect([yielded.mandateCount, yielded.revision]).toEqual([2_300, big.revision]);
    for (const i of [0, 1, 1_999, 2_000, 2_001, 2_299]) {
      const m = yielded.mandateOf(`spiffe://prod.example.org/ns/a/sa/m${i}`);
      expect(yielded.mandateName(m)).toBe(direct.mandateName(direct.mandateOf(`spiffe://prod.example.org/ns/a/sa/m${i}`)));
      expect(yielded.mandateName(m)).toBe(`m${i}`);
      const f = yielded.functionOf(m, `f${i % 7}`);
      expect(yielded.matchAction(f, req('', `h${i}.internal`, 'GET', '/x/1'))).toBe(0);
      expect(yielded.matchAction(f, req('', `h${i + 1}.internal`, 'GET', '/x/1'))).toBe(-1);
    }
  });
});
