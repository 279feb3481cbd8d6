/**
 * Property tests of the strict SPIFFE ID parser (SPEC section 4) against a reference
 * written straight from the standard's wording with regular expressions: the parser
 * accepts exactly what the reference accepts, on random text, on valid IDs and on valid
 * IDs mutated by one forbidden edit; what it accepts round-trips unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSpiffeId, spiffeIdError } from '../../src/identity/spiffe.js';

const TD = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The standard, spelled out: the reference the parser must agree with. */
function referenceValid(s: string): boolean {
  if (Buffer.byteLength(s, 'utf8') > 2048) return false;
  if (!s.startsWith('spiffe://')) return false;
  const rest = s.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return false; // a trust domain alone is not a workload ID
  const td = rest.slice(0, slash);
  if (td.length === 0 || td.length > 255 || !TD.test(td)) return false;
  const segments = rest.slice(slash + 1).split('/');
  return segments.every((seg) => seg !== '.' && seg !== '..' && SEGMENT.test(seg));
}

const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split(''));
const segChar = fc.constantFrom(...'abcxyzABCXYZ0189.-_'.split(''));
const trustDomain = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
const segment = fc.string({ unit: segChar, minLength: 1, maxLength: 20 }).filter((s) => s !== '.' && s !== '..');
const validId = fc
  .tuple(trustDomain, fc.array(segment, { minLength: 1, maxLength: 8 }))
  .map(([td, segs]) => `spiffe://${td}/${segs.join('/')}`);

/** Characters and fragments the standard forbids somewhere in an ID. */
const forbidden = fc.constantFrom(
  '/', '//', '/.', '/..', '%2F', '%41', '?', '#', ':', ':8443', '@', 'user@', ' ', '\t', '\n', '\u0000',
  'é', '\u212a', '\uff0f', 'A', 'Z', '*', '+', '~', '!', '$', '&', "'", '(', ')', ',', ';', '=', '\\', '[', ']',
);

/** One edit of a valid ID: insert a forbidden fragment, upper-case, change the scheme, ... */
const mutated = fc.tuple(validId, fc.nat(), forbidden, fc.nat({ max: 6 })).map(([id, pos, frag, kind]) => {
  const at = pos % (id.length + 1);
  switch (kind) {
    case 0:
      return id.slice(0, at) + frag + id.slice(at);
    case 1:
      return id.toUpperCase();
    case 2:
      return id.replace('spiffe://', frag === '/' ? 'spiffe:/' : 'SPIFFE://');
    case 3:
      return id + '/';
    case 4:
      return id.replace(/\/([^/]*)$/, '/./$1');
    case 5:
      return id.slice(0, at) + id.slice(at + 1);
    default:
      return id + frag;
  }
});

const lengthy = fc
  .tuple(trustDomain, fc.integer({ min: 2030, max: 2070 }))
  .map(([td, total]) => {
    const head = `spiffe://${td}/`;
    return head + 'a'.repeat(Math.max(1, total - head.length));
  });

const arbitraryText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ maxLength: 60 }).map((s) => 'spiffe://' + s),
);

describe('parseSpiffeId (property)', () => {
  it('round-trips every valid ID: same text, trust domain and path', () => {
    fc.assert(
      fc.property(validId, (id) => {
        const p = parseSpiffeId(id);
        expect(p).not.toBeNull();
        expect(p?.id).toBe(id);
        expect(`spiffe://${p?.trustDomain}${p?.path}`).toBe(id);
        expect(p?.path.startsWith('/')).toBe(true);
        expect(spiffeIdError(id)).toBeNull();
      }),
      { numRuns: 400 },
    );
  });

  it.each([
    ['random text', arbitraryText],
    ['valid IDs with one forbidden edit', mutated],
    ['IDs around the 2048-byte bound', lengthy],
  ])('agrees with the reference on %s', (_name, arb) => {
    fc.assert(
      fc.property(arb as fc.Arbitrary<string>, (s) => {
        const accepted = parseSpiffeId(s) !== null;
        expect(accepted).toBe(referenceValid(s));
        // Rejection always comes with a reason for the log; acceptance never does.
        expect(spiffeIdError(s) === null).toBe(accepted);
      }),
      { numRuns: 500 },
    );
  });

  it('never repairs: an accepted ID is returned byte for byte, nothing folded or decoded', () => {
    fc.assert(
      fc.property(fc.oneof(validId, mutated), (s) => {
        const p = parseSpiffeId(s);
        if (p !== null) {
          expect(p.id).toBe(s);
          expect(p.trustDomain).toBe(p.trustDomain.toLowerCase());
          const afterScheme = s.slice('spiffe://'.length);
          expect(afterScheme).not.toMatch(/[%?#@:\\\s]|\/\/|\/$/);
        }
      }),
      { numRuns: 400 },
    );
  });
});
