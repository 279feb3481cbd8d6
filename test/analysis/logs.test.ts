import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogAnalyzer } from '../../src/analysis/log-findings.js';
import { newLogStats, readLogFile, toLogEntry } from '../../src/analysis/logs.js';
import { Replayer } from '../../src/analysis/replay.js';
import { explainEntry, formatExplanation } from '../../src/analysis/explain.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { runAnalyzeCommand } from '../../src/cli/analyze.js';
import { generalizePath } from '../../src/analysis/suggest.js';
import { act, fn, id, mandate, policySet } from './build.js';
import { runCli } from './run-cli.js';

const set = policySet([
  mandate('a', id('a'), [fn('w', [act('api.internal:8443', ['GET'], ['/v1/items/{id}', '/v1/all/**'])])], { mode: 'dry-run' }),
  mandate('b', id('b'), [fn('w', [act(id('a'), ['*'], ['/**'])])]),
]);

describe('decision-log reading', () => {
  it('streams a large gzip log line by line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-logs-'));
    const file = path.join(dir, 'big.log.gz');
    const N = 20_000;
    function* lines() {
      for (let i = 0; i < N; i++) {
        yield `${JSON.stringify({ time: 1_764_800_000_000 + i, decision_id: `d${i}`, decision: 'allow', reason: 'ALLOWED', source: id('a'), mandate: 'a', function: 'w', target: 'api.internal:8443', method: 'GET', path: `/v1/items/${i}`, dry_run: true })}\n`;
        if (i % 1000 === 0) yield 'pino says hello\n';
      }
    }
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(file));
    const stats = newLogStats();
    const analyzer = new LogAnalyzer(set, { since: null, until: null });
    let last = '';
    for await (const e of readLogFile(file, stats)) {
      analyzer.add(e);
      last = e.decisionId!;
    }
    expect(stats).toEqual({ lines: N + N / 1000, entries: N, skipped: N / 1000 });
    expect(last).toBe(`d${N - 1}`);
    const r = analyzer.finish();
    // 20,000 distinct ids collapse into one action.
    expect(r.suggestions).toHaveLength(1);
    expect(r.suggestions[0]!.actions).toBe(1);
    expect(r.suggestions[0]!.yaml).toContain('/v1/items/{id}');
  });

  it.each([
    ['truncated gzip', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2])],
    ['gzip magic then garbage', Buffer.from('\x1f\x8bgarbage', 'latin1')],
  ])('exits 2 on a %s', async (_n, bytes) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-logs-'));
    writeFileSync(path.join(dir, 'bad.gz'), bytes);
    const r = await runCli(runAnalyzeCommand, [path.resolve(import.meta.dirname, '../fixtures/analysis/policies'), '--logs', path.join(dir, 'bad.gz')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read logs/);
  });

  it.each([
    ['epoch ms', 1_764_800_000_123, 1_764_800_000_123],
    ['epoch seconds', 1_764_800_000, 1_764_800_000_000],
    ['ISO', '2025-12-03T22:13:20.000Z', 1_764_800_000_000],
    ['nonsense', 'yesterday', null],
  ])('reads time as %s', (_n, time, ms) => {
    expect(toLogEntry({ time, decision: 'deny' }, 'f', 1)!.time).toBe(ms);
  });

  it('hostile log lines never throw out of analysis, replay or explain', () => {
    const compiled = compilePolicy(set);
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.constantFrom(id('a'), id('b'), 'a', 'b', 'w', 'ALLOWED', 'TOKEN_SUBJECT_MISMATCH', 'TOKEN_REVOKED', '/v1/items/1', 'GET', 'api.internal:8443'));
    const keys = fc.constantFrom('time', 'decision_id', 'reason', 'dry_run', 'would_deny', 'source', 'identity_via', 'target', 'method', 'path', 'function', 'function_via', 'mandate', 'txn', 'token_sha256', 'host', 'destination', 'header_function', 'route_function', 'token_scope', 'token_sub', 'token_iat', 'token_exp', 'action', 'detail');
    fc.assert(
      fc.property(fc.dictionary(keys, value), fc.constantFrom('allow', 'deny'), (o, decision) => {
        const e = toLogEntry({ ...o, decision }, 'f.log', 1)!;
        const analyzer = new LogAnalyzer(set, { since: null, until: null });
        analyzer.add(e);
        analyzer.finish();
        new Replayer(compiled, null).add(e);
        formatExplanation(explainEntry(e, set));
      }),
      { numRuns: 300 },
    );
  });
});

describe('path generalisation', () => {
  it.each([
    ['/v1/orders/123', '/v1/orders/{id}'],
    ['/v1/orders/123/items/456', '/v1/orders/{id}/items/{id2}'],
    ['/v1/u/123e4567-E89B-12d3-a456-426614174000', '/v1/u/{id}'],
    ['/v1/users/alice', '/v1/users/alice'],
    ['/v1/hash/deadbeef', '/v1/hash/deadbeef'],
    ['/v2/x1', '/v2/x1'],
    ['/a/', '/a/'],
  ])('%s -> %s', (p, t) => {
    expect(generalizePath(p)).toBe(t);
  });
});
