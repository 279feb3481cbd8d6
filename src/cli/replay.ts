/**
 * `mandate replay --policies NEW… --logs FILE… [--trust-domain TD…] [--format text|json]
 * [--fail-on-change]`: re-evaluates every logged request against the proposed policies
 * and reports what would newly be denied or allowed, grouped by mandate and reason.
 * Exit 0; 1 with --fail-on-change when any outcome changes; 2 for bad input.
 */
import path from 'node:path';
import { displayPath } from '../analysis/analyze.js';
import { newLogStats, readLogFiles } from '../analysis/logs.js';
import { Replayer, formatReplayText } from '../analysis/replay.js';
import { compilePolicy } from '../policy/compile.js';
import { takeListValues } from './args.js';
import { loadPoliciesOrReport } from './policies.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

const USAGE = `usage: mandate replay --policies PATH... --logs FILE... [--trust-domain TD...] [--format text|json] [--fail-on-change]
Re-evaluates logged requests against the proposed policies. Exit 1 with --fail-on-change
when an outcome changes; 2 for bad input.`;

export const runReplayCommand: Command = async (args: readonly string[], io: CliIO) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  const lists: Record<string, string[]> = { '--policies': [], '--logs': [], '--trust-domain': [] };
  let format = 'text';
  let failOnChange = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq !== -1 ? a.slice(0, eq) : a;
    if (lists[flag] !== undefined) {
      const list = lists[flag]!;
      if (flag !== a) list.push(a.slice(eq + 1));
      else {
        const start = list.length;
        i = takeListValues(args, i, list);
        if (list.length === start) return usage(io, `${a} needs a value`);
      }
    } else if (flag === '--format') {
      const v = flag === a ? args[++i] : a.slice(eq + 1);
      if (v !== 'text' && v !== 'json') return usage(io, `--format ${v ?? ''}: expected text or json`);
      format = v;
    } else if (a === '--fail-on-change') failOnChange = true;
    else return usage(io, `unexpected argument ${a}`);
  }
  const policies = lists['--policies']!;
  const logs = lists['--logs']!;
  if (policies.length === 0) return usage(io, '--policies PATH is required');
  if (logs.length === 0) return usage(io, '--logs FILE is required');

  const set = await loadPoliciesOrReport(policies, io);
  if (set === null) return EXIT_USAGE;
  const trust = lists['--trust-domain']!;
  const replayer = new Replayer(compilePolicy(set), trust.length > 0 ? new Set(trust) : null);
  try {
    for await (const e of readLogFiles(logs.map((f) => path.resolve(io.cwd, f)), newLogStats())) replayer.add(e);
  } catch (err) {
    io.stderr(`mandate replay: cannot read logs: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const r = replayer.finish();
  const files = logs.map((f) => displayPath(path.resolve(io.cwd, f), io.cwd));
  io.stdout(format === 'json' ? `${JSON.stringify({ logs: files, ...r }, null, 2)}\n` : formatReplayText(r, files));
  const changed = r.newlyDenied.length + r.newlyAllowed.length + r.reasonChanged.length > 0;
  return failOnChange && changed ? EXIT_FAIL : EXIT_OK;
};

function usage(io: CliIO, message: string): number {
  io.stderr(`mandate replay: ${message}\n${USAGE}\n`);
  return EXIT_USAGE;
}
