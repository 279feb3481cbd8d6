/** Keeps docs/analysis.md's findings table in step with the finding catalogue. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FINDING_CODES, FINDING_RULES, OWASP_NHI_2025 } from '../../src/analysis/findings.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/analysis.md'), 'utf8');
const rows = new Map(
  doc
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c) => [c[1]!.replace(/`/g, ''), c] as const),
);

describe('docs/analysis.md', () => {
  it('lists exactly the finding codes, in order', () => {
    expect([...rows.keys()]).toEqual([...FINDING_CODES]);
  });

  it.each(FINDING_CODES.map((c) => [c]))('%s has the OWASP item of the code', (code) => {
    const owasp = FINDING_RULES[code].owasp;
    expect(rows.get(code)![3]).toBe(`${owasp} ${OWASP_NHI_2025[owasp]}`);
  });
});
