/**
 * Property tests of request-path acceptance and template matching (SPEC section 2) against
 * a reference written directly from the SPEC's sentences: string splitting, regular
 * expressions and a recursive matcher, with none of the production code's indexing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequestPath, compilePathTemplate, matchPathTemplateIn } from '../../src/policy/paths.js';
import { pathSegments } from '../policy/fixtures.js';
import { referenceAcceptable, referenceMatch } from './reference.js';

const literal = fc.constantFrom('a', 'b', 'v1', 'A', 'x.y', '...', '%41', '%2', 'a-b_c~', '@', ':');
const templateSegment = fc.oneof(literal, fc.constantFrom('{id}', '{name}', '{x1}'));
const template = fc
  .tuple(fc.array(templateSegment, { maxLength: 4 }), fc.constantFrom('', '**', '', 'end'), fc.boolean())
  .map(([segs, tail, trailingSlash]) => {
    // Parameter names must be unique within a template.
    const seen = new Set<string>();
    const unique = segs.map((s) => (s.startsWith('{') ? (seen.has(s) ? 'dup' : (seen.add(s), s)) : s));
    const parts = tail === '' ? unique : [...unique, tail];
    const body = '/' + parts.join('/');
    return trailingSlash && tail !== '**' && body !== '/' ? body + '/' : body;
  });

/** Request paths from the same vocabulary plus every trick SPEC section 2 names. */
const trick = fc.constantFrom(
  '', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%2e%2e', '\\', ';', ';x=1', ' ', '\t', '\u0000',
  'é', '\u2215', '\uff0e', '*', '{id}', '**', '%', '%zz', 'a%2fb', 'http:', 'A',
);
const requestSegment = fc.oneof({ weight: 4, arbitrary: literal }, { weight: 1, arbitrary: trick });
const requestPath = fc
  .tuple(
    fc.constantFrom('/', '/', '/', '', 'http://x', '*', '//'),
    fc.array(requestSegment, { maxLength: 5 }),
    fc.boolean(),
    fc.constantFrom('', '', '?q=1', '?a=../..;%2F', '#frag', '?x#y', '#/../x', '#a b', '#x/y', '#f?q/../'),
  )
  .map(([lead, segs, trailing, query]) => {
    const body = lead === '/' ? '/' + segs.join('/') : lead + segs.join('/');
    return (trailing ? body + '/' : body) + query;
  });

describe('request paths (property)', () => {
  it.each([
    ['paths built from tricks', requestPath],
    ['arbitrary text after a slash', fc.string({ maxLength: 40 }).map((s) => '/' + s)],
    ['arbitrary binary text', fc.string({ unit: 'binary', maxLength: 40 })],
  ])('checkRequestPath accepts exactly what SPEC section 2 accepts: %s', (_name, arb) => {
    fc.assert(
      fc.property(arb as fc.Arbitrary<string>, (raw) => {
        const segs = pathSegments(raw);
        expect(segs !== null).toBe(referenceAcceptable(raw));
        if (segs !== null) {
          // The segments reassemble into the path without its query.
          expect('/' + segs.join('/')).toBe(raw.split(/[?#]/)[0]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('path templates (property)', () => {
  it('every generated template compiles', () => {
    fc.assert(
      fc.property(template, (t) => {
        expect(compilePathTemplate(t).error).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('matchPathTemplateIn agrees with the reference matcher on acceptable paths', () => {
    let matched = 0;
    fc.assert(
      fc.property(template, requestPath, (t, raw) => {
        const end = checkRequestPath(raw);
        fc.pre(end >= 0);
        const compiled = compilePathTemplate(t).template!;
        const got = matchPathTemplateIn(compiled, raw, end);
        if (got) matched++;
        expect(got).toBe(referenceMatch(t, raw));
      }),
      { numRuns: 500 },
    );
    // The generators must reach the interesting half too, or the agreement means little.
    expect(matched).toBeGreaterThan(0);
  });

  it('matches paths derived from the template itself (the positive side, densely)', () => {
    const derived = template.chain((t) => {
      const parts = t.slice(1).split('/');
      return fc
        .tuple(
          fc.array(fc.constantFrom('7', 'abc', 'X', ''), { minLength: parts.length, maxLength: parts.length }),
          fc.array(fc.constantFrom('q', 'r', ''), { maxLength: 3 }),
        )
        .map(([fills, extra]) => {
          const segs = parts.flatMap((p, i) =>
            p === '**' ? extra : /^\{.*\}$/.test(p) ? [fills[i]!] : [p],
          );
          // A glob's extra segments may produce '//' (empty middle segments): keep them only at the end.
          return [t, '/' + segs.join('/')] as const;
        });
    });
    let positives = 0;
    fc.assert(
      fc.property(derived, ([t, raw]) => {
        const end = checkRequestPath(raw);
        fc.pre(end >= 0);
        const got = matchPathTemplateIn(compilePathTemplate(t).template!, raw, end);
        if (got) positives++;
        expect(got).toBe(referenceMatch(t, raw));
      }),
      { numRuns: 400 },
    );
    expect(positives).toBeGreaterThan(50);
  });

  it.each([
    ['*', 'a "*" that is not the whole last segment'],
    ['/a/*', 'a single "*"'],
    ['/a/**/b', '"**" before the last segment'],
    ['/a/{id', 'an unclosed parameter'],
    ['/a/x{id}', 'a parameter inside a segment'],
    ['/{id}/{id}', 'a repeated parameter'],
    ['/a//b', 'an empty segment'],
    ['/a/../b', 'a dot-dot segment'],
    ['/a/%2F', 'an encoded slash'],
    ['/a;b', 'a semicolon'],
    ['/a?x', 'a query'],
    ['a', 'no leading slash'],
  ])('refuses the template %j (%s)', (t) => {
    expect(compilePathTemplate(t).error).not.toBeNull();
  });
});
