/**
 * The decision of SPEC section 5: every check in order, the first failure decides the
 * reason. Pure: no I/O, no logging, no clock of its own, and it does not know the server
 * exists. Asynchronous work (bearer identity, token signatures) happens before, and its
 * verdicts arrive in the input.
 */
import type { DenyReason } from '../errors.js';
import type { IdentityResult } from '../identity/types.js';
import type { CompiledPolicy, MandateRef } from '../policy/compiled.js';
import { checkRequestPath, pathWithoutQuery } from '../policy/paths.js';
import type { RevocationView, TokenVerdict } from '../tokens/types.js';
import { resolveFunction } from './function.js';
import { requestHost, requestPath, requestTarget } from './request-view.js';
import type { Decision, RequestFacts } from './types.js';

export interface EvaluateEnv {
  readonly policy: CompiledPolicy;
  /** The configured trust domains, or the policy's subject trust domains by default. */
  readonly trustedDomains: ReadonlySet<string>;
  /** `--mode dry-run`: every denial becomes an allow that records what it would have been. */
  readonly globalDryRun: boolean;
  readonly revocations: RevocationView;
}

export interface EvaluateInput {
  readonly facts: RequestFacts;
  readonly identity: IdentityResult;
  /** null when the request carries no task token. */
  readonly token: TokenVerdict | null;
}

/** The TTL bound for a token whose scope the caller's mandate does not declare (SPEC section 8). */
const UNDECLARED_SCOPE_MAX_TTL_S = 3600;

export function evaluate(env: EvaluateEnv, input: EvaluateInput, nowMs: number, decisionId: string): Decision {
  const { facts, identity, token } = input;
  const host = requestHost(facts.host);
  const target = requestTarget(facts.destinationPrincipal, host);

  let reason: DenyReason | null = null;
  let detail: string | null = null;
  const policy = env.policy;
  let mandate: MandateRef = -1;
  let fnName: string | null = null;
  let fnVia: string | null = null;
  let actionIndex = -1;
  let txn: string | null = null;
  let scope: string | null = null;
  let pathEnd = -1;

  if (token !== null) txn = token.ok ? token.claims.txn : token.txn;

  decide: {
    if (!facts.hasHttp) {
      reason = 'BAD_REQUEST';
      detail = 'CheckRequest has no attributes.request.http';
      break decide;
    }
    if (identity.reason !== null) {
      reason = identity.reason;
      detail = identity.detail;
      break decide;
    }
    const caller = identity.spiffeId as string;
    mandate = policy.mandateOf(caller);
    if (mandate === -1) {
      reason = 'NO_MANDATE';
      detail = 'no mandate binds this subject';
      break decide;
    }
    if (nowMs >= policy.reviewBy(mandate)) {
      reason = 'MANDATE_EXPIRED';
      detail = `mandate review date ${policy.reviewByText(mandate) ?? ''} has passed`;
      break decide;
    }

    if (token !== null) {
      if (!token.ok) {
        reason = token.reason;
        detail = token.detail;
        break decide;
      }
      const c = token.claims;
      // The verifier has checked aud == trust domain of sub; trust is policy-dependent.
      if (!env.trustedDomains.has(c.aud)) {
        reason = 'TOKEN_INVALID';
        detail = `token audience ${c.aud} is not a trusted trust domain`;
        break decide;
      }
      const scoped = policy.functionOf(mandate, c.scope);
      const maxTtl = scoped === -1 ? UNDECLARED_SCOPE_MAX_TTL_S : policy.maxTokenTtlSeconds(scoped);
      if (c.exp - c.iat > maxTtl) {
        reason = 'TOKEN_INVALID';
        detail = `token lifetime ${c.exp - c.iat}s exceeds maxTokenTtl ${maxTtl}s`;
        break decide;
      }
      if (c.sub !== caller) {
        reason = 'TOKEN_SUBJECT_MISMATCH';
        detail = `token subject ${c.sub} is not the caller`;
        break decide;
      }
      if (env.revocations.isRevoked(c.txn)) {
        reason = 'TOKEN_REVOKED';
        detail = 'task has been completed or revoked';
        break decide;
      }
      if (env.revocations.isStale(nowMs)) {
        reason = 'REVOCATION_UNAVAILABLE';
        detail = 'revocation state is stale';
        break decide;
      }
      scope = c.scope;
    }

    const fr = resolveFunction(facts.functionHeader, facts.routeFunction, scope);
    fnName = fr.name;
    fnVia = fr.via;
    if (fr.reason !== null) {
      reason = fr.reason;
      detail =
        fr.reason === 'MISSING_FUNCTION'
          ? 'no business function named by header, route or token'
          : fr.reason === 'FUNCTION_CONFLICT'
            ? 'the function header and route disagree or the header holds several values'
            : `token scope ${scope ?? ''} differs from the declared function`;
      break decide;
    }
    const fn = policy.functionOf(mandate, fr.name);
    if (fn === -1) {
      reason = 'FUNCTION_NOT_DECLARED';
      detail = `function ${fr.name} is not declared by mandate ${policy.mandateName(mandate)}`;
      break decide;
    }
    pathEnd = checkRequestPath(facts.path);
    if (pathEnd < 0) {
      reason = 'INVALID_PATH';
      detail = 'request path is not acceptable';
      break decide;
    }
    actionIndex = policy.matchAction(fn, {
      destinationPrincipal: facts.destinationPrincipal,
      host: host === null ? null : host.host,
      port: host === null ? null : host.port,
      method: facts.method,
      path: facts.path,
      pathEnd,
    });
    if (actionIndex === -1) {
      reason = 'ACTION_NOT_PERMITTED';
      detail = `no action of function ${fr.name} matches target, method and path`;
      break decide;
    }
    if (policy.tokenRequired(fn) && token === null) {
      reason = 'TOKEN_REQUIRED';
      detail = `function ${fr.name} requires a task token`;
      break decide;
    }
  }

  // A request or identity failure stops before a mandate is looked up, so only the global
  // dry run can turn it into an allow.
  const found = mandate !== -1;
  const dryRun = env.globalDryRun || (found && policy.dryRun(mandate));

  return {
    decisionId,
    decision: reason === null || dryRun ? 'allow' : 'deny',
    reason: reason ?? 'ALLOWED',
    dryRun,
    wouldDeny: dryRun ? reason : null,
    source: identity.spiffeId,
    identityVia: identity.via,
    issuer: identity.issuer,
    target,
    method: facts.method === '' ? null : facts.method,
    // Once checked, the path's end is known; otherwise requestPath finds it.
    path: pathEnd < 0 ? requestPath(facts.path) : pathWithoutQuery(facts.path, pathEnd),
    function: fnName,
    functionVia: fnVia,
    mandate: found ? policy.mandateName(mandate) : null,
    owner: found ? policy.mandateOwner(mandate) : null,
    purpose: found ? policy.mandatePurpose(mandate) : null,
    risk: found ? policy.mandateRisk(mandate) : null,
    actionIndex,
    txn,
    tokenSha256: token === null ? null : token.sha256,
    policyRevision: policy.revision,
    detail,
  };
}

/**
 * The answer to an unexpected failure inside mandate: a denial with a fixed detail,
 * never turned into an allow by dry run (fail closed).
 */
export function internalErrorDecision(decisionId: string, facts: RequestFacts | null, revision: string | null): Decision {
  return {
    decisionId,
    decision: 'deny',
    reason: 'INTERNAL_ERROR',
    dryRun: false,
    wouldDeny: null,
    source: null,
    identityVia: null,
    issuer: null,
    target: null,
    method: facts === null || facts.method === '' ? null : facts.method,
    path: facts === null ? null : requestPath(facts.path),
    function: null,
    functionVia: null,
    mandate: null,
    owner: null,
    purpose: null,
    risk: null,
    actionIndex: -1,
    txn: null,
    tokenSha256: null,
    policyRevision: revision,
    detail: 'internal error',
  };
}
