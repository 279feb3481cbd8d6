/**
 * One decision-log line (SPEC section 7) and its construction from a Decision.
 *
 * The SPEC fields come first, in SPEC order, then the replay/explain extras documented in
 * docs/observability.md. Every field is assigned on construction (null when unknown) so all
 * entries share one shape and every line has the same keys in the same order.
 *
 * Secrets: the task token and the authorization header are never copied; the token is only
 * ever represented by the first 16 hex chars of its sha256 (computed by the verifier).
 */
import { requestHost, requestPath, requestTarget } from '../decision/request-view.js';
import type { Decision, RequestFacts } from '../decision/types.js';
import type { ReasonCode, DenyReason } from '../errors.js';
import type { IdentityVia } from '../identity/types.js';
import type { Risk } from '../policy/model.js';
import type { TokenVerdict } from '../tokens/types.js';

export interface DecisionLogEntry {
  // --- SPEC section 7 ---
  /** ISO-8601 time of the decision. */
  time: string;
  decision_id: string;
  request_id: string | null;
  decision: 'allow' | 'deny';
  reason: ReasonCode;
  dry_run: boolean;
  would_deny: DenyReason | null;
  source: string | null;
  identity_via: IdentityVia | null;
  target: string | null;
  method: string | null;
  path: string | null;
  function: string | null;
  function_via: string | null;
  mandate: string | null;
  owner: string | null;
  purpose: string | null;
  risk: Risk | null;
  txn: string | null;
  token_sha256: string | null;
  policy_revision: string | null;
  duration_us: number | null;
  // --- extras for explain/replay/analysis ---
  /** Raw request host (request.http.host, else :authority), as sent. */
  host: string | null;
  /** attributes.destination.principal, as sent. */
  destination: string | null;
  /** Value of the function header, as sent. */
  header_function: string | null;
  /** context_extensions["function"]. */
  route_function: string | null;
  /** Claims of a task token that verified (null otherwise). */
  token_scope: string | null;
  token_sub: string | null;
  token_iat: number | null;
  token_exp: number | null;
  /** Issuer of a bearer-JWT identity (jwt-svid / oidc). */
  issuer: string | null;
  /** Index of the matched action within the function; null when none matched. */
  action: number | null;
  /** Precise cause of a denial (never sent to the caller). */
  detail: string | null;
}

/** The field names in line order; docs/observability.md lists the same (a test keeps them in step). */
export const DECISION_LOG_FIELDS = [
  'time', 'decision_id', 'request_id', 'decision', 'reason', 'dry_run', 'would_deny', 'source',
  'identity_via', 'target', 'method', 'path', 'function', 'function_via', 'mandate', 'owner',
  'purpose', 'risk', 'txn', 'token_sha256', 'policy_revision', 'duration_us',
  'host', 'destination', 'header_function', 'route_function', 'token_scope', 'token_sub',
  'token_iat', 'token_exp', 'issuer', 'action', 'detail',
] as const satisfies readonly (keyof DecisionLogEntry)[];

/** Fields appended to every line when hash chaining is on. */
export const CHAIN_FIELDS = ['seq', 'prev_hash'] as const;

function nonEmpty(s: string | null | undefined): string | null {
  return s === undefined || s === null || s === '' ? null : s;
}

/**
 * Builds the log entry of one decision. `facts` is null when the request could not even be
 * read (the handler's internal-error path); `token` is the verdict on a presented task token.
 * Never throws for any input the handler can produce.
 */
export function decisionToLogEntry(
  decision: Decision,
  facts: RequestFacts | null,
  token: TokenVerdict | null,
  durationUs: number,
  nowMs: number,
): DecisionLogEntry {
  const claims = token !== null && token.ok ? token.claims : null;
  const failedTxn = token !== null && !token.ok ? token.txn : null;
  const when = new Date(nowMs);
  return {
    time: Number.isNaN(when.getTime()) ? new Date().toISOString() : when.toISOString(),
    decision_id: decision.decisionId,
    request_id: facts === null ? null : nonEmpty(facts.requestId),
    decision: decision.decision,
    reason: decision.reason,
    dry_run: decision.dryRun,
    would_deny: decision.wouldDeny,
    source: decision.source,
    identity_via: decision.identityVia,
    // A decision that stopped before reading the request (internal error) still says where
    // the request was going, the way evaluate() would have.
    target: decision.target ?? (facts === null ? null : requestTarget(facts.destinationPrincipal, requestHost(facts.host))),
    method: decision.method ?? (facts === null ? null : nonEmpty(facts.method)),
    path: decision.path ?? (facts === null ? null : requestPath(facts.path)),
    function: decision.function,
    function_via: decision.functionVia,
    mandate: decision.mandate,
    owner: decision.owner,
    purpose: decision.purpose,
    risk: decision.risk,
    // A token that did not verify still names its task when its payload could be read:
    // investigators need it, and `reason` says the token was not trusted.
    txn: decision.txn ?? (claims !== null ? claims.txn : failedTxn),
    token_sha256: decision.tokenSha256 ?? (token === null ? null : token.sha256),
    policy_revision: decision.policyRevision,
    duration_us: Number.isFinite(durationUs) ? Math.round(durationUs) : null,
    host: facts === null ? null : nonEmpty(facts.host),
    destination: facts === null ? null : nonEmpty(facts.destinationPrincipal),
    header_function: facts === null ? null : facts.functionHeader,
    route_function: facts === null ? null : facts.routeFunction,
    token_scope: claims === null ? null : claims.scope,
    token_sub: claims === null ? null : claims.sub,
    token_iat: claims === null ? null : claims.iat,
    token_exp: claims === null ? null : claims.exp,
    issuer: decision.issuer,
    action: decision.actionIndex >= 0 ? decision.actionIndex : null,
    detail: decision.detail,
  };
}
