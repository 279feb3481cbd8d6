import { describe, expect, it } from 'vitest';
import { Interner } from '../../src/policy/interner.js';
import { parsePolicyTexts } from '../../src/policy/load.js';
import { loadedSet, mandate } from './fixtures.js';

describe('Interner', () => {
  it('gives back an equal string, short or long', () => {
    const i = new Interner();
    const long = 'spiffe://prod.example.org/ns/a/sa/worker';
    const slice = `xx${long}yy`.slice(2, -2);
    expect(i.str(slice)).toBe(long);
    expect(i.str('GET')).toBe('GET');
    expect(i.str('')).toBe('');
  });

  it('keeps a string with a lone surrogate exactly', () => {
    const odd = 'purpose with a lone \ud800 surrogate in it';
    expect(new Interner().str(odd)).toBe(odd);
    expect(new Interner().list([odd])).toEqual([odd]);
  });

  it('gives one frozen list per distinct content', () => {
    const i = new Interner();
    const a = i.list(['GET', 'PUT']);
    expect(i.list(['GET', 'PUT'])).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toEqual(['GET', 'PUT']);
    expect(i.list(['PUT', 'GET'])).not.toBe(a);
    expect(i.list([])).toEqual([]);
  });

  it('does not confuse lists whose joined text is the same', () => {
    const i = new Interner();
    const two = i.list(['a', 'b']);
    const one = i.list(['a\0b']);
    expect(one).toEqual(['a\0b']);
    expect(two).toEqual(['a', 'b']);
    expect(i.list(['a', 'b'])).toBe(two);
  });
});

describe('loaded policy sets share repeated values', () => {
  const read = `  risk: low
  functions:
    - name: read
      actions:
        - {target: api.internal, methods: [GET, HEAD], paths: ["/v1/items/{id}"]}
`;

  it('equal method and path lists of different files are one list', () => {
    const set = loadedSet(parsePolicyTexts([{ name: 'a.yaml', text: mandate('a', read) }, { name: 'b.yaml', text: mandate('b', read) }], [], false));
    const [a, b] = set.mandates.map((m) => m.functions[0]!.actions[0]!);
    expect(a!.methods).toBe(b!.methods);
    expect(a!.paths).toBe(b!.paths);
    expect(set.mandates[0]!.labels).toBe(set.mandates[1]!.labels);
    expect(a!.methods).toEqual(['GET', 'HEAD']);
  });
});

describe('the reload cache compares texts by digest', () => {
  const text = (owner: string): string => mandate('cached').replace('owner: team-a', `owner: ${owner}`);
  const load = (owner: string) => loadedSet(parsePolicyTexts([{ name: 'interner-cache-test.yaml', text: text(owner) }])).mandates[0]!;

  it('reuses the document for the same text and re-reads a changed one', () => {
    const first = load('team-a');
    expect(load('team-a')).toBe(first);
    const changed = load('team-b');
    expect(changed).not.toBe(first);
    expect(changed.owner).toBe('team-b');
  });
});
