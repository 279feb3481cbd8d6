/**
 * The compiled index the decision reads (built once per policy set by compile.ts): a
 * lookup by subject, then by function, then pre-split path templates, so a decision
 * costs about the same with ten mandates as with a hundred thousand.
 *
 * Mandates and functions are handles (numbers), not objects: compile.ts lays each mandate
 * out with its functions and actions in one stretch of a typed array, so a decision reads
 * a few neighbouring cache lines instead of chasing a dozen objects across the heap (at
 * 100,000 mandates those misses were most of a decision's cost). The documents themselves
 * are not kept unless asked for, which is most of the resident memory saved.
 */
import type { PolicySet, Risk } from './model.js';

/** The request side of action matching, normalised once per request. */
export interface ActionRequest {
  /** attributes.destination.principal, '' when absent. */
  readonly destinationPrincipal: string;
  /** Request host lower-cased, one trailing dot removed, without port; null when absent or unusable. */
  readonly host: string | null;
  /** Port of the request host, null when none was given. */
  readonly port: number | null;
  /** HTTP method exactly as sent. */
  readonly method: string;
  /** The request path as sent (query and fragment included). */
  readonly path: string;
  /** checkRequestPath(path): where the path ends before its query; never -1 here. */
  readonly pathEnd: number;
}

/**
 * A mandate of one CompiledPolicy; -1 stands for none. Valid only with the policy that gave
 * it, and only until that policy's next mandateOf() (which may reuse the memory of a hot
 * copy, see compile.ts): read what is needed before awaiting anything.
 */
export type MandateRef = number;
/** A function of one mandate of one CompiledPolicy; -1 stands for none. Valid as long as its MandateRef. */
export type FunctionRef = number;

export interface CompiledPolicy {
  readonly revision: string;
  readonly mandateCount: number;
  /** Trust domains of all mandate subjects: the default trust-domain list. */
  readonly subjectTrustDomains: ReadonlySet<string>;
  /**
   * The validated documents, kept only when compiled with `keepDocuments` (`mandate check`
   * explains a decision with its actions' source locations); null in the server.
   */
  readonly documents: PolicySet | null;

  /** The mandate whose subject is exactly `subject`, or -1. */
  mandateOf(subject: string): MandateRef;
  mandateName(m: MandateRef): string;
  mandateOwner(m: MandateRef): string;
  mandatePurpose(m: MandateRef): string;
  mandateRisk(m: MandateRef): Risk;
  /** The review date as written, null when the mandate has none. */
  reviewByText(m: MandateRef): string | null;
  /** Epoch ms from which the mandate is expired; Infinity when it has no reviewBy. */
  reviewBy(m: MandateRef): number;
  dryRun(m: MandateRef): boolean;

  /** The function `name` declared by mandate `m`, or -1. */
  functionOf(m: MandateRef, name: string): FunctionRef;
  tokenRequired(f: FunctionRef): boolean;
  maxTokenTtlSeconds(f: FunctionRef): number;
  /** Index into the function's declared actions of the first one matching target, method and path; -1 when none. */
  matchAction(f: FunctionRef, req: ActionRequest): number;
}
