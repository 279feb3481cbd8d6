/**
 * `mandate analyze PATH… [--logs FILE…] [--format text|json|sarif|dot|html]
 * [--fail-on SEVERITY] [--now ISO] [--since ISO] [--until ISO] [--max-depth N] [--out FILE]`
 *
 * Exit 0, or 1 when a finding at or above --fail-on exists; 2 for bad input (bad flags,
 * unreadable or invalid policies — their diagnostics go to stderr — or unreadable logs).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { relativizeReport, runAnalysis } from '../analysis/analyze.js';
import { SEVERITIES, isSeverity, severityRank, type Severity } from '../analysis/findings.js';
import { formatDot } from '../analysis/report/dot.js';
import { formatHtml } from '../analysis/report/html.js';
import { formatJson } from '../analysis/report/json.js';
import { formatSarif } from '../analysis/report/sarif.js';
import { formatText } from '../analysis/report/text.js';
import { takeListValues } from './args.js';
import { loadPoliciesOrReport } from './policies.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, toolVersion, type CliIO, type Command } from './io.js';

const USAGE = `usage: mandate analyze PATH... [--logs FILE...] [--format text|json|sarif|dot|html]
       [--fail-on ${SEVERITIES.join('|')}] [--now ISO-8601] [--since ISO-8601] [--until ISO-8601]
       [--max-depth N] [--out FILE]
Reports the risk findings of the policy set (and of decision logs, plain or gzip).
Exit 1 only when a finding at or above --fail-on exists; 2 for bad input.`;

const FORMATS = ['text', 'json', 'sarif', 'dot', 'html'] as const;
type Format = (typeof FORMATS)[number];

interface AnalyzeArgs {
  readonly paths: string[];
  readonly logs: string[];
  format: Format;
  failOn: Severity | null;
  nowMs: number | null;
  since: number | null;
  until: number | null;
  maxDepth: number | null;
  out: string | null;
}

/** Flags that take one value. `--logs` takes every following argument up to the next flag. */
const VALUE_FLAGS = new Set(['--format', '--fail-on', '--now', '--since', '--until', '--max-depth', '--out']);

function parseAnalyzeArgs(args: readonly string[]): AnalyzeArgs | string {
  const r: AnalyzeArgs = { paths: [], logs: [], format: 'text', failOn: null, nowMs: null, since: null, until: null, maxDepth: null, out: null };
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq !== -1) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '--logs') {
      if (value !== undefined) r.logs.push(value);
      else i = takeListValues(args, i, r.logs);
      if (r.logs.length === 0) return '--logs needs at least one FILE';
      continue;
    }
    if (VALUE_FLAGS.has(a)) {
      if (value === undefined) {
        value = args[++i];
        if (value === undefined) return `${a} needs a value`;
      }
      switch (a) {
        case '--format':
          if (!(FORMATS as readonly string[]).includes(value)) return `--format ${value}: expected one of ${FORMATS.join(', ')}`;
          r.format = value as Format;
          break;
        case '--fail-on':
          if (!isSeverity(value)) return `--fail-on ${value}: expected one of ${SEVERITIES.join(', ')}`;
          r.failOn = value;
          break;
        case '--max-depth': {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1 || n > 32) return `--max-depth ${value}: expected an integer from 1 to 32`;
          r.maxDepth = n;
          break;
        }
        case '--out':
          r.out = value;
          break;
        default: {
          const t = Date.parse(value);
          if (!Number.isFinite(t)) return `${a} ${value}: not an ISO-8601 date or date-time`;
          if (a === '--now') r.nowMs = t;
          else if (a === '--since') r.since = t;
          else r.until = t;
        }
      }
      continue;
    }
    if (a.startsWith('-')) return `unknown option ${a}`;
    r.paths.push(a);
  }
  if (r.paths.length === 0) return 'at least one policy PATH is required';
  if (r.since !== null && r.until !== null && r.since > r.until) return '--since is after --until';
  return r;
}

export const runAnalyzeCommand: Command = async (args: readonly string[], io: CliIO) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  const parsed = parseAnalyzeArgs(args);
  if (typeof parsed === 'string') {
    io.stderr(`mandate analyze: ${parsed}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const set = await loadPoliciesOrReport(parsed.paths, io);
  if (set === null) return EXIT_USAGE;
  const logs = parsed.logs.map((f) => path.resolve(io.cwd, f));
  let report;
  try {
    report = await runAnalysis(set, {
      nowMs: parsed.nowMs ?? Date.now(),
      logs,
      since: parsed.since,
      until: parsed.until,
      ...(parsed.maxDepth === null ? {} : { maxDepth: parsed.maxDepth }),
    });
  } catch (err) {
    // Only reading the logs can fail here (a missing file, a corrupt gzip stream).
    io.stderr(`mandate analyze: cannot read logs: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  report = relativizeReport(report, io.cwd);
  let text: string;
  switch (parsed.format) {
    case 'json':
      text = formatJson(report);
      break;
    case 'sarif':
      text = formatSarif(report, toolVersion());
      break;
    case 'dot':
      text = formatDot(report);
      break;
    case 'html':
      text = formatHtml(report);
      break;
    default:
      text = formatText(report);
  }
  if (parsed.out === null) io.stdout(text);
  else {
    try {
      await writeFile(path.resolve(io.cwd, parsed.out), text);
    } catch (err) {
      io.stderr(`mandate analyze: --out ${parsed.out}: ${(err as NodeJS.ErrnoException).code ?? 'cannot write'}\n`);
      return EXIT_USAGE;
    }
  }
  if (parsed.failOn !== null) {
    const bar = severityRank(parsed.failOn);
    if (report.findings.some((f) => severityRank(f.severity) >= bar)) return EXIT_FAIL;
  }
  return EXIT_OK;
};
