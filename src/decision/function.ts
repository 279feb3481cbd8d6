/**
 * Which business function a request claims (SPEC section 6), from the header, the route's
 * context_extensions and a valid task token's scope. Pure; one small result object.
 */

export type FunctionResolution =
  | { readonly reason: null; readonly name: string; readonly via: string }
  | { readonly reason: 'MISSING_FUNCTION' | 'FUNCTION_CONFLICT' | 'TOKEN_FUNCTION_MISMATCH'; readonly name: string | null; readonly via: string | null };

// `via` strings for every combination, built once: header, token, route in that order.
const VIA: readonly (string | null)[] = (() => {
  const out: (string | null)[] = [];
  for (let mask = 0; mask < 8; mask++) {
    const parts: string[] = [];
    if (mask & 1) parts.push('header');
    if (mask & 2) parts.push('token');
    if (mask & 4) parts.push('route');
    out.push(parts.length === 0 ? null : parts.join('+'));
  }
  return out;
})();

/**
 * @param header the function header's value (null when absent; '' counts as absent)
 * @param route context_extensions["function"] (null when absent; '' counts as absent)
 * @param scope the scope of a task token that verified (null when no valid token)
 */
export function resolveFunction(header: string | null, route: string | null, scope: string | null): FunctionResolution {
  const h = header === '' ? null : header;
  const r = route === '' ? null : route;
  const s = scope === '' ? null : scope;
  const via = VIA[(h !== null ? 1 : 0) | (s !== null ? 2 : 0) | (r !== null ? 4 : 0)] ?? null;
  if (h === null && r === null && s === null) return { reason: 'MISSING_FUNCTION', name: null, via: null };
  // A comma in the header means several values (Envoy joins repeated headers with ',').
  if (h !== null && h.includes(',')) return { reason: 'FUNCTION_CONFLICT', name: null, via };
  if (h !== null && r !== null && h !== r) return { reason: 'FUNCTION_CONFLICT', name: null, via };
  const declared = h ?? r;
  if (declared !== null && s !== null && declared !== s) {
    return { reason: 'TOKEN_FUNCTION_MISMATCH', name: declared, via };
  }
  return { reason: null, name: (declared ?? s) as string, via: via as string };
}
