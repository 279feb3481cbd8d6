/**
 * Bearer-JWT identity (SPEC section 4 item 4): JWT-SVIDs verified against their trust
 * domain's bundle, and OIDC tokens (e.g. a CI runner's) mapped to a SPIFFE ID by a template.
 *
 * Prepared once: issuers indexed by `iss` (OIDC) and trust domain (JWT-SVID), verify options
 * built per issuer. Per call: read the header, route by the *unverified* claims, check the
 * JOSE header ourselves (jose would accept jku/x5u/jwk/x5c silently and typ of any value),
 * find the key, let jose verify signature, aud, exp and nbf, then map to an identity.
 * `verify` never rejects; the trust-domain check is the resolver's.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { FORBIDDEN_JOSE_HEADERS, tokenSha256 } from '../jws.js';
import { parseSpiffeId, spiffeIdError } from '../spiffe.js';
import type { BearerIdentity, IdentityResult, IdentityVia, KeySetStats } from '../types.js';
import { readBearer } from './authorization.js';
import type { IdentityConfig, OidcIssuerConfig } from './config.js';
import { clip, KeySet } from './key-set.js';
import { renderSubject } from './template.js';

export interface BearerDeps {
  /** HTTP client for JWKS URLs; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Clock for key-set bookkeeping (staleness, cooldown, refresh); default Date.now. */
  readonly now?: () => number;
  /** Called on every failed JWKS fetch or file read (wire to a counter). */
  readonly onFetchError?: (issuer: string, detail: string) => void;
  /** Minimum time between loads triggered by unknown kids or failures; default 30 s. */
  readonly cooldownMs?: number;
  /** Background refresh of URL key sets; default 5 min (JWT-SVID bundles: spiffe_refresh_hint). */
  readonly refreshMs?: number;
  /** Poll interval of file key sets (the fs.watch fallback); default 5 s. */
  readonly pollMs?: number;
  /** JWKS fetch timeout; default 5 s. */
  readonly timeoutMs?: number;
  /** Longest a request waits for a key-set load it triggered; default 100 ms (see key-set.ts). */
  readonly requestWaitMs?: number;
  /** Watch key files for changes; default true. */
  readonly watch?: boolean;
  /** Start loading every key set at creation; default true. */
  readonly prefetch?: boolean;
}

export interface BearerIdentityHandle extends BearerIdentity {
  /** Resolves when every key set has finished its first load attempt; true if all are usable. */
  ready(): Promise<boolean>;
}

/** JWT-SVID algorithms (SPIFFE JWT-SVID standard); OIDC tokens use the same list. */
const BEARER_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512',
]);
const ALLOWED_ALGS = new Set(BEARER_ALGORITHMS);
const CLOCK_SKEW_S = 30;

interface Route {
  readonly via: 'jwt-svid' | 'oidc';
  /** Logged as the identity's issuer: the OIDC `iss`, or `spiffe://<td>` for a JWT-SVID bundle. */
  readonly issuer: string;
  readonly keys: KeySet;
  readonly options: JWTVerifyOptions;
  readonly oidc: OidcIssuerConfig | null;
  /** OIDC required claims as [name, allowed values] pairs, listed once. */
  readonly claimChecks: ReadonlyArray<readonly [string, readonly string[]]>;
  /** JWT-SVID only: the bundle's trust domain. */
  readonly trustDomain: string | null;
}

function result(
  reason: IdentityResult['reason'],
  spiffeId: string | null,
  trustDomain: string | null,
  via: IdentityVia | null,
  detail: string | null,
  issuer: string | null,
  tokenSha256: string | null,
): IdentityResult {
  return { reason, spiffeId, trustDomain, via, detail, issuer, tokenSha256 };
}

const NOT_BEARER = Object.freeze(
  result('NO_IDENTITY', null, null, null, 'authorization is not "Bearer <compact JWT>"', null, null),
);
const OVERSIZED = Object.freeze(
  result('INVALID_IDENTITY', null, null, null, 'bearer token larger than 16 KiB', null, null),
);

export function createBearerIdentity(config: IdentityConfig, deps: BearerDeps = {}): BearerIdentityHandle {
  const keyDeps = {
    fetch: deps.fetch ?? globalThis.fetch.bind(globalThis),
    now: deps.now ?? Date.now,
    onLoadError: deps.onFetchError ?? ((): void => undefined),
    cooldownMs: deps.cooldownMs ?? 30_000,
    refreshMs: deps.refreshMs ?? 300_000,
    pollMs: deps.pollMs ?? 5_000,
    timeoutMs: deps.timeoutMs ?? 5_000,
    requestWaitMs: deps.requestWaitMs ?? 100,
    watch: deps.watch ?? true,
  };
  const byIssuer = new Map<string, Route>();
  const byTrustDomain = new Map<string, Route>();
  const sets: KeySet[] = [];

  for (const o of config.oidc) {
    const keys = new KeySet(o.issuer, 'oidc', o.jwks, o.maxStalenessMs, keyDeps);
    sets.push(keys);
    byIssuer.set(o.issuer, {
      via: 'oidc',
      issuer: o.issuer,
      keys,
      options: Object.freeze({
        issuer: o.issuer,
        audience: o.audience,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['exp'],
      }),
      oidc: o,
      claimChecks: Object.freeze(Object.entries(o.claims)),
      trustDomain: null,
    });
  }
  for (const j of config.jwtSvid) {
    const issuer = `spiffe://${j.trustDomain}`;
    const keys = new KeySet(issuer, 'jwt-svid', j.bundle, j.maxStalenessMs, keyDeps);
    sets.push(keys);
    byTrustDomain.set(j.trustDomain, {
      via: 'jwt-svid',
      issuer,
      keys,
      options: Object.freeze({
        audience: j.audience,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['exp', 'sub'],
      }),
      oidc: null,
      claimChecks: [],
      trustDomain: j.trustDomain,
    });
  }
  if (deps.prefetch !== false) for (const s of sets) s.prefetch();

  /** OIDC by exact `iss`; else JWT-SVID by the trust domain of a `spiffe://` `sub`. */
  function route(payload: Readonly<Record<string, unknown>>): Route | null {
    const iss = payload['iss'];
    if (typeof iss === 'string') {
      const r = byIssuer.get(iss);
      if (r !== undefined) return r;
    }
    const sub = payload['sub'];
    if (typeof sub === 'string' && sub.startsWith('spiffe://')) {
      const end = sub.indexOf('/', 9);
      const r = byTrustDomain.get(end < 0 ? sub.slice(9) : sub.slice(9, end));
      if (r !== undefined) return r;
    }
    return null;
  }

  async function verify(authorization: string, nowMs: number): Promise<IdentityResult> {
    let sha: string | null = null;
    let r: Route | null = null;
    try {
      const bearer = readBearer(authorization);
      if (bearer.kind === 'none') return NOT_BEARER;
      if (bearer.kind === 'oversized') return OVERSIZED;
      sha = tokenSha256(bearer.token);
      r = route(bearer.payload);
      if (r === null) {
        return result('NO_IDENTITY', null, null, null, 'bearer token from an unconfigured issuer', null, sha);
      }
      // JOSE header rules, before any key is looked up.
      const h = bearer.header;
      const alg = h['alg'];
      if (typeof alg !== 'string' || !ALLOWED_ALGS.has(alg)) {
        return rejected(r, sha, `alg ${clip(JSON.stringify(alg ?? null))} is not one of ${BEARER_ALGORITHMS.join(', ')}`);
      }
      for (const name of FORBIDDEN_JOSE_HEADERS) {
        if (Object.prototype.hasOwnProperty.call(h, name)) return rejected(r, sha, `header parameter "${name}" is not allowed`);
      }
      const typ = h['typ'];
      if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') return rejected(r, sha, 'typ must be absent, "JWT" or "JOSE"');
      const kid = h['kid'];
      if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) return rejected(r, sha, 'kid must be a non-empty string');
      if (kid === undefined && r.via === 'jwt-svid') return rejected(r, sha, 'kid is required for a JWT-SVID');

      const key = await r.keys.getKey(alg, kid);
      if (!key.ok) return rejected(r, sha, key.detail);

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(bearer.token, key.key, {
          ...r.options,
          algorithms: [alg],
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        return rejected(r, sha, joseDetail(err));
      }

      if (r.via === 'jwt-svid') {
        const sub = payload.sub!;
        const id = parseSpiffeId(sub);
        if (id === null) return rejected(r, sha, `sub is not a valid SPIFFE ID: ${spiffeIdError(sub)}`);
        if (id.trustDomain !== r.trustDomain) return rejected(r, sha, 'sub is outside the bundle trust domain');
        return result(null, id.id, id.trustDomain, 'jwt-svid', null, r.issuer, sha);
      }

      for (const [name, allowed] of r.claimChecks) {
        const v = Object.prototype.hasOwnProperty.call(payload, name) ? payload[name] : undefined;
        if (typeof v !== 'string') return rejected(r, sha, `required claim "${name}" is ${v === undefined ? 'missing' : 'not a string'}`);
        if (!allowed.includes(v)) return rejected(r, sha, `claim "${name}" has a value that is not allowed`);
      }
      const subject = renderSubject(r.oidc!.subject, payload);
      if (!subject.ok) return rejected(r, sha, subject.detail);
      return result(null, subject.spiffe.id, subject.spiffe.trustDomain, 'oidc', null, r.issuer, sha);
    } catch {
      return result('INVALID_IDENTITY', null, null, r?.via ?? null, 'bearer verification failed unexpectedly', r?.issuer ?? null, sha);
    }
  }

  return {
    verify,
    stats(): readonly KeySetStats[] {
      return sets.map((s) => s.stats());
    },
    async ready(): Promise<boolean> {
      const all = await Promise.all(sets.map((s) => s.ready()));
      return all.every(Boolean);
    },
    close(): void {
      for (const s of sets) s.close();
    },
  };
}

function rejected(r: Route, sha: string, detail: string): IdentityResult {
  return result('INVALID_IDENTITY', null, null, r.via, detail, r.issuer, sha);
}

/** jose's error code and message (claim names, never claim values or key material). */
function joseDetail(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : 'verification failed';
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
