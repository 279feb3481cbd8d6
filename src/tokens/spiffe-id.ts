/** The SPIFFE ID rule token checks need, from the identity module's strict parser (SPEC section 4). */
import { parseSpiffeId } from '../identity/spiffe.js';

/** Trust domain of a strictly valid SPIFFE ID, else null. Never throws. */
export function spiffeTrustDomain(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  return parseSpiffeId(id)?.trustDomain ?? null;
}
