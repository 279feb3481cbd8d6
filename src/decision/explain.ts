/**
 * A decision as a readable explanation: the checks of SPEC section 5 in order with the
 * one that decided, and the action that matched (or the function's actions when none
 * did). Used by `mandate check`; never sent to a caller.
 */
import { REASONS, type ReasonCode } from '../errors.js';
import type { PolicySet } from '../policy/model.js';
import type { Decision } from './types.js';

const CHECKS: readonly { readonly name: string; readonly reasons: readonly ReasonCode[] }[] = Object.freeze([
  { name: 'request has attributes.request.http', reasons: ['BAD_REQUEST'] },
  { name: 'an identity is present', reasons: ['NO_IDENTITY'] },
  { name: 'the identity is a well-formed SPIFFE ID, consistent across sources', reasons: ['INVALID_IDENTITY'] },
  { name: 'its trust domain is trusted', reasons: ['UNTRUSTED_DOMAIN'] },
  { name: 'a mandate binds this subject', reasons: ['NO_MANDATE'] },
  { name: "the mandate's reviewBy has not passed", reasons: ['MANDATE_EXPIRED'] },
  { name: 'a presented task token verifies', reasons: ['TOKEN_INVALID', 'TOKEN_EXPIRED'] },
  { name: "the token's sub is the caller", reasons: ['TOKEN_SUBJECT_MISMATCH'] },
  { name: "the token's task is not completed or revoked", reasons: ['TOKEN_REVOKED'] },
  { name: 'the revocation state is current', reasons: ['REVOCATION_UNAVAILABLE'] },
  { name: 'a business function is named', reasons: ['MISSING_FUNCTION'] },
  { name: 'all sources naming a function agree', reasons: ['FUNCTION_CONFLICT', 'TOKEN_FUNCTION_MISMATCH'] },
  { name: 'the mandate declares the function', reasons: ['FUNCTION_NOT_DECLARED'] },
  { name: 'the path is acceptable', reasons: ['INVALID_PATH'] },
  { name: 'an action matches target, method and path', reasons: ['ACTION_NOT_PERMITTED'] },
  { name: 'a task token is present where the function requires one', reasons: ['TOKEN_REQUIRED'] },
]);

export interface CheckStep {
  readonly check: number;
  readonly name: string;
  readonly result: 'pass' | 'fail' | 'skipped';
}

/** `set`: the documents the decision was made with (for the actions and their source locations), or null. */
export function explainDecision(d: Decision, set: PolicySet | null): Record<string, unknown> {
  // ALLOWED and INTERNAL_ERROR belong to no check: every check passed, or none ran.
  const failing = CHECKS.findIndex((c) => c.reasons.includes(d.reason));
  const result = (i: number): CheckStep['result'] => {
    if (d.reason === 'INTERNAL_ERROR') return 'skipped';
    if (failing === -1 || i < failing) return 'pass';
    return i === failing ? 'fail' : 'skipped';
  };
  const steps: CheckStep[] = CHECKS.map((c, i) => ({ check: i, name: c.name, result: result(i) }));
  let action: unknown = null;
  let actions: unknown = null;
  // The compiled index keeps the first of repeated subjects and function names; so does this.
  const mandate = d.source === null || set === null ? undefined : set.mandates.find((m) => m.subject === d.source);
  const fn = mandate === undefined || d.function === null ? undefined : mandate.functions.find((f) => f.name === d.function);
  if (fn !== undefined) {
    const describe = (i: number): Record<string, unknown> => {
      const a = fn.actions[i];
      return a === undefined ? {} : { index: i, target: a.target, methods: a.methods, paths: a.paths, location: a.location };
    };
    if (d.actionIndex >= 0) action = describe(d.actionIndex);
    else if (d.reason === 'ACTION_NOT_PERMITTED') actions = fn.actions.map((_, i) => describe(i));
  }
  const info = REASONS[d.reason];
  return {
    summary:
      d.decision === 'allow'
        ? d.dryRun && d.wouldDeny !== null
          ? `allowed in dry run; would be denied with ${d.wouldDeny}`
          : `allowed by mandate ${d.mandate ?? '?'}, function ${d.function ?? '?'}`
        : `denied with ${d.reason}${d.detail === null ? '' : ': ' + d.detail}`,
    detail: d.detail,
    http_status: d.decision === 'allow' ? 200 : info.httpStatus,
    grpc_code: d.decision === 'allow' ? 0 : info.grpcCode,
    checks: steps,
    matched_action: action,
    declared_actions: actions,
  };
}
