/** `--format json`: exactly `{"findings": [...], "summary": {...}}` (SPEC section 9). */
import type { AnalysisReport } from '../analyze.js';

export function formatJson(report: AnalysisReport): string {
  const findings = report.findings.map((f) => ({
    code: f.code,
    severity: f.severity,
    owasp: f.owasp,
    message: f.message,
    remedy: f.remedy,
    mandates: f.mandates,
    targets: f.targets,
    path: f.path,
    location: { file: f.location.file, line: f.location.line, column: f.location.column },
  }));
  return `${JSON.stringify({ findings, summary: report.summary }, null, 2)}\n`;
}
