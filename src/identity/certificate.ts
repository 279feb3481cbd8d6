/**
 * attributes.source.certificate → the X.509-SVID's SPIFFE ID (SPEC section 4 item 2).
 *
 * Envoy sends the peer's leaf as URL-encoded PEM. Parsing costs 120-170 µs per certificate
 * (ENVOY-NOTES.md) while a peer reuses one certificate for hours, so parse results are cached
 * by the encoded text; the validity window is re-checked against `nowMs` on every call, and an
 * entry is dropped once its certificate has expired.
 */
import { X509Certificate } from 'node:crypto';
import { leafConstraints } from './der.js';
import { parseSpiffeId, spiffeIdError, type SpiffeId } from './spiffe.js';

/** Encoded certificates larger than this are rejected without decoding. */
const MAX_CERTIFICATE_CHARS = 64 * 1024;
/** Parsed certificates kept; least recently used ones are dropped first. */
export const CERTIFICATE_CACHE_SIZE = 1024;
/**
 * Bound on the cached keys' total length, so that a client able to send CheckRequests
 * directly cannot pin 1024 × 64 KiB of text (a real SVID is about 1-2 KiB encoded).
 */
export const CERTIFICATE_CACHE_CHARS = 4 * 1024 * 1024;

export type CertificateIdentity =
  | { readonly ok: true; readonly spiffe: SpiffeId }
  | { readonly ok: false; readonly detail: string };

/** What is cached: everything that does not depend on the clock. */
type Parsed =
  | { readonly ok: true; readonly spiffe: SpiffeId; readonly notBeforeMs: number; readonly notAfterMs: number }
  | { readonly ok: false; readonly detail: string };

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

// A Map iterates in insertion order: re-inserting on a hit makes it an LRU.
const cache = new Map<string, Parsed>();
let cachedChars = 0;

/** Empties the parse cache (tests, or a trust-bundle change). */
export function clearCertificateCache(): void {
  cache.clear();
  cachedChars = 0;
}

function forget(key: string): void {
  if (cache.delete(key)) cachedChars -= key.length;
}

function remember(key: string, value: Parsed): void {
  while (cache.size > 0 && (cache.size >= CERTIFICATE_CACHE_SIZE || cachedChars + key.length > CERTIFICATE_CACHE_CHARS)) {
    forget(cache.keys().next().value!);
  }
  cache.set(key, value);
  cachedChars += key.length;
}

export function certificateCacheSize(): number {
  return cache.size;
}

/**
 * The SPIFFE ID of the leaf in `encoded` (as Envoy sends it), or why it is unusable.
 * Never throws.
 */
export function certificateIdentity(encoded: string, nowMs: number): CertificateIdentity {
  if (encoded.length > MAX_CERTIFICATE_CHARS) return fail('certificate larger than 64 KiB');
  // A hit is re-inserted below, which moves it to the most recently used end.
  let parsed = cache.get(encoded);
  if (parsed === undefined) parsed = parse(encoded);
  else forget(encoded);
  if (!parsed.ok) {
    remember(encoded, parsed);
    return parsed;
  }
  if (nowMs > parsed.notAfterMs) {
    // Expired for good: leave it out of the cache (the TTL ends at notAfter).
    return fail('certificate expired');
  }
  remember(encoded, parsed);
  if (nowMs < parsed.notBeforeMs) return fail('certificate not yet valid');
  return { ok: true, spiffe: parsed.spiffe };
}

function fail(detail: string): { readonly ok: false; readonly detail: string } {
  return { ok: false, detail };
}

function parse(encoded: string): Parsed {
  let pem: string;
  try {
    pem = decodeURIComponent(encoded);
  } catch {
    return fail('certificate is not valid URL encoding');
  }
  const first = pem.indexOf(PEM_BEGIN);
  if (first < 0) return fail('certificate is not a PEM certificate');
  if (pem.indexOf(PEM_BEGIN, first + PEM_BEGIN.length) >= 0) {
    return fail('certificate field holds more than one certificate');
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return fail('certificate does not parse');
  }
  if (cert.ca) return fail('certificate is a CA certificate');
  const constraints = leafConstraints(cert.raw);
  if (constraints === null) return fail('certificate extensions do not parse');
  if (constraints.ca) return fail('certificate is a CA certificate');
  if (constraints.signsCertificates) return fail('certificate key usage allows signing certificates');
  const notBeforeMs = Date.parse(cert.validFrom);
  const notAfterMs = Date.parse(cert.validTo);
  if (Number.isNaN(notBeforeMs) || Number.isNaN(notAfterMs)) return fail('certificate validity does not parse');
  const uris = uriSans(cert.subjectAltName);
  if (uris === null) return fail('certificate subjectAltName does not parse');
  if (uris.length !== 1) return fail(`certificate has ${uris.length} URI SANs, expected exactly one`);
  const uri = uris[0]!;
  const spiffe = parseSpiffeId(uri);
  if (spiffe === null) return fail(`certificate URI SAN is not a valid SPIFFE ID: ${spiffeIdError(uri)}`);
  return { ok: true, spiffe, notBeforeMs, notAfterMs };
}

/**
 * The URI SANs in Node's `subjectAltName` text, or null when it does not parse.
 *
 * Node prints `TYPE:value` entries joined by ", ". A value holding `,`, `"`, `\`, `'` or a
 * control character is printed as a JSON string, either as `TYPE:"…"` or with the prefix
 * inside the quotes (`"TYPE:…"`); without that, a SAN such as `a, URI:spiffe://evil` would
 * read as two names. Anything that does not follow this grammar is refused.
 */
export function uriSans(text: string | undefined): string[] | null {
  const out: string[] = [];
  if (text === undefined || text === '') return out;
  const n = text.length;
  let i = 0;
  while (i < n) {
    let type: string;
    let value: string;
    if (text.charCodeAt(i) === 0x22) {
      const end = jsonStringEnd(text, i);
      if (end < 0) return null;
      const whole = parseJsonString(text.slice(i, end));
      if (whole === null) return null;
      const colon = whole.indexOf(':');
      if (colon < 0) return null;
      type = whole.slice(0, colon);
      value = whole.slice(colon + 1);
      i = end;
    } else {
      const colon = text.indexOf(':', i);
      if (colon < 0) return null;
      type = text.slice(i, colon);
      if (type.includes(',')) return null;
      if (text.charCodeAt(colon + 1) === 0x22) {
        const end = jsonStringEnd(text, colon + 1);
        if (end < 0) return null;
        const v = parseJsonString(text.slice(colon + 1, end));
        if (v === null) return null;
        value = v;
        i = end;
      } else {
        const sep = text.indexOf(', ', colon + 1);
        const end = sep < 0 ? n : sep;
        value = text.slice(colon + 1, end);
        i = end;
      }
    }
    if (type === 'URI') out.push(value);
    if (i < n) {
      if (text.charCodeAt(i) !== 0x2c || text.charCodeAt(i + 1) !== 0x20) return null;
      i += 2;
      if (i >= n) return null;
    }
  }
  return out;
}

/** Index just past the closing quote of the JSON string opening at `start`, or -1. */
function jsonStringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

function parseJsonString(quoted: string): string | null {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}
