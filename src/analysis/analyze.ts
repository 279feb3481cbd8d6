/**
 * One analysis run: policy findings, then (when logs are given) log findings and
 * suggested mandates, sorted and summarised. The report is plain data; report/*.ts turn
 * it into text, JSON, SARIF, DOT or HTML.
 */
import { relative, isAbsolute, sep } from 'node:path';
import type { PolicySet } from '../policy/model.js';
import { FINDING_CODES, SEVERITIES, compareFindings, type Finding, type FindingCode, type Severity } from './findings.js';
import type { AccessGraph } from './graph.js';
import { LogAnalyzer } from './log-findings.js';
import { newLogStats, readLogFiles } from './logs.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PATH_FINDINGS, analyzePolicy } from './policy-findings.js';
import type { SuggestedMandate } from './suggest.js';

export interface AnalysisOptions {
  readonly nowMs: number;
  readonly maxDepth?: number;
  readonly maxPathFindings?: number;
  readonly logs?: readonly string[];
  readonly since?: number | null;
  readonly until?: number | null;
}

export interface LogSummary {
  readonly files: readonly string[];
  readonly lines: number;
  readonly entries: number;
  readonly skipped: number;
  readonly inWindow: number;
  readonly since: string | null;
  readonly until: string | null;
}

export interface AnalysisSummary {
  readonly now: string;
  readonly revision: string;
  readonly mandates: number;
  readonly targets: number;
  readonly edges: number;
  readonly findings: number;
  readonly bySeverity: Readonly<Record<Severity, number>>;
  readonly byCode: Readonly<Partial<Record<FindingCode, number>>>;
  /** True when the path-finding cap was reached (more paths exist than are listed). */
  readonly truncated: boolean;
  readonly maxDepth: number;
  readonly logs: LogSummary | null;
  readonly suggestedMandates: readonly SuggestedMandate[];
}

export interface AnalysisReport {
  readonly findings: readonly Finding[];
  readonly summary: AnalysisSummary;
  readonly graph: AccessGraph;
}

export async function runAnalysis(set: PolicySet, opts: AnalysisOptions): Promise<AnalysisReport> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const policy = analyzePolicy(set, { nowMs: opts.nowMs, maxDepth, maxPathFindings: opts.maxPathFindings ?? DEFAULT_MAX_PATH_FINDINGS });
  const findings = policy.findings;
  let logs: LogSummary | null = null;
  let suggestions: SuggestedMandate[] = [];
  if (opts.logs !== undefined && opts.logs.length > 0) {
    const stats = newLogStats();
    const analyzer = new LogAnalyzer(set, { since: opts.since ?? null, until: opts.until ?? null });
    for await (const e of readLogFiles(opts.logs, stats)) analyzer.add(e);
    const r = analyzer.finish();
    findings.push(...r.findings);
    suggestions = r.suggestions;
    logs = { files: [...opts.logs], lines: stats.lines, entries: stats.entries, skipped: stats.skipped, inWindow: r.entriesInWindow, since: r.since, until: r.until };
  }
  findings.sort(compareFindings);
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byCode: Partial<Record<FindingCode, number>> = {};
  for (const f of findings) {
    bySeverity[f.severity]++;
    byCode[f.code] = (byCode[f.code] ?? 0) + 1;
  }
  const orderedByCode: Partial<Record<FindingCode, number>> = {};
  for (const c of FINDING_CODES) if (byCode[c] !== undefined) orderedByCode[c] = byCode[c];
  return {
    findings,
    graph: policy.graph,
    summary: {
      now: new Date(opts.nowMs).toISOString(),
      revision: set.revision,
      mandates: set.mandates.length,
      targets: policy.graph.nodes.filter((n) => n.mandate === null || policy.graph.pred[n.index]!.length > 0).length,
      edges: policy.graph.edges.length,
      findings: findings.length,
      bySeverity,
      byCode: orderedByCode,
      truncated: policy.truncated,
      maxDepth,
      logs,
      suggestedMandates: suggestions,
    },
  };
}

/** Paths as a reader of the report sees them: relative to `cwd`, with `/` separators. */
export function displayPath(file: string, cwd: string): string {
  const rel = isAbsolute(file) ? relative(cwd, file) : file;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** The report with every file name made relative to `cwd` (stable goldens, SARIF uris). */
export function relativizeReport(report: AnalysisReport, cwd: string): AnalysisReport {
  return {
    ...report,
    findings: report.findings.map((f) => ({ ...f, location: { ...f.location, file: displayPath(f.location.file, cwd) } })),
    summary: {
      ...report.summary,
      logs: report.summary.logs === null ? null : { ...report.summary.logs, files: report.summary.logs.files.map((f) => displayPath(f, cwd)) },
    },
  };
}
