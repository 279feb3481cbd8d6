/**
 * Prometheus metrics (SPEC section 7) on a registry of our own, so embedding mandate or
 * running several instances in one test process never collides in prom-client's global one.
 *
 * Hot path: observeDecision() indexes a table of label children built here, once, for every
 * (decision, reason, dry_run) combination, so a call allocates no label object. The series
 * that can occur are created at zero up front so rate() and absent-series alerts work from
 * the first scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REASON_CODES, type ReasonCode } from '../errors.js';

export const CHECK_DURATION_BUCKETS: readonly number[] = Object.freeze([
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25,
]);

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

interface DecisionChildren {
  readonly count: { inc(): void };
  readonly duration: { observe(v: number): void };
}

type ByDryRun = readonly [DecisionChildren, DecisionChildren]; // [dry_run=false, dry_run=true]
type ByReason = Readonly<Record<ReasonCode, ByDryRun>>;

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

  const children = (decision: 'allow' | 'deny'): ByReason => {
    const d = duration.labels(decision);
    duration.zero({ decision });
    const table = {} as Record<ReasonCode, ByDryRun>;
    for (const reason of REASON_CODES) {
      const pair = [false, true].map((dryRun): DecisionChildren => {
        const labels = { decision, reason, dry_run: dryRun ? 'true' : 'false' } as const;
        // Zero only the series a decision can produce: an allow is ALLOWED, or a would-deny
        // under dry run; a deny is never ALLOWED.
        const possible = decision === 'allow' ? reason === 'ALLOWED' || dryRun : reason !== 'ALLOWED';
        if (possible) decisions.inc(labels, 0);
        return { count: decisions.labels(labels), duration: d };
      });
      table[reason] = Object.freeze(pair) as unknown as ByDryRun;
    }
    return Object.freeze(table);
  };
  const byDecision = { allow: children('allow'), deny: children('deny') } as const;

  let currentRevision: string | null = null;

  return {
    registry,
    observeDecision(decision, reason, dryRun, seconds) {
      const c = byDecision[decision][reason][dryRun ? 1 : 0];
      c.count.inc();
      c.duration.observe(seconds);
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
