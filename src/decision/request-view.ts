/**
 * The request as the decision log and the action index see it: its normalised host, its
 * target and its path without query. Used by evaluate() and by the decision log, so the
 * two always agree.
 *
 * Request hosts are normalised once per distinct `:authority`. A mesh sends few distinct
 * authorities, so after warm-up a decision's host costs one Map lookup instead of a scan,
 * a lower-casing and an allocation (normalizeHost was ~10% of an in-process decision in
 * the profile of benchmarks/inproc-mandate.mjs). Bounded: when full the cache is cleared,
 * so hostile callers sending endless distinct hosts cost at most the uncached path.
 */
import { hostPortText, normalizeHost } from '../policy/hosts.js';
import { pathWithoutQuery } from '../policy/paths.js';

export interface RequestHost {
  readonly host: string;
  readonly port: number | null;
  /** `host` or `host:port`, as the decision log's `target`. */
  readonly display: string;
}

const MAX_ENTRIES = 4096;
const cache = new Map<string, RequestHost | null>();

export function requestHost(raw: string): RequestHost | null {
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  const n = raw === '' ? null : normalizeHost(raw);
  const v = n === null ? null : Object.freeze({ host: n.host, port: n.port, display: hostPortText(n) });
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(raw, v);
  return v;
}

/** SPEC section 7's `target`: the destination principal when it is a SPIFFE ID, else the normalised host. */
export function requestTarget(destinationPrincipal: string, host: RequestHost | null): string | null {
  if (destinationPrincipal.startsWith('spiffe://')) return destinationPrincipal;
  return host === null ? null : host.display;
}

/** The request path without query and fragment; null when the request had none. */
export function requestPath(raw: string): string | null {
  return raw === '' ? null : pathWithoutQuery(raw);
}
