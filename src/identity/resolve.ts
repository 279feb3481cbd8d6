/**
 * The identity stage (SPEC section 4; checks 1-3 of section 5): principal, certificate,
 * trusted XFCC, then a bearer JWT, then the trust-domain check.
 *
 * Synchronous for the mTLS sources, so the common path allocates no promise; a Promise is
 * returned only when the bearer path is taken. Never throws, and the promise never rejects.
 */
import { certificateIdentity } from './certificate.js';
import { parseSpiffeId, spiffeIdError, type SpiffeId } from './spiffe.js';
import type { IdentityInput, IdentityOptions, IdentityResult, IdentityVia } from './types.js';
import { xfccLastUri } from './xfcc.js';

export type { IdentityOptions } from './types.js';

type Reason = IdentityResult['reason'];

function result(
  reason: Reason,
  spiffeId: string | null,
  trustDomain: string | null,
  via: IdentityVia | null,
  detail: string | null,
): IdentityResult {
  return { reason, spiffeId, trustDomain, via, detail, issuer: null, tokenSha256: null };
}

const NO_IDENTITY: IdentityResult = Object.freeze(
  result('NO_IDENTITY', null, null, null, 'no principal, certificate, trusted XFCC URI or bearer token'),
);

function invalid(via: IdentityVia, detail: string): IdentityResult {
  return result('INVALID_IDENTITY', null, null, via, detail);
}

function trustChecked(id: SpiffeId, via: IdentityVia, trusted: ReadonlySet<string>): IdentityResult {
  return trusted.has(id.trustDomain)
    ? result(null, id.id, id.trustDomain, via, null)
    : result('UNTRUSTED_DOMAIN', id.id, id.trustDomain, via, `trust domain ${id.trustDomain} is not trusted`);
}

export function resolveIdentity(
  input: IdentityInput,
  opts: IdentityOptions,
  trusted: ReadonlySet<string>,
  nowMs: number,
): IdentityResult | Promise<IdentityResult> {
  try {
    // The common case behind Envoy: a principal and nothing else to cross-check. Its
    // answer depends only on the principal and the trusted set, so it is remembered.
    const principalOnly = input.principal !== '' && input.certificate === '' && (!opts.trustXfcc || input.xfcc === null);
    if (principalOnly) {
      const hit = principalCache.get(input.principal);
      if (hit !== undefined && hit.trusted === trusted) return hit.result;
    }
    let id: SpiffeId | null = null;
    let via: IdentityVia | null = null;

    // 1. Envoy's principal: the first URI SAN, else a DNS SAN or the Subject, which are not IDs.
    if (input.principal !== '') {
      id = parseSpiffeId(input.principal);
      if (id === null) {
        const r = invalid('principal', `principal is not a valid SPIFFE ID: ${spiffeIdError(input.principal)}`);
        if (principalOnly) remember(input.principal, trusted, r);
        return r;
      }
      via = 'principal';
    }

    // 2. The peer certificate, when Envoy sends it: unusable means invalid, never a fallback.
    if (input.certificate !== '') {
      const cert = certificateIdentity(input.certificate, nowMs);
      if (!cert.ok) return invalid('certificate', cert.detail);
      if (id !== null && cert.spiffe.id !== id.id) {
        return invalid('certificate', 'certificate URI SAN differs from the principal');
      }
      id = cert.spiffe;
      via = 'certificate';
    }

    // 3. XFCC, only when the operator trusts it; an untrusted one is never read.
    if (opts.trustXfcc && input.xfcc !== null) {
      const x = xfccLastUri(input.xfcc);
      if (!x.ok) return invalid('xfcc', x.detail);
      if (x.uri !== null) {
        const xid = parseSpiffeId(x.uri);
        if (xid === null) return invalid('xfcc', `XFCC URI is not a valid SPIFFE ID: ${spiffeIdError(x.uri)}`);
        if (id !== null) {
          if (xid.id !== id.id) return invalid('xfcc', `XFCC URI differs from the ${via}`);
        } else {
          id = xid;
          via = 'xfcc';
        }
      }
    }

    if (id !== null && via !== null) {
      const r = trustChecked(id, via, trusted);
      if (principalOnly) remember(input.principal, trusted, r);
      return r;
    }

    // 4. A bearer JWT, only when nothing above gave an identity.
    if (opts.bearer !== null && input.authorization !== null) {
      return opts.bearer.verify(input.authorization, nowMs).then(
        (r) => (r.reason === null ? withTrust(r, trusted) : r),
        () => result('INVALID_IDENTITY', null, null, null, 'bearer verification failed unexpectedly'),
      );
    }
    return NO_IDENTITY;
  } catch {
    // Nothing above is expected to throw; fail closed with a fixed detail if it does.
    return result('INVALID_IDENTITY', null, null, null, 'identity resolution failed unexpectedly');
  }
}

/**
 * Principal-only results by principal, for the trusted set they were computed with (a
 * reload that changes the set misses and recomputes). Bounded: cleared when full, so a
 * caller cycling through endless principals costs at most the uncached path. Measured
 * with benchmarks/inproc-mandate.mjs: parseSpiffeId plus the result object were ~13% of
 * an in-process decision.
 */
const PRINCIPAL_CACHE_ENTRIES = 4096;
const principalCache = new Map<string, { readonly trusted: ReadonlySet<string>; readonly result: IdentityResult }>();

function remember(principal: string, trusted: ReadonlySet<string>, result: IdentityResult): void {
  if (principalCache.size >= PRINCIPAL_CACHE_ENTRIES) principalCache.clear();
  principalCache.set(principal, { trusted, result: Object.freeze(result) });
}

function withTrust(r: IdentityResult, trusted: ReadonlySet<string>): IdentityResult {
  if (r.trustDomain !== null && trusted.has(r.trustDomain)) return r;
  if (r.via === 'oidc') {
    // SPEC 4 item 4: an OIDC token maps to an ID "in a configured trust domain", else the
    // token is rejected. The ID is mandate's own construction, not the caller's claim.
    return {
      reason: 'INVALID_IDENTITY',
      spiffeId: null,
      trustDomain: null,
      via: r.via,
      detail: `subject template gives ${r.spiffeId}, outside the trusted trust domains`,
      issuer: r.issuer,
      tokenSha256: r.tokenSha256,
    };
  }
  return {
    reason: 'UNTRUSTED_DOMAIN',
    spiffeId: r.spiffeId,
    trustDomain: r.trustDomain,
    via: r.via,
    detail: `trust domain ${r.trustDomain} is not trusted`,
    issuer: r.issuer,
    tokenSha256: r.tokenSha256,
  };
}
