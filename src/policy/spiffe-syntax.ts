/**
 * SPIFFE ID syntax for policy subjects and targets. The rules are the identity stage's own
 * (SPEC section 4), imported rather than restated: a subject that the identity stage
 * would reject could never be matched, so the two must not drift apart.
 */
import { parseSpiffeId, spiffeIdError } from '../identity/spiffe.js';

/** Why `s` is not a valid SPIFFE ID, or null when it is one. */
export function spiffeSyntaxError(s: string): string | null {
  return spiffeIdError(s);
}

/** The trust domain of a valid SPIFFE ID, else null. */
export function trustDomainOf(s: string): string | null {
  const id = parseSpiffeId(s);
  return id === null ? null : id.trustDomain;
}
