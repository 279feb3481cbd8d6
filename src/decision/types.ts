/** The decision's input (request facts) and output (Decision), SPEC sections 5-7. */
import type { ReasonCode, DenyReason } from '../errors.js';
import type { IdentityVia } from '../identity/types.js';
import type { Risk } from '../policy/model.js';

/**
 * Everything the decision reads from one CheckRequest, extracted once by envoy/facts.ts.
 * Every field is always assigned ('' or null when absent) so V8 sees one shape.
 */
export interface RequestFacts {
  /** CheckRequest.attributes.request.http was present (check 0). */
  readonly hasHttp: boolean;
  readonly principal: string;
  readonly certificate: string;
  readonly destinationPrincipal: string;
  /** request.http.host, else the :authority header; '' when neither. */
  readonly host: string;
  readonly method: string;
  /** request.http.path as sent (query included). */
  readonly path: string;
  /** x-request-id header. */
  readonly requestId: string | null;
  readonly xfcc: string | null;
  readonly authorization: string | null;
  /** The configured function header (default x-business-function). */
  readonly functionHeader: string | null;
  /** context_extensions["function"]. */
  readonly routeFunction: string | null;
  /** The configured task-token header (default txn-token). */
  readonly taskToken: string | null;
}

export type FunctionVia = string; // 'header' | 'token' | 'route' joined with '+'

export interface Decision {
  readonly decisionId: string;
  readonly decision: 'allow' | 'deny';
  /** The evaluated reason: ALLOWED, or the deny code (also when dry run turned it into an allow). */
  readonly reason: ReasonCode;
  readonly dryRun: boolean;
  /** The code that would have denied, when dry run allowed it; else null. */
  readonly wouldDeny: DenyReason | null;
  readonly source: string | null;
  readonly identityVia: IdentityVia | null;
  readonly issuer: string | null;
  readonly target: string | null;
  readonly method: string | null;
  /** Path without query or fragment. */
  readonly path: string | null;
  readonly function: string | null;
  readonly functionVia: FunctionVia | null;
  readonly mandate: string | null;
  readonly owner: string | null;
  readonly purpose: string | null;
  readonly risk: Risk | null;
  /** Index of the matched action within the function, -1 when none matched. */
  readonly actionIndex: number;
  readonly txn: string | null;
  readonly tokenSha256: string | null;
  readonly policyRevision: string | null;
  /** Precise cause of a denial for the log and `mandate check`; never on the wire. */
  readonly detail: string | null;
}
