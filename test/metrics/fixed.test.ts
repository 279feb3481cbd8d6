/**
 * The typed-array decision metrics (src/metrics/fixed.ts) print, byte for byte, what
 * prom-client's own Histogram and Counter print for the same observations. The reference is
 * built here the way createMetrics built it before: prom-client objects, the histogram's two
 * series zeroed, the possible decision series incremented by 0, pre-bound label children.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import { CHECK_DURATION_BUCKETS, createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { REASON_CODES, type ReasonCode } from '../../src/errors.js';

type Decision = 'allow' | 'deny';
type Obs = readonly [Decision, ReasonCode, boolean, number];

const OWN = ['mandate_check_duration_seconds', 'mandate_decisions_total'];

/** The old wiring, on a registry that then holds the new instance's other metrics, in order. */
function reference(m: Metrics) {
  const registry = new Registry();
  const duration = new Histogram({
    name: 'mandate_check_duration_seconds',
    help: 'Time to decide one Check request, from request receipt to the answer handed to gRPC.',
    labelNames: ['decision'] as const,
    buckets: [...CHECK_DURATION_BUCKETS],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'mandate_decisions_total',
    help: 'Decisions by outcome and reason code; dry_run="true" marks decisions taken in dry-run mode.',
    labelNames: ['decision', 'reason', 'dry_run'] as const,
    registers: [registry],
  });
  for (const metric of m.registry.getMetricsAsArray()) if (!OWN.includes(metric.name)) registry.registerMetric(metric as unknown as Metric);
  const children = new Map<string, { inc(): void; observe(v: number): void }>();
  for (const decision of ['allow', 'deny'] as const) {
    const d = duration.labels(decision);
    duration.zero({ decision });
    for (const reason of REASON_CODES) {
      for (const dryRun of [false, true]) {
        const labels = { decision, reason, dry_run: dryRun ? 'true' : 'false' } as const;
        const possible = decision === 'allow' ? reason === 'ALLOWED' || dryRun : reason !== 'ALLOWED';
        if (possible) decisions.inc(labels, 0);
        const c = decisions.labels(labels);
        children.set(`${decision}/${reason}/${dryRun}`, { inc: () => c.inc(), observe: (v) => d.observe(v) });
      }
    }
  }
  return {
    registry,
    /** As observeDecision did; returns what prom-client threw, if anything. */
    observe([decision, reason, dryRun, seconds]: Obs): unknown {
      const c = children.get(`${decision}/${reason}/${dryRun}`)!;
      c.inc();
      try {
        c.observe(seconds);
        return undefined;
      } catch (e) {
        return e;
      }
    },
  };
}

/** Feeds both, comparing the whole /metrics text after every `every` observations and at the end. */
async function same(obs: readonly Obs[], every = Infinity): Promise<void> {
  const m = createMetrics({ defaultMetrics: false });
  const ref = reference(m);
  expect(await m.registry.metrics()).toBe(await ref.registry.metrics());
  for (let i = 0; i < obs.length; i++) {
    const o = obs[i]!;
    const thrown = ref.observe(o);
    // prom-client refuses exactly the non-finite values; the new path leaves them out of the
    // histogram instead of throwing (the decision is still counted, as before).
    expect(thrown instanceof TypeError).toBe(!Number.isFinite(o[3]));
    expect(() => m.observeDecision(...o)).not.toThrow();
    if ((i + 1) % every === 0) expect(await m.registry.metrics()).toBe(await ref.registry.metrics());
  }
  expect((await m.render()).body).toBe(await ref.registry.metrics());
}

const bounds = [...CHECK_DURATION_BUCKETS];
const edgeValues = [
  0, -0, -1, -1e-9, 5e-324, 1e-7,
  ...bounds,
  ...bounds.map((b) => b * (1 + 1e-15)),
  ...bounds.map((b) => b * (1 - 1e-15)),
  0.2500000000000001, 1, 3600, 1e300, Number.MAX_VALUE,
];

describe('decision metrics: byte-identical to prom-client Histogram and Counter', () => {
  it('before any observation (the zero-initialised series)', async () => {
    await same([]);
  });

  it.each(['allow', 'deny'] as const)('%s: every bucket bound, just above and below it, 0, -0, negatives, huge', async (decision) => {
    const reason: ReasonCode = decision === 'allow' ? 'ALLOWED' : 'NO_MANDATE';
    await same(edgeValues.map((v): Obs => [decision, reason, false, v]), 7);
  });

  it('a sum that overflows to +Inf (two Number.MAX_VALUE), then more values', async () => {
    await same([
      ['deny', 'TOKEN_INVALID', false, Number.MAX_VALUE],
      ['deny', 'TOKEN_INVALID', false, Number.MAX_VALUE],
      ['deny', 'TOKEN_INVALID', true, 1e-5],
      ['allow', 'ALLOWED', false, 3e-5],
    ], 1);
  });

  it('every reason, both decisions, dry runs, and series that start absent appear in first-use order', async () => {
    const obs: Obs[] = [
      ['deny', 'ALLOWED', false, 1e-5], // impossible combination: absent at start, appended
      ['allow', 'NO_MANDATE', false, 2e-5], // likewise, after the previous one
    ];
    REASON_CODES.forEach((reason, i) => {
      for (const decision of ['allow', 'deny'] as const) {
        for (const dryRun of [false, true]) obs.push([decision, reason, dryRun, bounds[i % bounds.length]! * 0.9]);
      }
    });
    obs.push(['deny', 'ALLOWED', true, 0.3]);
    await same(obs, 5);
  });

  it.each([NaN, Infinity, -Infinity])('a non-finite duration (%s) is counted as a decision, not observed, and does not throw', async (v) => {
    await same([
      ['allow', 'ALLOWED', false, 1e-4],
      ['allow', 'ALLOWED', false, v],
      ['deny', 'NO_IDENTITY', false, v],
      ['deny', 'NO_IDENTITY', false, 2e-3],
    ], 1);
  });

  it('generated sequences, compared along the way', async () => {
    const value = fc.oneof(
      fc.constantFrom(...edgeValues),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: 1, max: 300_000 }).map((us) => us / 1e6), // as server.ts divides duration_us
    );
    const obs = fc.tuple(fc.constantFrom('allow', 'deny') as fc.Arbitrary<Decision>, fc.constantFrom(...REASON_CODES), fc.boolean(), value);
    await fc.assert(
      fc.asyncProperty(fc.array(obs, { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (xs, every) => same(xs, every)),
      { numRuns: 150 },
    );
  });

  it('resetMetrics returns both to their start, zeroed series included', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.observeDecision('deny', 'ALLOWED', false, 1e-3);
    m.observeDecision('allow', 'ALLOWED', true, 1e-2);
    m.registry.resetMetrics();
    const fresh = createMetrics({ defaultMetrics: false });
    for (const name of OWN) {
      expect(await m.registry.getSingleMetricAsString(name)).toBe(await fresh.registry.getSingleMetricAsString(name));
    }
    m.observeDecision('allow', 'ALLOWED', false, 1e-3);
    fresh.observeDecision('allow', 'ALLOWED', false, 1e-3);
    for (const name of OWN) {
      expect(await m.registry.getSingleMetricAsString(name)).toBe(await fresh.registry.getSingleMetricAsString(name));
    }
  });

  it('keeps its place among the default metrics: right after them, before the other mandate metrics', async () => {
    const names = createMetrics().registry.getMetricsAsArray().map((x) => x.name);
    const i = names.indexOf('mandate_check_duration_seconds');
    expect(names.slice(i, i + 3)).toEqual([...OWN, 'mandate_policy_mandates']);
    expect(names.slice(0, i).every((n) => !n.startsWith('mandate_'))).toBe(true);
    expect(i).toBeGreaterThan(0);
  });
});
