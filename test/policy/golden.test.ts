/**
 * Golden diagnostics: the broken fixtures under test/fixtures/policy produce exactly the
 * lines in diagnostics.golden. Regenerate with UPDATE_GOLDEN=1 and review the diff like code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, formatDiagnostic } from '../../src/policy/diagnostics.js';
import { loadPolicySet } from '../../src/policy/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../fixtures/policy');
const golden = path.join(fixtures, 'diagnostics.golden');
const docs = path.join(here, '../../docs/policy.md');

async function render(): Promise<string> {
  const result = await loadPolicySet(['invalid', 'empty', 'missing'], { cwd: fixtures });
  expect(result.ok).toBe(false);
  if (result.ok) return '';
  return result.diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join('');
}

describe('policy diagnostics', () => {
  it('match the golden file', async () => {
    const out = await render();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, out);
    expect(out).toBe(readFileSync(golden, 'utf8'));
  });

  it('exercise every code of the vocabulary', async () => {
    const out = await render();
    const seen = new Set([...out.matchAll(/^[^\n]*?:\d+:\d+: ([A-Z_]+): /gm)].map((m) => m[1]));
    expect([...DIAGNOSTIC_CODES].filter((c) => !seen.has(c))).toEqual([]);
    expect([...seen].filter((c) => !(DIAGNOSTIC_CODES as readonly string[]).includes(c!))).toEqual([]);
  });

  it('are the codes docs/policy.md lists, in the same order', () => {
    const text = readFileSync(docs, 'utf8');
    const table = [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(table).toEqual([...DIAGNOSTIC_CODES]);
  });

  it('are sorted by file, line, column, code', async () => {
    const result = await loadPolicySet(['invalid'], { cwd: fixtures });
    if (result.ok) throw new Error('fixtures must be invalid');
    const keys = result.diagnostics.map((d) => [d.file, d.line, d.column, d.code] as const);
    const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2] || (a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0)));
    expect(keys).toEqual(sorted);
  });
});
