/** Algebraic properties of the request-side helpers, over generated input. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostPortText, normalizeHost } from '../../src/policy/hosts.js';
import { pathSegments } from './fixtures.js';

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const hostText = fc.tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }))
  .map(([labels, dot, port]) => `${labels.join('.')}${dot ? '.' : ''}${port === null ? '' : `:${port}`}`);

describe('normalizeHost properties', () => {
  it('is idempotent: a normalised host normalises to itself', () => {
    fc.assert(fc.property(hostText, (raw) => {
      const once = normalizeHost(raw);
      expect(once).not.toBeNull();
      const again = normalizeHost(hostPortText(once!));
      expect(again).toEqual(once);
    }), { numRuns: 300 });
  });

  it('ignores case and one trailing dot, and nothing else', () => {
    fc.assert(fc.property(hostText, (raw) => {
      const a = normalizeHost(raw);
      expect(normalizeHost(raw.toUpperCase())).toEqual(a);
      expect(a!.host).toBe(a!.host.toLowerCase());
      expect(a!.host.endsWith('.')).toBe(false);
    }), { numRuns: 300 });
  });

  it('never throws and never returns a host with characters outside the host alphabet', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (raw) => {
      const r = normalizeHost(raw);
      if (r !== null) expect(r.host).toMatch(/^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)$/);
    }), { numRuns: 500 });
  });
});

describe('checkRequestPath properties', () => {
  it('segments join back into the path without its query, and never contain separators', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }).map((s) => `/${s}`), (raw) => {
      const segs = pathSegments(raw);
      if (segs === null) return;
      expect(`/${segs.join('/')}`).toBe(raw.split(/[?#]/)[0]);
      for (const s of segs) expect(s).not.toMatch(/[/\\;?#]/);
    }), { numRuns: 500 });
  });
});

describe('policy/ dependencies', () => {
  it('imports nothing from the server, CLI, audit, metrics, analysis or decision layers', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/policy');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      const imports = [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
      for (const i of imports) {
        expect(`${f}: ${i}`).toMatch(/: (\.\/[a-z-]+\.js|\.\.\/(errors|duration|identity\/spiffe)\.js|yaml|js-yaml|node:[a-z/]+)$/);
      }
    }
  });
});
