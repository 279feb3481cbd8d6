/**
 * The fast producer: js-yaml's event parser (about ten times faster than the `yaml`
 * package on policy files) → yaml-tree nodes, for files of plain YAML. It declines (returns
 * null) whenever it cannot vouch that the tree equals the reference producer's: js-yaml
 * rejects the text, or the text has anchors, aliases, tags or directives, or a node whose
 * start it cannot place exactly. The loader then takes the reference path, which owns
 * every diagnostic about YAML itself.
 */
import { EVENT_ID, NOT_RESOLVED, SCALAR_STYLE, boolCoreTag, floatCoreTag, getScalarValue, intCoreTag, nullCoreTag, parseEvents } from 'js-yaml';
import type { Event, ScalarEvent, ScalarTagDefinition } from 'js-yaml';
import type { ScalarValue, YamlDocument, YamlNode, YamlPair, YamlScalar } from './yaml-tree.js';

/** Deeper nesting than any policy needs goes to the reference path, which reports it. */
const MAX_DEPTH = 64;
/** Longer keys go to the reference path, which refuses implicit keys over 1024 characters. */
const MAX_KEY_LENGTH = 1000;

/** YAML 1.2 core schema resolution of a plain scalar, in the schema's order. */
const CORE_TAGS: readonly ScalarTagDefinition<ScalarValue>[] = [nullCoreTag, boolCoreTag, intCoreTag, floatCoreTag];

/**
 * The tags worth trying for each first character; most plain scalars (keys, names) start
 * with a character no tag accepts and are strings without a single resolve call.
 */
const TAGS_BY_FIRST = new Map<string, ScalarTagDefinition<ScalarValue>[]>();
const ANY_FIRST = CORE_TAGS.filter((t) => t.implicitFirstChars === null);
for (const tag of CORE_TAGS) {
  for (const first of tag.implicitFirstChars ?? []) {
    const list = TAGS_BY_FIRST.get(first) ?? [];
    list.push(tag);
    TAGS_BY_FIRST.set(first, list);
  }
}
for (const [first, list] of TAGS_BY_FIRST) {
  TAGS_BY_FIRST.set(first, CORE_TAGS.filter((t) => list.includes(t) || ANY_FIRST.includes(t)));
}

/** A core-schema float js-yaml leaves unresolved only because it overflows to Infinity. */
const FLOAT_FORM = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const UNSURE = Symbol('unsure');

/** The value of a plain scalar, or UNSURE where js-yaml and the `yaml` package differ. */
function resolvePlain(text: string): ScalarValue | typeof UNSURE {
  const tags = TAGS_BY_FIRST.get(text.charAt(0)) ?? ANY_FIRST;
  if (tags.length === 0) return text;
  for (const tag of tags) {
    const v = tag.resolve(text, false, tag.tagName);
    if (v !== NOT_RESOLVED) return v;
  }
  return FLOAT_FORM.test(text) ? UNSURE : text;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;

function skipSpaces(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  return i;
}

/**
 * Skips spaces, line ends and comments. Used only after a node js-yaml accepted, where a
 * "#" that is not inside a scalar starts a comment.
 */
function skipBlank(text: string, i: number): number {
  for (;;) {
    i = skipSpaces(text, i);
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) {
      i++;
    } else if (c === HASH) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else {
      return i;
    }
  }
}

/**
 * Where the `yaml` package puts a block scalar: at its `|` or `>` header, which ends the
 * last non-blank line before the content (js-yaml's valueStart is the content). -1 when
 * the header cannot be found.
 */
function blockHeader(text: string, contentStart: number): number {
  let i = contentStart - 1;
  // Back over the line break before the content and any blank lines between.
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === TAB || c === LF || c === CR) i--;
    else break;
  }
  const lineStart = text.lastIndexOf('\n', i) + 1;
  const line = text.slice(lineStart, i + 1);
  const m = /(?:^|[ \t])([|>])[0-9+-]{0,2}[ \t]*(?:#.*)?$/.exec(line);
  if (m === null) return -1;
  return lineStart + m.index + m[0].indexOf(m[1]!);
}

interface Frame {
  readonly kind: 'map' | 'seq' | 'doc';
  readonly flow: boolean;
  /** Offset of the collection (a block sequence's first "-"). */
  readonly start: number;
  readonly pairs: YamlPair[];
  readonly items: (YamlNode | null)[];
  /** A map's key waiting for its value. */
  key: YamlNode | null;
  hasKey: boolean;
  /** Where the last finished child ended (-1: unknown). */
  lastEnd: number;
  children: number;
  root: YamlNode | null;
}

function frame(kind: Frame['kind'], flow: boolean, start: number): Frame {
  return { kind, flow, start, pairs: [], items: [], key: null, hasKey: false, lastEnd: -1, children: 0, root: null };
}

/**
 * The start the `yaml` package gives a scalar, or -1 to decline. An empty scalar has no
 * text; the `yaml` package places it after its indicator (":" or "-") and the spaces that
 * follow, which is found from where the preceding key or item ended.
 */
function scalarStart(text: string, ev: ScalarEvent, parent: Frame): number {
  if (ev.valueStart >= 0) {
    switch (ev.style) {
      case SCALAR_STYLE.PLAIN:
        return ev.valueStart;
      case SCALAR_STYLE.SINGLE_QUOTED:
        return text.charCodeAt(ev.valueStart - 1) === 0x27 ? ev.valueStart - 1 : -1;
      case SCALAR_STYLE.DOUBLE_QUOTED:
        return text.charCodeAt(ev.valueStart - 1) === 0x22 ? ev.valueStart - 1 : -1;
      default:
        return blockHeader(text, ev.valueStart);
    }
  }
  if (parent.flow) return -1;
  let indicator: number;
  if (parent.kind === 'map') {
    if (!parent.hasKey || parent.lastEnd < 0) return -1; // an empty key
    indicator = skipSpaces(text, parent.lastEnd);
    if (text.charCodeAt(indicator) !== 0x3a) return -1; // ":" not on the key's line
  } else if (parent.kind === 'seq') {
    indicator = parent.children === 0 ? parent.start : parent.lastEnd < 0 ? -1 : skipBlank(text, parent.lastEnd);
    if (indicator < 0 || text.charCodeAt(indicator) !== 0x2d) return -1;
  } else {
    return -1;
  }
  return skipSpaces(text, indicator + 1);
}

/** Where a scalar's text ends, its closing quote included. */
function scalarEnd(ev: ScalarEvent): number {
  if (ev.valueStart < 0) return -1;
  return ev.style === SCALAR_STYLE.SINGLE_QUOTED || ev.style === SCALAR_STYLE.DOUBLE_QUOTED ? ev.valueEnd + 1 : ev.valueEnd;
}

/**
 * Where a collection ends: a block one where its last child does, a flow one after its
 * closing bracket; -1 when unknown.
 */
function collectionEnd(text: string, f: Frame): number {
  if (!f.flow) return f.children === 0 ? -1 : f.lastEnd;
  let i = f.children === 0 ? f.start + 1 : f.lastEnd;
  if (i < 0) return -1;
  i = skipBlank(text, i);
  if (text.charCodeAt(i) === 0x2c) i = skipBlank(text, i + 1); // a trailing ","
  const close = f.kind === 'map' ? 0x7d : 0x5d;
  return text.charCodeAt(i) === close ? i + 1 : -1;
}

function hasProps(ev: { anchorStart: number; tagStart: number }): boolean {
  return ev.anchorStart >= 0 || ev.tagStart >= 0;
}

/**
 * Text the two parsers read differently: directives ("%YAML", "%TAG" start a line with "%"),
 * a carriage return that does not end a line (js-yaml breaks lines there, the `yaml`
 * package does not), a byte order mark inside the text, the characters YAML 1.1 took for
 * line breaks, and tabs in indentation (which the `yaml` package rejects more often).
 */
function needsReference(text: string): boolean {
  if (text.charCodeAt(0) === 0x25 || text.includes('\n%')) return true;
  // The cheap includes() first: most files have neither tabs nor carriage returns.
  if (text.includes('\t') && /^ *\t/m.test(text)) return true;
  if (text.includes('\r') && /\r(?!\n)/.test(text)) return true;
  return /[\ufeff\u0085\u2028\u2029]/.test(text);
}

/**
 * The documents of `text` (without its BOM) as yaml-tree nodes, or null when the
 * reference path must parse it.
 */
export function fastParse(text: string): YamlDocument[] | null {
  if (needsReference(text)) return null;
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: MAX_DEPTH });
  } catch {
    return null;
  }
  const documents: YamlDocument[] = [];
  const stack: Frame[] = [];
  let top: Frame | undefined;

  const attach = (node: YamlNode | null, end: number): boolean => {
    const p = top!;
    if (p.kind === 'map') {
      if (p.hasKey) {
        p.pairs.push({ key: p.key, value: node });
        p.key = null;
        p.hasKey = false;
      } else {
        // The `yaml` package refuses an implicit key longer than 1024 characters.
        if (node === null || end < 0 || end - node.offset > MAX_KEY_LENGTH) return false;
        p.key = node;
        p.hasKey = true;
      }
    } else if (p.kind === 'seq') {
      p.items.push(node);
    } else {
      if (p.children > 0) return false;
      p.root = node;
    }
    p.children++;
    p.lastEnd = end;
    return true;
  };

  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        if (ev.directives.length > 0) return null;
        top = frame('doc', false, 0);
        stack.push(top);
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        if (top === undefined || hasProps(ev)) return null;
        top = frame(ev.type === EVENT_ID.MAPPING ? 'map' : 'seq', ev.style === 2, ev.start);
        stack.push(top);
        break;
      case EVENT_ID.SCALAR: {
        if (top === undefined || hasProps(ev)) return null;
        const offset = scalarStart(text, ev, top);
        if (ev.valueStart < 0 && top.kind === 'doc') {
          if (!attach(null, -1)) return null; // an empty document
          break;
        }
        if (offset < 0) return null;
        const raw = getScalarValue(text, ev);
        const value = ev.style === SCALAR_STYLE.PLAIN ? resolvePlain(raw) : raw;
        if (value === UNSURE) return null;
        const node: YamlScalar = { kind: 'scalar', value, offset };
        const end = ev.valueStart < 0 ? offset : scalarEnd(ev);
        if (!attach(top.kind === 'doc' && value === null ? null : node, end)) return null;
        break;
      }
      case EVENT_ID.POP: {
        const done = stack.pop();
        if (done === undefined) return null;
        top = stack[stack.length - 1];
        if (done.kind === 'doc') {
          if (done.root !== null) documents.push({ root: done.root });
          break;
        }
        if (top === undefined || done.hasKey) return null;
        const node: YamlNode =
          done.kind === 'map' ? { kind: 'map', pairs: done.pairs, offset: done.start } : { kind: 'seq', items: done.items, offset: done.start };
        const end = collectionEnd(text, done);
        // The `yaml` package rejects a comment at the very start of a line inside a flow
        // collection ("Comments must be separated from other tokens by white space").
        if (done.flow && !top.flow && (end < 0 || text.slice(done.start, end).includes('\n#'))) return null;
        if (!attach(node, end)) return null;
        break;
      }
      default:
        return null; // an alias
    }
  }
  return stack.length === 0 ? documents : null;
}
