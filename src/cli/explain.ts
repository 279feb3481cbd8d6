/**
 * `mandate explain DECISION_ID --logs FILE… [--policies PATH…] [--format text|json]`:
 * finds the decision in the logs (plain or gzip, streamed, stops at the first match) and
 * prints everything known about it. Exit 0 found, 1 not found, 2 bad input.
 */
import path from 'node:path';
import { displayPath } from '../analysis/analyze.js';
import { explainEntry, formatExplanation } from '../analysis/explain.js';
import { newLogStats, readLogFiles, type LogEntry } from '../analysis/logs.js';
import type { PolicySet } from '../policy/model.js';
import { takeListValues } from './args.js';
import { loadPoliciesOrReport } from './policies.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

const USAGE = `usage: mandate explain DECISION_ID --logs FILE... [--policies PATH...] [--format text|json]
Exit 0 when the decision is found, 1 when it is not, 2 for bad input.`;

export const runExplainCommand: Command = async (args: readonly string[], io: CliIO) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  let id: string | null = null;
  const logs: string[] = [];
  const policies: string[] = [];
  let format = 'text';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--logs' || a === '--policies') {
      const list = a === '--logs' ? logs : policies;
      const start = list.length;
      i = takeListValues(args, i, list);
      if (list.length === start) return usage(io, `${a} needs a value`);
    } else if (a.startsWith('--logs=')) logs.push(a.slice(7));
    else if (a.startsWith('--policies=')) policies.push(a.slice(11));
    else if (a === '--format' || a.startsWith('--format=')) {
      const v = a === '--format' ? args[++i] : a.slice(9);
      if (v !== 'text' && v !== 'json') return usage(io, `--format ${v ?? ''}: expected text or json`);
      format = v;
    } else if (a.startsWith('-')) return usage(io, `unknown option ${a}`);
    else if (id === null) id = a;
    else return usage(io, `unexpected argument ${a}`);
  }
  if (id === null) return usage(io, 'DECISION_ID is required');
  if (logs.length === 0) return usage(io, '--logs FILE is required');

  let set: PolicySet | null = null;
  if (policies.length > 0) {
    set = await loadPoliciesOrReport(policies, io);
    if (set === null) return EXIT_USAGE;
  }
  let found: LogEntry | null = null;
  try {
    for await (const e of readLogFiles(logs.map((f) => path.resolve(io.cwd, f)), newLogStats())) {
      if (e.decisionId === id) {
        found = e;
        break;
      }
    }
  } catch (err) {
    io.stderr(`mandate explain: cannot read logs: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (found === null) {
    io.stderr(`mandate explain: decision ${id} is not in the logs given\n`);
    return EXIT_FAIL;
  }
  const x = explainEntry({ ...found, file: displayPath(found.file, io.cwd) }, set);
  io.stdout(format === 'json' ? `${JSON.stringify(x, null, 2)}\n` : formatExplanation(x));
  return EXIT_OK;
};

function usage(io: CliIO, message: string): number {
  io.stderr(`mandate explain: ${message}\n${USAGE}\n`);
  return EXIT_USAGE;
}
