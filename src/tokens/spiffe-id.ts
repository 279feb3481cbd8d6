/**
 * The strict SPIFFE ID rule of SPEC section 4, reduced to what token checks need: the trust
 * domain of a valid ID, or null. Kept local so token verification does not wait on the
 * identity module; it applies the same rules (reject, never repair).
 */

const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const PREFIX = 'spiffe://';

/** Trust domain of a strictly valid SPIFFE ID, else null. Never throws. */
export function spiffeTrustDomain(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  // Length first: IDs are ASCII when valid, so chars bound bytes from below; a
  // non-ASCII char fails the patterns anyway.
  if (id.length > MAX_ID_BYTES || !id.startsWith(PREFIX)) return null;
  const rest = id.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null; // no path, or empty trust domain
  const td = rest.slice(0, slash);
  if (td.length > MAX_TRUST_DOMAIN_BYTES || !TRUST_DOMAIN.test(td)) return null;
  const path = rest.slice(slash + 1);
  if (path.length === 0) return null; // trailing '/' with no segment
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..' || !SEGMENT.test(seg)) return null;
  }
  return td;
}
