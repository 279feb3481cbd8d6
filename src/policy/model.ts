/**
 * The validated policy documents of SPEC section 2, as the parser hands them to the
 * compiler and to offline analysis. Every value is already defaulted and checked; every
 * document and list entry keeps where it came from so diagnostics and findings can point
 * at it. Objects are frozen after construction.
 */

export type Risk = 'low' | 'medium' | 'high' | 'critical';
export type Sensitivity = Risk;
export type Capability = 'mint-credentials' | 'edit-policy' | 'impersonate' | 'read-secrets';
export type MandateMode = 'enforce' | 'dry-run';
export type TaskTokenRule = 'required' | 'optional';

/** High and critical mandates need task tokens by default and get shorter ones (SPEC section 2). */
export function isHighRisk(risk: Risk): boolean {
  return risk === 'high' || risk === 'critical';
}

/** 1-based line and column, as editors show them. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One validation problem: printed as `file:line:column: CODE: message`. */
export interface Diagnostic extends SourceLocation {
  readonly code: string;
  readonly message: string;
}

export interface ActionSpec {
  /** `spiffe://…` (matched against destination.principal) or a host with optional port. */
  readonly target: string;
  /** Upper-case HTTP methods, or exactly `['*']`. */
  readonly methods: readonly string[];
  /** Path templates as written (`/v1/payments/{id}/refund`, `/v1/entries/**`). */
  readonly paths: readonly string[];
  readonly location: SourceLocation;
}

export interface FunctionSpec {
  readonly name: string;
  readonly taskToken: TaskTokenRule;
  /** Seconds; defaulted (900, or 300 for high/critical risk) and at most 3600. */
  readonly maxTokenTtlSeconds: number;
  readonly actions: readonly ActionSpec[];
  readonly location: SourceLocation;
}

export interface MandateDoc {
  readonly kind: 'Mandate';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly subject: string;
  readonly owner: string;
  readonly purpose: string;
  readonly risk: Risk;
  /** Epoch milliseconds from which the mandate is MANDATE_EXPIRED; null when not set. */
  readonly reviewBy: number | null;
  /** The text as written, for reports. */
  readonly reviewByText: string | null;
  readonly mode: MandateMode;
  readonly functions: readonly FunctionSpec[];
  readonly location: SourceLocation;
}

export interface TargetDoc {
  readonly kind: 'Target';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly match: string;
  readonly owner: string | null;
  readonly sensitivity: Sensitivity;
  /** Defaulted: the trust domain of a SPIFFE match, null for a host. */
  readonly environment: string | null;
  readonly capabilities: readonly Capability[];
  readonly location: SourceLocation;
}

/** A whole validated set, as loaded from the paths given to mandate. */
export interface PolicySet {
  readonly mandates: readonly MandateDoc[];
  readonly targets: readonly TargetDoc[];
  /** Hex digest over the files' names and contents: the same files give the same revision. */
  readonly revision: string;
  /** Every file read, sorted. */
  readonly files: readonly string[];
}

export type LoadResult =
  | { readonly ok: true; readonly set: PolicySet }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };
