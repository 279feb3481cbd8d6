/**
 * Request paths and path templates (SPEC section 2). Templates are split once at compile
 * time; a request path is checked once per request and matched unsplit, so the decision
 * allocates nothing for it. No regular expression is ever built from policy text.
 */

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;
const SEMICOLON = 0x3b;
const BACKSLASH = 0x5c;

/** Index of the first `?` or `#` (where the query or fragment starts), else the length. */
function pathEnd(raw: string): number {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === QUESTION || c === HASH) return i;
  }
  return raw.length;
}

/**
 * The path with its query and fragment cut off, as the decision log records it. `end` is
 * where they start, when a caller (checkRequestPath) has already found it.
 */
export function pathWithoutQuery(raw: string, end = pathEnd(raw)): string {
  return end === raw.length ? raw : raw.slice(0, end);
}

/** `%2F`, `%5C` or `%2E` in any case starting at i (before end)? */
function isEncodedSeparator(s: string, i: number, end: number): boolean {
  if (i + 2 >= end) return false;
  const a = s.charCodeAt(i + 1);
  const b = s.charCodeAt(i + 2) | 0x20; // ASCII letters to lower case
  return (a === 0x32 && (b === 0x66 || b === 0x65)) || (a === 0x35 && b === 0x63);
}

/**
 * Why the character at i of a path is unacceptable, or null. Shared by request paths
 * and templates so that a template can only mention what a request may contain.
 */
function badPathChar(s: string, i: number, end: number): string | null {
  const c = s.charCodeAt(i);
  if (c < 0x21 || c > 0x7e) return 'a character outside 0x21-0x7E (control, space or non-ASCII)';
  if (c === BACKSLASH) return 'a backslash';
  if (c === SEMICOLON) return 'a ";"';
  if (c === PERCENT && isEncodedSeparator(s, i, end)) {
    return `a percent-encoded "/", "\\" or "." (${s.slice(i, i + 3)})`;
  }
  return null;
}

/**
 * 1 for the ASCII characters a request path may contain that need no further look: every
 * printable one but `/`, `?`, `#` (structure), `%` (maybe an encoded separator), `\` and
 * `;` (refused). One table load per character instead of a chain of comparisons: the scan
 * is a tenth of an in-process decision.
 */
const PLAIN = new Uint8Array(128);
for (let c = 0x21; c <= 0x7e; c++) PLAIN[c] = 1;
for (const c of [SLASH, QUESTION, HASH, PERCENT, BACKSLASH, SEMICOLON]) PLAIN[c] = 0;

function isDotSegment(s: string, start: number, len: number): boolean {
  return (len === 1 && s.charCodeAt(start) === DOT) ||
    (len === 2 && s.charCodeAt(start) === DOT && s.charCodeAt(start + 1) === DOT);
}

/**
 * Longest request path (before `?`) accepted. Envoy's default header limit is 60 KiB, but
 * a direct gRPC caller can send a 1 MiB path whose splitting alone costs ~50 ordinary
 * decisions (hostile suite, scripts/reliability/limits.mjs); no real route is this long.
 * A longer path is INVALID_PATH.
 */
export const MAX_REQUEST_PATH_CHARS = 16 * 1024;

/**
 * Checks a request path against SPEC section 2 without splitting it: returns where the
 * path to match ends (the index of its first `#` or `?`, else its length), or -1 when it is
 * INVALID_PATH. SPEC checks "the part before `?`", so a fragment before the query is checked
 * with the path: not starting with `/`, an empty segment (other than after a trailing `/`),
 * a `.` or `..` segment, a backslash, a `;`, `%2F`/`%5C`/`%2E` in any case, or a byte
 * outside 0x21-0x7E anywhere before the `?` is refused (`/a#/../b` and `/a#b c` are
 * INVALID_PATH; `/a#frag` is accepted and matched as `/a`). Allocation-free: the decision
 * matches templates on the unsplit path.
 */
export function checkRequestPath(raw: string): number {
  if (typeof raw !== 'string' || raw.length === 0 || raw.charCodeAt(0) !== SLASH) return -1;
  // One pass up to the first `?`; every character before it is checked, and the first `#`
  // is remembered as where matching stops. A path longer than the cap is refused without
  // reading the rest of it.
  const limit = Math.min(raw.length, MAX_REQUEST_PATH_CHARS + 1);
  let start = 1;
  let hash = -1;
  let i = 1;
  for (; i < limit; i++) {
    const c = raw.charCodeAt(i);
    if (c < 128 && PLAIN[c] === 1) continue;
    if (c === QUESTION) break;
    if (c === HASH) {
      if (hash < 0) hash = i;
    } else if (c === SLASH) {
      // Only the segment after a trailing '/' may be empty.
      if (i === start || isDotSegment(raw, start, i - start)) return -1;
      start = i + 1;
    } else if (badPathChar(raw, i, limit) !== null) {
      return -1;
    }
  }
  if (i > MAX_REQUEST_PATH_CHARS || isDotSegment(raw, start, i - start)) return -1;
  return hash < 0 ? i : hash;
}

const LITERAL = 0;
const PARAM = 1;

/** A path template split once; match with matchPathTemplateIn(). */
export interface PathTemplate {
  /** The template as written. */
  readonly source: string;
  /** Segments before any `**`: the literal text, or the parameter name of a `{name}`. */
  readonly segments: readonly string[];
  /** Per segment: 0 literal, 1 `{name}`. */
  readonly kinds: Uint8Array;
  /** The template ends in `**` (zero or more further segments). */
  readonly glob: boolean;
  /** Names of the `{name}` parameters, in order. */
  readonly params: readonly string[];
}

export type PathTemplateResult =
  | { readonly template: PathTemplate; readonly error: null }
  | { readonly template: null; readonly error: string };

function fail(error: string): PathTemplateResult {
  return { template: null, error };
}

function isParamName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    const digit = c >= 0x30 && c <= 0x39;
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

/**
 * Splits and checks a template: it starts with `/`; its literal segments follow the
 * request-path character rules (and hold no `?`, `#`, `{`, `}` or `*`, which no request
 * segment could match or which would read as a wildcard); `{name}` is a whole segment
 * with a unique name `[A-Za-z_][A-Za-z0-9_]*`; `**` is a whole segment and the last one.
 */
export function compilePathTemplate(source: string): PathTemplateResult {
  if (typeof source !== 'string' || source.length === 0) return fail('is empty');
  if (source.charCodeAt(0) !== SLASH) return fail('must start with "/"');
  const end = source.length;
  for (let i = 0; i < end; i++) {
    const c = source.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      return fail('contains "?" or "#": the query and fragment are never matched');
    }
    const bad = badPathChar(source, i, end);
    if (bad !== null) return fail(`contains ${bad}, which every request path containing it is denied for`);
  }
  const parts = source.slice(1).split('/');
  const segments: string[] = [];
  const kinds: number[] = [];
  const params: string[] = [];
  let glob = false;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    if (seg.length === 0 && !last) return fail('has an empty segment ("//")');
    if (isDotSegment(seg, 0, seg.length)) return fail(`has a "${seg}" segment`);
    if (seg === '**') {
      if (!last) return fail('has "**" before its last segment');
      glob = true;
      continue;
    }
    if (seg.includes('*')) return fail(`segment "${seg}": "*" is only allowed as the whole last segment "**"`);
    if (seg.includes('{') || seg.includes('}')) {
      const name = seg.slice(1, -1);
      if (seg.charCodeAt(0) !== 0x7b || seg.charCodeAt(seg.length - 1) !== 0x7d || !isParamName(name)) {
        return fail(`segment "${seg}": a parameter is a whole segment "{name}" with name [A-Za-z_][A-Za-z0-9_]*`);
      }
      if (params.includes(name)) return fail(`parameter "{${name}}" appears twice`);
      params.push(name);
      segments.push(name);
      kinds.push(PARAM);
      continue;
    }
    segments.push(seg);
    kinds.push(LITERAL);
  }
  const template: PathTemplate = Object.freeze({
    source,
    segments: Object.freeze(segments),
    kinds: Uint8Array.from(kinds),
    glob,
    params: Object.freeze(params),
  });
  return { template, error: null };
}

/**
 * Whether a request path matches a template: literals exactly, `{name}` one non-empty
 * segment, a final `**` zero or more segments, a trailing `/` significant. `raw` is the
 * unsplit request path whose first `end` characters checkRequestPath accepted; nothing is
 * split or allocated.
 */
export function matchPathTemplateIn(t: PathTemplate, raw: string, end: number): boolean {
  const segs = t.segments;
  const n = segs.length;
  let pos = 1; // start of the current request segment, after its '/'
  for (let i = 0; i < n; i++) {
    if (pos > end) return false; // the request has fewer segments than the template
    let e = raw.indexOf('/', pos);
    if (e < 0 || e > end) e = end;
    if (t.kinds[i] === LITERAL) {
      const s = segs[i]!;
      if (e - pos !== s.length || !raw.startsWith(s, pos)) return false;
    } else if (e === pos) {
      return false;
    }
    pos = e + 1;
  }
  // Without `**` the request must have no segment left; with it, any number may follow.
  return t.glob || pos === end + 1;
}
