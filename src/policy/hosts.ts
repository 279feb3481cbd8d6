/**
 * Host normalisation (SPEC section 2), the same for policy targets and request hosts so the
 * two compare with `===`: ASCII only, lower-cased, one trailing dot removed, the port split
 * off. Anything else is garbage and yields null rather than a best guess.
 */

export interface HostPort {
  /** Lower-cased host without port; IPv6 literals keep their brackets (`[::1]`). */
  readonly host: string;
  /** 1-65535, or null when the text named no port. */
  readonly port: number | null;
}

const MAX_HOST = 253;
const MAX_LABEL = 63;

function parsePort(s: string): number | null {
  if (s.length === 0 || s.length > 5) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return n >= 1 && n <= 65535 ? n : null;
}

/** Dot-separated labels of [a-z0-9_-] (already lower-cased), none empty. */
function isHostName(h: string): boolean {
  if (h.length === 0 || h.length > MAX_HOST) return false;
  let label = 0;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) return false;
      label = 0;
      continue;
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok || ++label > MAX_LABEL) return false;
  }
  return label > 0;
}

function isIpv6Body(s: string): boolean {
  if (s.length < 2 || !s.includes(':')) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || c === 0x3a || c === 0x2e;
    if (!ok) return false;
  }
  return true;
}

/**
 * `Example.ORG.:8443` → `{host: 'example.org', port: 8443}`; `[::1]:80` → `{host: '[::1]',
 * port: 80}`; null for empty text, non-ASCII, a bad port, an empty label (`a..b`, or two
 * trailing dots) or any character outside [A-Za-z0-9._-].
 */
export function normalizeHost(raw: string): HostPort | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_HOST + 8) return null;
  // Check ASCII before lower-casing: toLowerCase() maps some non-ASCII letters (the Kelvin
  // sign U+212A) onto ASCII ones, which would let a look-alike host match a target.
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
  }
  const s = raw.toLowerCase();
  if (s.charCodeAt(0) === 0x5b) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const body = s.slice(1, close);
    if (!isIpv6Body(body)) return null;
    const rest = s.slice(close + 1);
    if (rest.length === 0) return { host: `[${body}]`, port: null };
    if (rest.charCodeAt(0) !== 0x3a) return null;
    const port = parsePort(rest.slice(1));
    return port === null ? null : { host: `[${body}]`, port };
  }
  const colon = s.indexOf(':');
  if (colon !== s.lastIndexOf(':')) return null; // a bare IPv6 address or worse
  let host = colon < 0 ? s : s.slice(0, colon);
  let port: number | null = null;
  if (colon >= 0) {
    port = parsePort(s.slice(colon + 1));
    if (port === null) return null;
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return isHostName(host) ? { host, port } : null;
}

/** `host` or `host:port`: how a normalised host is written in keys, logs and reports. */
export function hostPortText(hp: HostPort): string {
  return hp.port === null ? hp.host : `${hp.host}:${hp.port}`;
}
