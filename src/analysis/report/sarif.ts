/**
 * `--format sarif`: SARIF 2.1.0 with one rule per finding code and a physical location
 * (artifact uri relative to the working directory, start line and column) per result, so
 * CI code scanning annotates the policy files.
 */
import { FINDING_CODES, FINDING_RULES, OWASP_NHI_2025, type Severity } from '../findings.js';
import type { AnalysisReport } from '../analyze.js';

const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub code scanning reads this property to rank security results (0.0-10.0). */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

function uriOf(file: string): string {
  return encodeURI(file.split('\\').join('/'));
}

export function formatSarif(report: AnalysisReport, toolVersion: string): string {
  const rules = FINDING_CODES.map((code) => {
    const r = FINDING_RULES[code];
    return {
      id: code,
      name: code
        .toLowerCase()
        .split('_')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join(''),
      shortDescription: { text: r.title },
      fullDescription: { text: `${r.title}. OWASP ${r.owasp}:2025 ${OWASP_NHI_2025[r.owasp]}.` },
      help: { text: r.remedy },
      properties: { tags: ['security', `owasp-nhi/${r.owasp}`] },
    };
  });
  const results = report.findings.map((f) => ({
    ruleId: f.code,
    ruleIndex: FINDING_CODES.indexOf(f.code),
    level: LEVEL[f.severity],
    message: { text: `${f.message}. Fix: ${f.remedy}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: uriOf(f.location.file), uriBaseId: '%SRCROOT%' },
          region: { startLine: Math.max(1, f.location.line), startColumn: Math.max(1, f.location.column) },
        },
      },
    ],
    properties: {
      severity: f.severity,
      'security-severity': SECURITY_SEVERITY[f.severity],
      owasp: f.owasp,
      mandates: f.mandates,
      targets: f.targets,
      path: f.path,
    },
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'mandate', version: toolVersion, semanticVersion: toolVersion, rules } },
        columnKind: 'unicodeCodePoints',
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
