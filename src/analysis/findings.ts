/**
 * The finding vocabulary of SPEC section 9: stable codes, their severity scale, the OWASP
 * Non-Human Identities Top 10 (2025) item each maps to, and the one-line remedy. The
 * mapping is explained in docs/analysis.md; a test keeps that table and this one in step.
 */
import { compareText as cmp } from '../policy/diagnostics.js';
import type { SourceLocation } from '../policy/model.js';

export const FINDING_CODES = [
  'LATERAL_PATH',
  'ESCALATION_PATH',
  'CROSS_ENVIRONMENT',
  'BROAD_ACTION',
  'HIGH_RISK_WITHOUT_TOKEN',
  'REVIEW_OVERDUE',
  'REVIEW_MISSING',
  'REVIEW_DUE_SOON',
  'UNUSED_MANDATE',
  'UNUSED_ACTION',
  'TOKEN_CHAINING_ATTEMPT',
  'DRY_RUN_WOULD_DENY',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** "critical 0", "high 2", … worst first: the summary line of the text and HTML reports. */
export function severityCounts(bySeverity: Readonly<Record<Severity, number>>): string[] {
  return [...SEVERITIES].reverse().map((v) => `${v} ${bySeverity[v]}`);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** OWASP Non-Human Identities Top 10, 2025 edition, as OWASP numbers it. */
export const OWASP_NHI_2025 = {
  NHI1: 'Improper Offboarding',
  NHI2: 'Secret Leakage',
  NHI3: 'Vulnerable Third-Party NHI',
  NHI4: 'Insecure Authentication',
  NHI5: 'Overprivileged NHI',
  NHI6: 'Insecure Cloud Deployment Configurations',
  NHI7: 'Long-Lived Secrets',
  NHI8: 'Environment Isolation',
  NHI9: 'NHI Reuse',
  NHI10: 'Human Use of NHI',
} as const;
export type OwaspId = keyof typeof OWASP_NHI_2025;

export interface FindingRule {
  readonly code: FindingCode;
  readonly owasp: OwaspId;
  /** Short title, used as the SARIF rule name and in the docs table. */
  readonly title: string;
  readonly remedy: string;
}

/*
 * Why each item: reach beyond the declared job (lateral, escalation, broad, unused
 * actions, dry-run denials) is privilege the NHI does not need: NHI5. Crossing
 * environments is NHI8. Standing access to a high-risk function without a short-lived,
 * per-task credential is what NHI7 warns about. Review dates and unused mandates are the
 * lifecycle of NHI1. A workload presenting another workload's task token means that
 * token left its owner: NHI2.
 */
export const FINDING_RULES: Readonly<Record<FindingCode, FindingRule>> = Object.freeze({
  LATERAL_PATH: {
    code: 'LATERAL_PATH',
    owasp: 'NHI5',
    title: 'Indirect reach to a sensitive target',
    remedy: 'Narrow the intermediate mandates, or grant the access directly so it is reviewed as such.',
  },
  ESCALATION_PATH: {
    code: 'ESCALATION_PATH',
    owasp: 'NHI5',
    title: 'Path to a privileged capability from a lower-risk subject',
    remedy: 'Cut the path to the privileged target or raise the subject risk so it gets the controls it needs.',
  },
  CROSS_ENVIRONMENT: {
    code: 'CROSS_ENVIRONMENT',
    owasp: 'NHI8',
    title: 'Action crosses environments',
    remedy: 'Use a separate identity per environment and remove the cross-environment action.',
  },
  BROAD_ACTION: {
    code: 'BROAD_ACTION',
    owasp: 'NHI5',
    title: 'Wildcard action on a sensitive target',
    remedy: 'List the exact methods and path templates the function needs on this target.',
  },
  HIGH_RISK_WITHOUT_TOKEN: {
    code: 'HIGH_RISK_WITHOUT_TOKEN',
    owasp: 'NHI7',
    title: 'High-risk function without a required task token',
    remedy: 'Set taskToken: required so every use needs a short-lived task token.',
  },
  REVIEW_OVERDUE: {
    code: 'REVIEW_OVERDUE',
    owasp: 'NHI1',
    title: 'Mandate review date has passed',
    remedy: 'Review the mandate with its owner and renew reviewBy, or remove the mandate.',
  },
  REVIEW_MISSING: {
    code: 'REVIEW_MISSING',
    owasp: 'NHI1',
    title: 'Mandate has no review date',
    remedy: 'Set reviewBy so the mandate expires unless its owner reviews it.',
  },
  REVIEW_DUE_SOON: {
    code: 'REVIEW_DUE_SOON',
    owasp: 'NHI1',
    title: 'Mandate review due within 30 days',
    remedy: 'Schedule the review with the owner before reviewBy, when requests start failing with MANDATE_EXPIRED.',
  },
  UNUSED_MANDATE: {
    code: 'UNUSED_MANDATE',
    owasp: 'NHI1',
    title: 'Mandate not used in the log window',
    remedy: 'Confirm the workload still exists; offboard the mandate if it does not.',
  },
  UNUSED_ACTION: {
    code: 'UNUSED_ACTION',
    owasp: 'NHI5',
    title: 'Declared action never allowed in the log window',
    remedy: 'Remove the action unless a known but rare task needs it.',
  },
  TOKEN_CHAINING_ATTEMPT: {
    code: 'TOKEN_CHAINING_ATTEMPT',
    owasp: 'NHI2',
    title: 'A workload presented another workload\'s task token',
    remedy: 'Investigate how the presenter obtained the token; revoke the task and rotate what it touched.',
  },
  DRY_RUN_WOULD_DENY: {
    code: 'DRY_RUN_WOULD_DENY',
    owasp: 'NHI5',
    title: 'Requests that enforcement would deny',
    remedy: 'Declare the missing intent (see the suggested mandate) or fix the caller before enforcing.',
  },
});

export interface FindingMandate {
  readonly name: string;
  /** The mandate's subject (SPIFFE ID). */
  readonly id: string;
}

export interface FindingTarget {
  /** The Target document's name, null when no Target document describes it. */
  readonly name: string | null;
  /** SPIFFE ID or host (with port when the action names one). */
  readonly id: string;
}

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  readonly owasp: OwaspId;
  readonly message: string;
  readonly remedy: string;
  readonly mandates: readonly FindingMandate[];
  readonly targets: readonly FindingTarget[];
  /** Node ids from the subject to the target, for path findings; else null. */
  readonly path: readonly string[] | null;
  readonly location: SourceLocation;
}

export function makeFinding(
  code: FindingCode,
  severity: Severity,
  message: string,
  mandates: readonly FindingMandate[],
  targets: readonly FindingTarget[],
  path: readonly string[] | null,
  location: SourceLocation,
): Finding {
  const rule = FINDING_RULES[code];
  return {
    code,
    severity,
    owasp: rule.owasp,
    message,
    remedy: rule.remedy,
    mandates,
    targets,
    path,
    location: { file: location.file, line: location.line, column: location.column },
  };
}

/** Most severe first, then by code, place and message: the same input gives the same order. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    FINDING_CODES.indexOf(a.code) - FINDING_CODES.indexOf(b.code) ||
    cmp(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    a.location.column - b.location.column ||
    cmp(a.message, b.message)
  );
}
