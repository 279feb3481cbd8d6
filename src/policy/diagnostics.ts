/**
 * The closed vocabulary of policy diagnostics (SPEC section 2: "the CODE vocabulary is the
 * project's, listed in its docs"). docs/policy.md lists the same codes and a test keeps the
 * two in step; another test keeps every code exercised by a golden fixture.
 */
import type { Diagnostic, SourceLocation } from './model.js';

export const DIAGNOSTIC_CODES = [
  'READ_ERROR',
  'NO_POLICY_FILES',
  'YAML_SYNTAX',
  'YAML_ALIAS',
  'DUPLICATE_KEY',
  'INVALID_TYPE',
  'UNKNOWN_KEY',
  'MISSING_FIELD',
  'EMPTY_VALUE',
  'UNSUPPORTED_API_VERSION',
  'UNKNOWN_KIND',
  'INVALID_NAME',
  'DUPLICATE_NAME',
  'INVALID_SUBJECT',
  'DUPLICATE_SUBJECT',
  'INVALID_ENUM',
  'INVALID_DATE',
  'INVALID_DURATION',
  'TTL_TOO_LONG',
  'EMPTY_LIST',
  'DUPLICATE_ENTRY',
  'DUPLICATE_FUNCTION',
  'INVALID_TARGET',
  'DUPLICATE_TARGET',
  'INVALID_METHOD',
  'INVALID_PATH_TEMPLATE',
] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

export function diagnostic(at: SourceLocation, code: DiagnosticCode, message: string): Diagnostic {
  return Object.freeze({ file: at.file, line: at.line, column: at.column, code, message });
}

/** `file:line:column: CODE: message`, the form SPEC section 2 prescribes. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.code}: ${d.message}`;
}

/** Line 1, column 1 of a file: where problems about the file as a whole are reported. */
export function fileStart(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}

/**
 * Plain code-unit order for sort(): locale-aware ordering would make file order, revisions
 * and golden files machine-dependent.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted by file, line, column, code (then message, so the order is total). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      compareText(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      compareText(a.code, b.code) ||
      compareText(a.message, b.message),
  );
}
