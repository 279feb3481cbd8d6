/** Holds the dependency line: analysis reads policy (and the decision, for replay) and nothing of the server. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../src/analysis');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const SRC = path.dirname(ROOT);

/** Where an import lands, as a path under src/ ('analysis/…', 'policy/…'), or the package name. */
function landing(file: string, spec: string): string {
  return spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)) : spec;
}

function allowed(rel: string, to: string): boolean {
  return (
    to.startsWith('node:') ||
    to === 'yaml' ||
    to.startsWith('analysis/') ||
    to.startsWith('policy/') ||
    to === 'errors.js' ||
    (rel === 'replay.ts' && to.startsWith('decision/'))
  );
}

describe('src/analysis imports', () => {
  it.each(files(ROOT).map((f) => [path.relative(ROOT, f), f]))('%s imports only policy, errors, node and yaml', (rel, file) => {
    const specs = [...readFileSync(file, 'utf8').matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);
    expect(specs.length).toBeGreaterThan(0);
    const bad = specs.map((s) => landing(file, s)).filter((to) => !allowed(rel, to));
    expect(bad).toEqual([]);
  });
});
