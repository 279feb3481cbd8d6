import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.js';

// The dashboard and the alerts must only name metrics mandate really exports: a renamed
// metric would otherwise leave a silent panel or an alert that can never fire.
const root = new URL('../../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
const alerts = parse(read('deploy/monitoring/prometheus-alerts.yaml')) as { groups: { name: string; rules: Rule[] }[] };
const dashboard = JSON.parse(read('deploy/monitoring/grafana-dashboard.json')) as {
  uid: string;
  panels: { id: number; type: string; title: string; targets?: { expr: string; refId: string }[] }[];
};
const rules = alerts.groups.flatMap((g) => g.rules);
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

async function exportedNames(): Promise<Set<string>> {
  const m = createMetrics();
  m.policyLoaded('r', 1, true);
  m.tokenIssued('f');
  m.jwksFetchError('i');
  const { body } = await m.render();
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (match) names.add(match[1] as string);
  }
  return names;
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:mandate|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (const c of expr.replace(/"[^"]*"/g, '')) {
    if (c === '(' || c === '{' || c === '[') depth++;
    if (c === ')' || c === '}' || c === ']') depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

describe('deploy/monitoring', () => {
  it.each([
    'MandateHighDenyRate',
    'MandatePolicyReloadFailing',
    'MandateCheckLatencyHigh',
    'MandateAuditLinesDropped',
    'MandateRevocationLinkDown',
  ])('has the alert %s', (name) => {
    expect(rules.map((r) => r.alert)).toContain(name);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('alert %s is complete and names exported metrics only', async (_n, rule) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
    expect(rule.annotations.summary.length).toBeGreaterThan(10);
    expect(rule.annotations.description.length).toBeGreaterThan(10);
    expect(balanced(rule.expr)).toBe(true);
    const names = await exportedNames();
    expect(metricNames(rule.expr).length).toBeGreaterThan(0);
    for (const n of metricNames(rule.expr)) expect(names.has(n), n).toBe(true);
  });

  it('dashboard queries name exported metrics only and cover every SPEC metric', async () => {
    const names = await exportedNames();
    const used = new Set(dashboardExprs.flatMap(metricNames));
    for (const n of used) expect(names.has(n), n).toBe(true);
    for (const e of dashboardExprs) expect(balanced(e), e).toBe(true);
    for (const spec of [
      'mandate_check_duration_seconds_bucket', 'mandate_decisions_total', 'mandate_policy_mandates',
      'mandate_policy_reloads_total', 'mandate_policy_last_reload_timestamp_seconds', 'mandate_policy_info',
      'mandate_tokens_issued_total', 'mandate_tokens_revoked_total', 'mandate_audit_dropped_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) expect(used.has(spec), spec).toBe(true);
  });

  it('dashboard panels have unique ids and targets have refIds', () => {
    const panels = dashboard.panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) for (const t of p.targets ?? []) expect(t.refId).toMatch(/^[A-Z]$/);
    expect(dashboard.uid).toBe('mandate-overview');
  });
});
