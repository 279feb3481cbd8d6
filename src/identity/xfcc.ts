/**
 * x-forwarded-client-cert (SPEC section 4 item 3, ENVOY-NOTES.md).
 *
 * Elements are comma-separated, one per hop; each is `;`-separated `key=value` pairs with
 * case-insensitive keys; a value may be double-quoted with `\"` inside. Behind a sidecar in
 * APPEND_FORWARD mode the caller controls every element but the last, so only the last one
 * is read; the whole header must still parse, because an element boundary can only be found
 * by reading the quotes before it.
 */

export type XfccUri =
  /** The last element's single URI value. */
  | { readonly ok: true; readonly uri: string }
  /** The last element carries no URI (a peer without a URI SAN): no identity from XFCC. */
  | { readonly ok: true; readonly uri: null }
  | { readonly ok: false; readonly detail: string };

/** Headers longer than this are refused without parsing (Envoy's own header limit is 60 KiB). */
const MAX_XFCC_CHARS = 64 * 1024;

const COMMA = 0x2c;
const SEMI = 0x3b;
const EQ = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The URI of the header's last element. Never throws. */
export function xfccLastUri(header: string): XfccUri {
  if (header.length > MAX_XFCC_CHARS) return { ok: false, detail: 'x-forwarded-client-cert too large' };
  const n = header.length;
  let i = 0;
  let uri: string | null = null;
  let uriCount = 0;
  // Each iteration reads one key=value pair and the separator after it.
  for (;;) {
    if (i >= n) return { ok: false, detail: 'x-forwarded-client-cert is empty or ends in a separator' };
    const eq = findEq(header, i);
    if (eq < 0) return { ok: false, detail: 'x-forwarded-client-cert pair without "="' };
    const key = header.slice(i, eq);
    if (key.length === 0) return { ok: false, detail: 'x-forwarded-client-cert pair with an empty key' };
    i = eq + 1;
    let value: string;
    if (i < n && header.charCodeAt(i) === QUOTE) {
      let v = '';
      let j = i + 1;
      let closed = false;
      let from = j;
      for (; j < n; j++) {
        const c = header.charCodeAt(j);
        if (c === BACKSLASH) {
          if (j + 1 >= n) break;
          v += header.slice(from, j);
          from = j + 1; // keep the escaped character itself
          j++;
        } else if (c === QUOTE) {
          v += header.slice(from, j);
          closed = true;
          break;
        }
      }
      if (!closed) return { ok: false, detail: 'x-forwarded-client-cert has an unterminated quoted value' };
      value = v;
      i = j + 1;
      if (i < n) {
        const c = header.charCodeAt(i);
        if (c !== SEMI && c !== COMMA) {
          return { ok: false, detail: 'x-forwarded-client-cert has text after a quoted value' };
        }
      }
    } else {
      let j = i;
      for (; j < n; j++) {
        const c = header.charCodeAt(j);
        if (c === SEMI || c === COMMA) break;
        if (c === QUOTE || c === EQ) {
          return { ok: false, detail: 'x-forwarded-client-cert has an unquoted value holding a quote or "="' };
        }
      }
      value = header.slice(i, j);
      i = j;
    }
    if (key.length === 3 && key.toLowerCase() === 'uri') {
      uri = value;
      uriCount++;
    }
    if (i >= n) break;
    const sep = header.charCodeAt(i);
    i++;
    // Tolerate the optional whitespace some proxies put after a separator.
    while (i < n && (header.charCodeAt(i) === 0x20 || header.charCodeAt(i) === 0x09)) i++;
    if (sep === COMMA) {
      // A new element starts: only the last one counts.
      uri = null;
      uriCount = 0;
    }
  }
  if (uriCount > 1) return { ok: false, detail: 'x-forwarded-client-cert last element has several URI values' };
  return { ok: true, uri };
}

/** Index of the `=` ending the key that starts at `i`, or -1 when the key is malformed. */
function findEq(s: string, i: number): number {
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === EQ) return j;
    if (c === SEMI || c === COMMA || c === QUOTE || c <= 0x20 || c >= 0x7f) return -1;
  }
  return -1;
}
