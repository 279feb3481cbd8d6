/**
 * Prometheus metrics (SPEC section 7) on a registry of our own, so embedding mandate or
 * running several instances in one test process never collides in prom-client's global one.
 *
 * Hot path: observeDecision() finds, in a table built here once, the index of its
 * (decision, reason, dry_run) series and adds to typed arrays (fixed.ts), so a call allocates
 * nothing and hashes no labels. The series that can occur are created at zero up front so
 * rate() and absent-series alerts work from the first scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { REASON_CODES, type ReasonCode } from '../errors.js';
import { FixedCounter, FixedHistogram } from './fixed.js';

export const CHECK_DURATION_BUCKETS: readonly number[] = Object.freeze([
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25,
]);

const DECISIONS = ['allow', 'deny'] as const;
const DRY_RUNS = ['false', 'true'] as const;

export interface Metrics {
  readonly registry: Registry;
  /** One decision: its latency and its count. O(1), no allocation. */
  observeDecision(decision: 'allow' | 'deny', reason: ReasonCode, dryRun: boolean, seconds: number): void;
  /**
   * Every policy load, the first included. On success sets the mandate count, the reload
   * time and the revision info (only the current revision has value 1); on failure only
   * counts it (revision and count are ignored).
   */
  policyLoaded(revision: string | null, mandateCount: number, ok: boolean): void;
  tokenIssued(fn: string): void;
  tokenRevoked(): void;
  auditDropped(n: number): void;
  setRevocationLinkUp(up: boolean): void;
  jwksFetchError(issuer: string): void;
  internalError(): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Collect Node's default process metrics (default true). */
  readonly defaultMetrics?: boolean;
  /** Clock for the reload timestamp (ms since the epoch). */
  readonly now?: () => number;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    // Includes nodejs_eventloop_lag_seconds and its percentiles (monitorEventLoopDelay).
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }

  // Registered in this order, as the prom-client objects they replace were: the Registry
  // prints metrics in registration order.
  const duration = new FixedHistogram(
    'mandate_check_duration_seconds',
    'Time to decide one Check request, from request receipt to the answer handed to gRPC.',
    'decision',
    DECISIONS,
    CHECK_DURATION_BUCKETS,
    registry,
  );
  // Series index: (decision * reasons + reason) * 2 + dry_run. Only those a decision can
  // produce start at zero: an allow is ALLOWED, or a would-deny under dry run; a deny is
  // never ALLOWED.
  const series = DECISIONS.flatMap((decision) =>
    REASON_CODES.flatMap((reason) => DRY_RUNS.map((dry_run) => ({ decision, reason, dry_run }))),
  );
  const decisions = new FixedCounter(
    'mandate_decisions_total',
    'Decisions by outcome and reason code; dry_run="true" marks decisions taken in dry-run mode.',
    series,
    series.map((s) => (s.decision === 'allow' ? s.reason === 'ALLOWED' || s.dry_run === 'true' : s.reason !== 'ALLOWED')),
    registry,
  );
  const reasonIndex = Object.freeze(
    Object.fromEntries(REASON_CODES.map((r, i) => [r, i * 2])) as Record<ReasonCode, number>,
  );
  const reasonCount = REASON_CODES.length;
  const mandates = new Gauge({
    name: 'mandate_policy_mandates',
    help: 'Mandates in the policy set currently served.',
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'mandate_policy_reloads_total',
    help: 'Policy loads, the first included, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const lastReload = new Gauge({
    name: 'mandate_policy_last_reload_timestamp_seconds',
    help: 'Unix time of the last successful policy load.',
    registers: [registry],
  });
  const lastReloadOk = new Gauge({
    name: 'mandate_policy_last_reload_successful',
    help: '1 when the last policy load attempt succeeded, 0 when it was rejected (the previous set keeps serving).',
    registers: [registry],
  });
  const info = new Gauge({
    name: 'mandate_policy_info',
    help: 'The revision of the policy set currently served (value 1).',
    labelNames: ['revision'] as const,
    registers: [registry],
  });
  const issued = new Counter({
    name: 'mandate_tokens_issued_total',
    help: 'Task tokens issued, by business function.',
    labelNames: ['function'] as const,
    registers: [registry],
  });
  const revoked = new Counter({
    name: 'mandate_tokens_revoked_total',
    help: 'Tasks ended by Complete or Revoke.',
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'mandate_audit_dropped_total',
    help: 'Decision-log lines dropped because the sink was slow, blocked or failing.',
    registers: [registry],
  });
  const linkUp = new Gauge({
    name: 'mandate_revocation_link_up',
    help: '1 when the shared revocation store (Redis) link is up; 1 with the in-memory store.',
    registers: [registry],
  });
  const jwksErrors = new Counter({
    name: 'mandate_jwks_fetch_errors_total',
    help: 'Failed fetches of a configured JWT bundle / OIDC key set, by issuer.',
    labelNames: ['issuer'] as const,
    registers: [registry],
  });
  const internalErrors = new Counter({
    name: 'mandate_internal_errors_total',
    help: 'Unexpected failures inside mandate (answered as INTERNAL_ERROR or logged).',
    registers: [registry],
  });

  // Series that exist from the start.
  for (const r of ['ok', 'error'] as const) reloads.inc({ result: r }, 0);
  revoked.inc(0);
  dropped.inc(0);
  internalErrors.inc(0);
  linkUp.set(1);
  lastReloadOk.set(0);

  let currentRevision: string | null = null;

  return {
    registry,
    observeDecision(decision, reason, dryRun, seconds) {
      const d = decision === 'allow' ? 0 : 1;
      decisions.inc(d * reasonCount * 2 + reasonIndex[reason] + (dryRun ? 1 : 0));
      duration.observe(d, seconds);
    },
    policyLoaded(revision, mandateCount, ok) {
      reloads.inc({ result: ok ? 'ok' : 'error' });
      lastReloadOk.set(ok ? 1 : 0);
      if (!ok) return;
      mandates.set(mandateCount);
      lastReload.set(now() / 1000);
      const rev = revision ?? 'unknown';
      if (rev !== currentRevision) {
        info.reset();
        currentRevision = rev;
      }
      info.set({ revision: rev }, 1);
    },
    tokenIssued(fn) {
      issued.inc({ function: fn });
    },
    tokenRevoked() {
      revoked.inc();
    },
    auditDropped(n) {
      if (n > 0 && Number.isFinite(n)) dropped.inc(n);
    },
    setRevocationLinkUp(up) {
      linkUp.set(up ? 1 : 0);
    },
    jwksFetchError(issuer) {
      jwksErrors.inc({ issuer });
    },
    internalError() {
      internalErrors.inc();
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
