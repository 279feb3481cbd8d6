/**
 * Strict SPIFFE ID parsing (SPEC section 4). Rejects rather than repairs: nothing is
 * case-folded, decoded or trimmed. One pass over the characters, no regular expression;
 * the only allocations are the result object and its two substrings.
 */

export interface SpiffeId {
  /** The ID exactly as given (it is already canonical when it parses). */
  readonly id: string;
  readonly trustDomain: string;
  /** The path, starting with '/'. */
  readonly path: string;
}

/** SPIFFE IDs longer than this (in UTF-8 bytes) are rejected before anything else. */
const MAX_SPIFFE_ID_BYTES = 2048;
/** The SPIFFE standard's bound on a trust domain name. */
const MAX_TRUST_DOMAIN_BYTES = 255;

const SCHEME = 'spiffe://';

// Character classes as lookup tables over ASCII (index = char code).
const TD_CHAR = new Uint8Array(128);
const SEG_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const lower = c >= 0x61 && c <= 0x7a;
  const upper = c >= 0x41 && c <= 0x5a;
  const digit = c >= 0x30 && c <= 0x39;
  const punct = c === 0x2e || c === 0x5f || c === 0x2d; // . _ -
  TD_CHAR[c] = lower || digit || punct ? 1 : 0;
  SEG_CHAR[c] = lower || upper || digit || punct ? 1 : 0;
}

// The error messages, indexed by the negative codes scan() returns.
const ERRORS = [
  '',
  'not a string',
  'longer than 2048 bytes',
  'scheme is not exactly "spiffe://"',
  'empty trust domain',
  'trust domain character not in [a-z0-9._-] (upper case, port, userinfo, encoding, query or fragment)',
  'trust domain longer than 255 bytes',
  'missing path (trust domain only)',
  'empty path segment',
  'path segment is "." or ".."',
  'path character not in [A-Za-z0-9._-] (percent-encoding, query, fragment, whitespace or non-ASCII)',
  'trailing "/"',
] as const;

/**
 * Returns the index of the '/' that starts the path (> 0), or a negative error code
 * (an index into ERRORS).
 */
function scan(s: unknown): number {
  if (typeof s !== 'string') return -1;
  // Length first, as the standard asks: a UTF-16 length over the bound is over it in bytes
  // too; below it, only non-ASCII text can push the byte count over.
  if (s.length > MAX_SPIFFE_ID_BYTES) return -2;
  if (Buffer.byteLength(s, 'utf8') > MAX_SPIFFE_ID_BYTES) return -2;
  if (!s.startsWith(SCHEME)) return -3;
  const n = s.length;
  let i = SCHEME.length;
  const tdStart = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2f) break;
    if (c >= 128 || TD_CHAR[c] === 0) return -5;
  }
  if (i === tdStart) return -4;
  if (i - tdStart > MAX_TRUST_DOMAIN_BYTES) return -6;
  if (i === n) return -7;
  const pathStart = i;
  // i is at a '/': each iteration reads one segment after it.
  while (i < n) {
    const segStart = ++i;
    let dots = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2f) break;
      if (c >= 128 || SEG_CHAR[c] === 0) return -10;
      if (c === 0x2e) dots++;
    }
    const len = i - segStart;
    if (len === 0) return segStart === n ? -11 : -8;
    if (dots === len && len <= 2) return -9;
  }
  return pathStart;
}

/** The parsed ID, or null when `s` is not a valid SPIFFE ID. */
export function parseSpiffeId(s: string): SpiffeId | null {
  const p = scan(s);
  if (p < 0) return null;
  return { id: s, trustDomain: s.slice(SCHEME.length, p), path: s.slice(p) };
}

/** The trust domain of a valid SPIFFE ID; null for anything else, non-strings included. */
export function spiffeTrustDomain(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  const p = scan(s);
  return p < 0 ? null : s.slice(SCHEME.length, p);
}

/** Why `s` is not a valid SPIFFE ID (for logs), or null when it is one. */
export function spiffeIdError(s: string): string | null {
  const p = scan(s);
  return p < 0 ? ERRORS[-p]! : null;
}

/** Whether `s` is a valid trust domain name on its own (for configuration checks). */
export function isValidTrustDomain(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_TRUST_DOMAIN_BYTES) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TD_CHAR[c] === 0) return false;
  }
  return true;
}
