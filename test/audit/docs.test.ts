import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHAIN_FIELDS, DECISION_LOG_FIELDS } from '../../src/audit/entry.js';
import { createMetrics } from '../../src/metrics/metrics.js';

// docs/observability.md is the operators' contract: every field, metric and alert the code
// produces must be documented there, and the docs must not describe ones that do not exist.
const root = new URL('../../', import.meta.url);
const doc = readFileSync(new URL('docs/observability.md', root), 'utf8');
const documented = (name: string): boolean => doc.includes(`\`${name}\``);

describe('docs/observability.md', () => {
  it.each([...DECISION_LOG_FIELDS, ...CHAIN_FIELDS])('documents the log field %s', (field) => {
    expect(documented(field)).toBe(true);
  });

  it('documents every mandate_ metric the registry exports, and no other', async () => {
    const { body } = await createMetrics({ defaultMetrics: false }).render();
    const exported = new Set([...body.matchAll(/^# TYPE (mandate_[a-z0-9_]+) /gm)].map((m) => m[1] as string));
    const inDoc = new Set([...doc.matchAll(/`(mandate_[a-z0-9_]+)`/g)].map((m) => m[1] as string));
    expect(exported.size).toBeGreaterThan(10);
    for (const m of exported) expect(inDoc.has(m), m).toBe(true);
    for (const m of inDoc) expect(exported.has(m), m).toBe(true);
  });

  it('documents every alert of deploy/monitoring', () => {
    const rules = parse(readFileSync(new URL('deploy/monitoring/prometheus-alerts.yaml', root), 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const n of names) expect(documented(n), n).toBe(true);
    const inDoc = [...doc.matchAll(/`(Mandate[A-Za-z]+)`/g)].map((m) => m[1] as string);
    expect(new Set(inDoc)).toEqual(new Set(names));
  });
});
