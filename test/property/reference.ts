/**
 * Reference implementations for the property tests, written straight from SPEC section 2
 * and 4 sentences with string splitting and regular expressions, sharing no code with
 * src/. They are slow and obvious on purpose: agreement with them is the property.
 */

/** SPEC section 2: what makes a request path INVALID_PATH, rule by rule. */
export function referenceAcceptable(raw: string): boolean {
  // "the part before `?`": a fragment before the query is part of what is checked.
  const path = raw.split('?')[0]!;
  if (!path.startsWith('/')) return false;
  if (/[^\x21-\x7e]/.test(path)) return false;
  if (path.includes('\\') || path.includes(';')) return false;
  if (/%(2f|5c|2e)/i.test(path)) return false;
  const segs = path.slice(1).split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === '' && i !== segs.length - 1) return false; // only a trailing '/' may leave one empty
    if (s === '.' || s === '..') return false;
  }
  return true;
}

/** SPEC section 2 matching, recursively on the template's and the path's segments. */
export function referenceMatch(template: string, raw: string): boolean {
  const path = raw.split(/[?#]/)[0]!;
  const go = (t: string[], p: string[]): boolean => {
    if (t.length === 0) return p.length === 0;
    const [head, ...rest] = t as [string, ...string[]];
    if (head === '**') return true; // only ever the last segment
    if (p.length === 0) return false;
    if (/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(head)) return p[0] !== '' && go(rest, p.slice(1));
    return head === p[0] && go(rest, p.slice(1));
  };
  return go(template.slice(1).split('/'), path.slice(1).split('/'));
}

/** SPEC section 2 hosts: lower-cased, one trailing dot removed, optional port 1-65535. */
export function referenceHost(raw: string): { host: string; port: number | null } | null {
  if (raw === '' || /[^\x21-\x7e]/.test(raw)) return null;
  const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(raw.toLowerCase());
  if (m === null) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  const host = m[1]!.endsWith('.') ? m[1]!.slice(0, -1) : m[1]!;
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host) ? { host, port } : null;
}

/** SPEC section 4 SPIFFE ID syntax (without the 2048-byte bound, irrelevant to short pools). */
export function referenceTrustDomain(id: string): string | null {
  const m = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)+)$/.exec(id);
  if (m === null) return null;
  if (m[2]!.split('/').some((s) => s === '.' || s === '..')) return null;
  return m[1]!;
}
