/**
 * The two YAML producers agree: wherever the fast one (js-yaml events) does not decline, its
 * tree deep-equals the reference one's (the `yaml` package), values and offsets alike, and
 * the reference reports no problem. The fast path must really be taken for ordinary files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { LineCounter, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/policy/parse.js';
import { fastParse } from '../../src/policy/yaml-fast.js';
import { referenceParse } from '../../src/policy/yaml-reference.js';
import { LineStarts } from '../../src/policy/yaml-tree.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEED = Number(process.env['FC_SEED'] ?? 7);
const RUNS = Number(process.env['FC_RUNS'] ?? 300);

/** Fast declines, or agrees with the reference exactly. Returns whether fast was used. */
function agree(text: string): boolean {
  const fast = fastParse(text);
  if (fast === null) return false;
  const ref = referenceParse('t.yaml', text);
  expect(ref.diagnostics).toEqual([]);
  expect(fast).toEqual(ref.documents);
  return true;
}

function policyFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...policyFiles(p));
    else if (/\.(ya?ml|json)$/.test(e.name)) {
      try {
        statSync(p); // skips broken links
        out.push(p);
      } catch {
        /* a broken link fixture */
      }
    }
  }
  return out.sort();
}

function readUtf8(p: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(p));
  } catch {
    return null;
  }
}

const files = [...policyFiles(path.join(root, 'examples')), ...policyFiles(path.join(root, 'test/fixtures'))];
/** Fixtures that exist to break the YAML layer: the fast path must leave them to the reference. */
const DECLINED = new Set(['test/fixtures/policy/invalid/aliases.yaml', 'test/fixtures/policy/invalid/syntax.yaml']);

describe('fast and reference producers on the repository files', () => {
  it('found the files', () => expect(files.length).toBeGreaterThan(15));

  it.each(files.map((f) => [path.relative(root, f)]))('%s', (rel) => {
    const text = readUtf8(path.join(root, rel));
    if (text === null) return; // not-utf8.yaml: the loader refuses it before parsing
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    const used = agree(body);
    expect(used).toBe(!DECLINED.has(rel));
  });

  it('agrees on the synthetic estate generator output and takes the fast path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-syn-'));
    try {
      execFileSync(process.execPath, [path.join(root, 'test/fixtures/analysis/gen-synthetic.mjs'), dir, '300', '3']);
      const names = readdirSync(dir).sort();
      expect(names).toEqual(['mandates-000.yaml', 'targets.yaml']);
      for (const n of names) expect(agree(readFileSync(path.join(dir, n), 'utf8'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('values and offsets of single constructs', () => {
  // Plain YAML the fast path must take, and must get exactly right.
  const fastCases: string[] = [
    'k: 123\n', 'k: 1_000\n', 'k: 0o17\n', 'k: 0x1F\n', 'k: +12\n', 'k: -0\n', 'k: 1e3\n', 'k: .5\n', 'k: 1.\n', 'k: .inf\n',
    'k: -.Inf\n', 'k: .NaN\n', 'k: ~\n', 'k: null\n', 'k: Null\n', 'k: True\n', 'k: FALSE\n', 'k: tRue\n', 'k: 2027-07-01\n',
    'k: 12:30\n', 'k: yes\n', '1: a\n2.5: b\ntrue: c\n~: d\n', 'k: "a\\tb\\u00e9\\x41\\"\\\\ \\/"\n', "k: 'it''s'\n", 'k: ""\n',
    "k: ''\n", '"quoted key": v\n', "'q': v\n", 'k: plain\n  more\n\n  lines\n', 'k: |\n  a\n  b\n', 'k: |-\n  a\n\n',
    'k: |+\n  a\n\n', 'k: >\n  a\n  b\n\n  c\n', 'k: >2-  # comment\n   indented\n', 'k: |\n\n  after blank\n',
    '- |\n  in a list\n- >-\n  folded\n', 'k: "multi\n  line"\n', "k: 'multi\n\n  line'\n", 'k:\n', 'k:   \n', 'k:\t# c\n',
    'k: # c\nj: 1\n', '- \n-\n- a\n-\n', 'a:\n  - b:\n    c:\n', '- a: 1\n  b:\n- [x]\n-\n', 'k: [a, "b", 1, ~, {x: y}]\n',
    'k: {a: 1, "b": [2], c: d}\n', '[1, 2]\n', '{"a": [1, {"b": null}]}\n', '- - a\n  - b\n- - c\n', 'a:\n- b\n- c\n',
    '---\n---\nk: v\n...\n', '', '# only a comment\n', '~\n', 'plain root\n', '"quoted root"\n',
    'k: v\r\nl:\r\n  - a\r\n  - "b"\r\n', 'k: a#b\nl: a # b\n', 'k: "x" # c\n', '? a\n: b\n', 'k:\tv\n', '<<: {a: 1}\n',
    'k: [a, # c\n  b]\n', 'k:', 'k:   ', '- ', '-', 'a:\n  b:', 'k:\r\nj:  \r\n', '"k":\n', "- 'a'\n-\n",
    '- [a]\n-\n- {b: c}\n-   # c\n', 'a:\n  - b\nc:\n', 'k: "x"\n#c\nj:\n', '[a]: b\n', '{a: 1}: b\n', '? [a]\n: b\n',
    'a: 1\n...\nb: 2\n', '--- [a]\n', '--- |\n  x\n', '--- # c\nk: v\n', 'k: "\\U0001F600 \\N \\_ \\L \\P \\e \\a \\0 \\ "\n',
    'k: [a,b,]\n', 'k: {a: 1,}\n', 'k   : v\n', 'k   :\n', 'k: v   \n', 'k: "a\\\n  b"\n', "k: 'a\n  \n  b'\n", 'k: >-\n\n  a\n\n\n  b\n\n',
    '- - - a\n', 'k: 0b101\n', 'k: 1__0\n', 'k: 0o\n', 'k: 99999999999999999999\n', 'k: -.inf\nl: +.inf\n', 'k: .Nan\n', 'k: 1e-400\n',
    'k: 0xffffffffffffffffffff\n', '{\n"a": {\n"b": [1,\n2]\n}\n}\n', `${'k'.repeat(900)}: v\n`, '...\nk: v\n',
    'k: v\n---\n- a\n...\n...\n', '---\n...\n---\n', 'k:v\n', 'k: [a b]\n', 'k: a]\n', 'k: a, b\n', 'k: ---\n', 'k: ...\n', '- ---\n',
    'k: {a: 1, a: 2}\n', 'k: "\\ud800"\n', 'a:\n  ? b\n  : c\n', '- a: 1\n  # c\n  b: 2\n', '-\n  a\n', 'k:\n\n  v\n', '1', 'k: v #c',
    '{"a":1,"b":[1,2,{"c":null}]}',
  ];
  // Constructs it leaves to the reference path: YAML errors, anchors, tags, directives, and
  // text the two parsers read differently (tab indentation, odd line breaks, an inner BOM).
  const declinedCases: string[] = [
    'k: [a: b]\n', 'k: -\n', 'k: - a\n', 'k: ? a\n', '? a\n', ': b\n', 'a: b: c\n', 'k: [a, b\n', 'k: "unterminated\n',
    '\tk: v\n', 'k: v\n\t\n', 'k: &a v\n', 'k: *a\n', 'k: !!str 1\n', 'k: !x v\n', '%YAML 1.2\n---\nk: v\n', 'k: [*a]\n',
    '{"a": [1,\n# c\n2]}\n', '{"a": 1\n#}\n}\n', 'k: v\u2028w\n', 'k: "v\u0085w"\n', 'k: v\n\ufeffj: w\n', '\tignored>: x\n',
    'a:\n\t- b\n', 'a:\n  \tb: c\n', 'k: |\n\tx\n', 'k: "x"#c\n', '- "x"#c\n-\n', '["x"#c\n]\n', "k: 'x'#c\n", 'k: [a]#c\n',
    'k: {a: b}#c\n', '- [a]#c\n-\n', 'k: |#c\n  x\n', `${'k'.repeat(1100)}: v\n`, `"${'k'.repeat(1100)}": v\n`, 'k: 1e400\n',
    'k: -1e400\n', 'k: 1.7976931348623159e308\n', '--- a: b\n', 'k: "\\q"\n', 'k: [a, , b]\n', 'k: a\n  # c\n  b\n', 'k: !!binary aGk=\n',
    'k:\n  - a\n - b\n', 'k: v\n  j: w\n', 'a:\n  b: 1\n c: 2\n', 'k: [\n  a,\n  b\n]\n', 'k: {\n"a": 1\n}\n', '"a\n b": c\n', '[a,\n b]: c\n',
    'k: {a}\n', 'k: {a, b: c}\n', 'k: [a: b, c: d]\n', 'k: [? a]\n', 'k: ! a\n', '? a\n? b\n', 'k: @a\n', 'k: `a\n', 'k: "\\uZZZZ"\n',
    'k: "a"b\n', 'k: |\n  a\n b\n', 'a: b\n- c\n', '- a\nb: c\n', 'k: v\n---x\n',
  ];
  it.each(fastCases.map((c) => [JSON.stringify(c), c]))('fast path: %s', (_name, text) => {
    expect(agree(text)).toBe(true);
  });

  it.each(declinedCases.map((c) => [JSON.stringify(c), c]))('reference path: %s', (_name, text) => {
    expect(agree(text)).toBe(false);
  });

  it.each([
    ['an anchor', 'k: &a v\n'],
    ['an alias', 'k: &a v\nj: *a\n'],
    ['a tag', 'k: !!str 1\n'],
    ['a local tag', 'k: !x v\n'],
    ['a directive', '%YAML 1.2\n---\nk: v\n'],
    ['a syntax error', 'k: [a, b\n'],
    ['js-yaml rejects it', 'a: b: c\n'],
  ])('declines %s', (_name, text) => {
    expect(fastParse(text)).toBeNull();
    expect(parsePolicyText('p.yaml', text).producer).toBe('reference');
  });

  it('strips a byte order mark before either producer, so columns do not count it', () => {
    const text = '\ufeffk: v\nl: [a]\n';
    const parsed = parsePolicyText('p.yaml', text);
    expect(parsed.producer).toBe('fast');
    expect(parsed.documents).toEqual(referenceParse('p.yaml', text.slice(1)).documents);
    expect(parsed.lines.linePos(0)).toEqual({ line: 1, col: 1 });
  });
});

describe('line positions', () => {
  it('LineStarts gives what the yaml package LineCounter gives, for every offset', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', ' ', '\n', '\r\n', '- x\n', '"q\nr"\n', '|\n  b\n'), { maxLength: 30 }), (parts) => {
        const text = `k: ${parts.join('')}`;
        const lc = new LineCounter();
        parseAllDocuments(text, { lineCounter: lc });
        const ls = new LineStarts(text);
        for (let i = 0; i <= text.length; i++) expect(ls.linePos(i)).toEqual(lc.linePos(i));
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

// ---- generated policy-like YAML ----

type Gen =
  | { readonly t: 'scalar'; readonly text: string }
  | { readonly t: 'block'; readonly header: string; readonly lines: readonly string[] }
  | { readonly t: 'multi'; readonly words: readonly string[] }
  | { readonly t: 'empty'; readonly comment: boolean }
  | { readonly t: 'map'; readonly entries: readonly (readonly [string, Gen])[] }
  | { readonly t: 'seq'; readonly items: readonly Gen[]; readonly flow: boolean };

const KEYS = ['apiVersion', 'kind', 'metadata', 'name', 'labels', 'spec', 'subject', 'owner', 'purpose', 'risk', 'reviewBy', 'mode',
  'functions', 'taskToken', 'maxTokenTtl', 'actions', 'target', 'methods', 'paths', 'match', 'capabilities', '1', '2.5', 'true', '"quoted"', "'single'",
  'k'.repeat(1030)];

const PLAIN = ['123', '1_000', '0o17', '0x1F', '+12', '-0', '1e3', '.5', '.inf', '-.inf', '.NaN', '~', 'null', 'Null', 'True', 'false',
  'FALSE', '2027-07-01', '12:30', 'GET', 'mandate/v1', 'Mandate', 'spiffe://prod.example.org/ns/a/sa/x', '/v1/items/{id}',
  'a.internal:443', 'team-a', 'a b  c', 'x#y', '5m', '1h30m', '-', '"*"', "'*'", 'é ünïcode', 'yes', 'on', '1e400', '-1e999', '0xFFFFFFFFFFFFFFFFFFFF'];

const word = fc.stringMatching(/^[a-z][a-z0-9._/-]{0,10}$/);
const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('a', ' ', "'", '"', '\\', '#', ':', '\t', 'é', '😀', '\n'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 12 });

const scalarGen: fc.Arbitrary<Gen> = fc.oneof(
  fc.constantFrom(...PLAIN).map((text) => ({ t: 'scalar' as const, text })),
  word.map((text) => ({ t: 'scalar' as const, text })),
  // Line breaks inside single quotes would need the continuation lines indented.
  anyText.map((s) => ({ t: 'scalar' as const, text: `'${s.replace(/[\r\n]/g, ' ').replace(/'/g, "''")}'` })),
  anyText.map((s) => ({ t: 'scalar' as const, text: JSON.stringify(s) })),
  fc.record({
    header: fc.constantFrom('|', '>', '|-', '>+', '|2', '> # c'),
    first: word,
    lines: fc.array(fc.oneof(word, fc.constant(''), word.map((w) => ` ${w}`)), { maxLength: 4 }),
  }).map((b) => ({ t: 'block' as const, header: b.header, lines: [b.first, ...b.lines] })),
  fc.array(word, { minLength: 2, maxLength: 3 }).map((words) => ({ t: 'multi' as const, words })),
  fc.boolean().map((comment) => ({ t: 'empty' as const, comment })),
);

const { node: nodeGen } = fc.letrec<{ node: Gen }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarGen,
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { minLength: 1, maxLength: 5 }).map((entries) => ({ t: 'map' as const, entries })),
    fc.record({ items: fc.array(tie('node'), { minLength: 0, maxLength: 4 }), flow: fc.boolean() }).map((s) => ({ t: 'seq' as const, ...s })),
  ),
}));

interface Style {
  readonly comments: boolean;
  readonly blankLines: boolean;
  readonly seqIndent: number;
}

/** Flow form of a node, or null when it has no single-line flow form here. */
function flow(g: Gen): string | null {
  switch (g.t) {
    case 'scalar':
      return g.text.includes('#') && !/^["']/.test(g.text) ? null : g.text;
    case 'seq': {
      const items = g.items.map(flow);
      return items.includes(null) ? null : `[${items.join(', ')}]`;
    }
    case 'map': {
      const parts = g.entries.map(([k, v]) => {
        const f = flow(v);
        return f === null ? null : `${k}: ${f}`;
      });
      return parts.includes(null) ? null : `{${parts.join(', ')}}`;
    }
    default:
      return null;
  }
}

/** The text after "key:" or "- ": the value on the same line, or on lines below at `indent`. */
function valueText(g: Gen, indent: number, s: Style, inSeq: boolean): string {
  const pad = ' '.repeat(indent);
  switch (g.t) {
    case 'scalar':
      return ` ${g.text}${s.comments ? ' # note' : ''}\n`;
    case 'empty':
      return g.comment ? '   # nothing\n' : '\n';
    case 'multi':
      return ` ${g.words[0]}\n${g.words.slice(1).map((w) => `${pad}${w}\n`).join('')}`;
    case 'block':
      return ` ${g.header}\n${g.lines.map((l) => (l === '' ? '\n' : `${pad}${l}\n`)).join('')}`;
    case 'seq': {
      if (g.flow || g.items.length === 0) {
        const f = flow(g);
        if (f !== null) return ` ${f}\n`;
        if (g.items.length === 0) return ' []\n';
      }
      return `\n${block(g, inSeq ? indent : indent - 2 + s.seqIndent, s)}`;
    }
    case 'map':
      return `\n${block(g, indent, s)}`;
  }
}

function block(g: Gen, indent: number, s: Style): string {
  const pad = ' '.repeat(indent);
  const extra = (i: number) => (s.blankLines && i % 2 === 1 ? '\n' : '') + (s.comments && i % 3 === 2 ? `${pad}# a comment\n` : '');
  if (g.t === 'map') {
    return g.entries.map(([k, v], i) => `${extra(i)}${pad}${k}:${valueText(v, indent + 2, s, false)}`).join('');
  }
  if (g.t === 'seq') {
    return g.items
      .map((item, i) => {
        if (item.t === 'map') {
          // The first pair on the dash's line, the rest aligned under it.
          const inner = block(item, indent + 2, s);
          return `${extra(i)}${pad}- ${inner.slice(indent + 2)}`;
        }
        return `${extra(i)}${pad}-${valueText(item, indent + 2, s, true)}`;
      })
      .join('');
  }
  return `${pad}${flow(g) ?? "'x'"}\n`;
}

const docGen: fc.Arbitrary<GenFile> = fc.record({
  docs: fc.array(nodeGen.filter((g) => g.t === 'map' || g.t === 'seq'), { minLength: 1, maxLength: 3 }),
  comments: fc.boolean(),
  blankLines: fc.boolean(),
  seqIndent: fc.constantFrom(0, 2),
  crlf: fc.boolean(),
  explicitStart: fc.boolean(),
  separator: fc.constantFrom('---\n', '...\n---\n', '---\n---\n', '---\n...\n---\n', '--- # c\n'),
  ending: fc.constantFrom('', '...\n', '---\n', '# end\n'),
});

interface GenFile extends Style {
  readonly docs: readonly Gen[];
  readonly crlf: boolean;
  readonly explicitStart: boolean;
  readonly separator: string;
  readonly ending: string;
}

function render(d: GenFile): string {
  const s: Style = { comments: d.comments, blankLines: d.blankLines, seqIndent: d.seqIndent };
  const text = `${d.explicitStart ? '---\n' : ''}${d.docs.map((g) => block(g, 0, s)).join(d.separator)}${d.ending}`;
  return d.crlf ? text.replace(/\n/g, '\r\n') : text;
}

describe('generated policy-like YAML', () => {
  it('fast declines or deep-equals the reference, and is used for most of it', () => {
    let used = 0;
    let total = 0;
    fc.assert(
      fc.property(docGen, (d) => {
        total++;
        if (agree(render(d))) used++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Generated text includes constructs either parser rejects; most of it is plain YAML.
    expect(used / total).toBeGreaterThan(0.5);
  });

  it('mutated policy text: fast never accepts what the reference reports', () => {
    const bases = files.map(readUtf8).filter((t): t is string => t !== null);
    const edit = fc.record({
      at: fc.nat(),
      del: fc.nat({ max: 3 }),
      ins: fc.constantFrom('', ' ', '  ', '\t', '\n', '-', '- ', ':', ': ', '#', ' #', '"', "'", '[', ']', '{', '}', ',', '?', '|', '>', '%', '&', '*', '!', '@', '`', '\r', '\u00a0', '\ufeff', '\u2028', '\u0085', '...', '---', '\\', '\\x', '\\u12', '0', '.'),
    });
    fc.assert(
      fc.property(fc.constantFrom(...bases), fc.array(edit, { minLength: 1, maxLength: 4 }), (base, edits) => {
        let text = base;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.ins + text.slice(at + e.del);
        }
        agree(text);
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });

  it('line edits (indent, dedent, duplicate, drop, swap): fast never accepts what the reference reports', () => {
    const bases = files.map(readUtf8).filter((t): t is string => t !== null);
    const edit = fc.record({ line: fc.nat(), op: fc.constantFrom('indent', 'indent1', 'dedent', 'dup', 'drop', 'swap', 'join') });
    let used = 0;
    fc.assert(
      fc.property(fc.constantFrom(...bases), fc.array(edit, { minLength: 1, maxLength: 3 }), (base, edits) => {
        const lines = base.split('\n');
        for (const e of edits) {
          if (lines.length === 0) break;
          const i = e.line % lines.length;
          const l = lines[i]!;
          if (e.op === 'indent') lines[i] = `  ${l}`;
          else if (e.op === 'indent1') lines[i] = ` ${l}`;
          else if (e.op === 'dedent') lines[i] = l.replace(/^ {1,2}/, '');
          else if (e.op === 'dup') lines.splice(i, 0, l);
          else if (e.op === 'drop') lines.splice(i, 1);
          else if (e.op === 'swap' && i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, l];
          else if (e.op === 'join' && i + 1 < lines.length) lines.splice(i, 2, `${l} ${lines[i + 1]!.trimStart()}`);
        }
        if (agree(lines.join('\n'))) used++;
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
    expect(used).toBeGreaterThan(0);
  });
});
