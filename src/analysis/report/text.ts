/** `--format text`: a readable table, then the paths, remedies, summary and suggestions. */
import { severityCounts } from '../findings.js';
import type { AnalysisReport } from '../analyze.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatText(report: AnalysisReport): string {
  const out: string[] = [];
  const s = report.summary;
  out.push(`mandate analyze: ${s.mandates} mandates, ${s.edges} actions, ${s.findings} findings (now ${s.now})`);
  out.push('');
  if (report.findings.length === 0) {
    out.push('No findings.');
  } else {
    const rows = report.findings.map((f, i) => ({
      n: String(i + 1),
      sev: f.severity.toUpperCase(),
      code: f.code,
      owasp: f.owasp,
      loc: `${f.location.file}:${f.location.line}:${f.location.column}`,
      f,
    }));
    const w = {
      n: Math.max(1, ...rows.map((r) => r.n.length)),
      sev: Math.max(8, ...rows.map((r) => r.sev.length)),
      code: Math.max(4, ...rows.map((r) => r.code.length)),
      owasp: 5,
      loc: Math.max(8, ...rows.map((r) => r.loc.length)),
    };
    out.push(`${pad('#', w.n)}  ${pad('SEVERITY', w.sev)}  ${pad('CODE', w.code)}  ${pad('OWASP', w.owasp)}  ${pad('LOCATION', w.loc)}  MESSAGE`);
    for (const r of rows) {
      out.push(`${pad(r.n, w.n)}  ${pad(r.sev, w.sev)}  ${pad(r.code, w.code)}  ${pad(r.owasp, w.owasp)}  ${pad(r.loc, w.loc)}  ${r.f.message}`);
      const indent = ' '.repeat(w.n + 2);
      if (r.f.path !== null) out.push(`${indent}path: ${r.f.path.join(' -> ')}`);
      out.push(`${indent}fix:  ${r.f.remedy}`);
    }
  }
  out.push('');
  out.push(`By severity: ${severityCounts(s.bySeverity).join(', ')}`);
  if (s.truncated) out.push(`Path findings were capped; more paths exist (depth limit ${s.maxDepth}).`);
  if (s.logs !== null) {
    out.push(
      `Logs: ${s.logs.entries} decisions in ${s.logs.files.length} file(s), ${s.logs.inWindow} in window ${s.logs.since ?? '-'} .. ${s.logs.until ?? '-'}` +
        (s.logs.skipped > 0 ? `, ${s.logs.skipped} other line(s) skipped` : ''),
    );
  }
  for (const sug of s.suggestedMandates) {
    out.push('');
    out.push(`Suggested mandate for ${sug.subject} (${sug.actions} action(s) covering ${sug.requests} request(s)):`);
    out.push(sug.yaml.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
