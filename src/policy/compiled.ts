/**
 * The compiled index the decision reads (built once per policy set by compile.ts): a
 * lookup by subject, then by function, then pre-split path templates, so a decision
 * costs the same with ten mandates as with a hundred thousand.
 */
import type { FunctionSpec, MandateDoc, PolicySet } from './model.js';

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

export interface CompiledFunction {
  readonly spec: FunctionSpec;
  readonly tokenRequired: boolean;
  readonly maxTokenTtlSeconds: number;
  /** Index into spec.actions of the first action matching target, method and path; -1 when none. */
  matchAction(req: ActionRequest): number;
}

export interface CompiledMandate {
  readonly doc: MandateDoc;
  readonly dryRun: boolean;
  /** Epoch ms from which the mandate is expired; Infinity when it has no reviewBy. */
  readonly reviewBy: number;
  fn(name: string): CompiledFunction | undefined;
}

export interface CompiledPolicy {
  readonly revision: string;
  readonly set: PolicySet;
  readonly mandateCount: number;
  /** Trust domains of all mandate subjects: the default trust-domain list. */
  readonly subjectTrustDomains: ReadonlySet<string>;
  mandateFor(subject: string): CompiledMandate | undefined;
}
