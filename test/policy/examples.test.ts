/** The bundled example estate (served by `npm start`) stays valid and keeps its promises. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile.js';
import { loadPolicySet } from '../../src/policy/load.js';
import { loadedSet } from './fixtures.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('examples/policies', async () => {
  const set = loadedSet(await loadPolicySet(['examples/policies'], { cwd: repo }));
  const byName = new Map(set.mandates.map((m) => [m.name, m]));

  it('is several files, one of them with several documents', () => {
    expect(set.files.length).toBeGreaterThanOrEqual(5);
    const multi = set.files.filter((f) => readFileSync(path.join(repo, f), 'utf8').includes('\n---\n'));
    expect(multi.length).toBeGreaterThanOrEqual(1);
  });

  it('covers the scenarios the docs and demos rely on', () => {
    expect([...byName.keys()].sort()).toEqual(['ci-deployer', 'ledger', 'legacy-batch', 'orders-api', 'payments-api', 'refund-worker', 'support-copilot']);
    expect(byName.get('support-copilot')!.mode).toBe('dry-run');
    expect(byName.get('refund-worker')!.functions[0]).toMatchObject({ name: 'refund-processing', taskToken: 'required', maxTokenTtlSeconds: 300 });
    expect(byName.get('legacy-batch')!.functions.map((f) => f.name)).toEqual(['nightly-reconciliation', 'statement-export', 'invoice-sync']);
    expect(byName.get('ci-deployer')!.subject.startsWith('spiffe://ci.example.org/')).toBe(true);
    expect(set.targets.some((t) => t.capabilities.length > 0 && (t.sensitivity === 'high' || t.sensitivity === 'critical'))).toBe(true);
    const compiled = compilePolicy(set);
    expect([...compiled.subjectTrustDomains].sort()).toEqual(['ci.example.org', 'prod.example.org']);
  });

  it('binds every source principal used by examples/requests, except the deliberately untrusted one', () => {
    const dir = path.join(repo, 'examples/requests');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return; // the request examples are another part of the project
    }
    const compiled = compilePolicy(set);
    for (const f of files) {
      const req = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { attributes?: { source?: { principal?: string } } };
      const principal = req.attributes?.source?.principal;
      if (!principal || f.includes('untrusted')) continue;
      expect(compiled.mandateOf(principal), `${f}: ${principal}`).not.toBe(-1);
    }
  });
});
