/**
 * `mandate validate PATH…` (SPEC section 3): checks policy documents. Diagnostics go to
 * stderr, one `file:line:column: CODE: message` per line and nothing else, so editors and
 * CI annotators can parse every line; the summary of a valid set goes to stdout.
 */
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE } from './io.js';
import type { Command } from './io.js';
import { formatDiagnostic } from '../policy/diagnostics.js';
import { loadPolicySet } from '../policy/load.js';

const USAGE = `usage: mandate validate PATH...
  Validates policy files and directories (*.yaml, *.yml, *.json, read recursively).
  Exit 0 when valid, 1 with one "file:line:column: CODE: message" line per problem on stderr.
`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const runValidateCommand: Command = async (args, io) => {
  const paths: string[] = [];
  let options = true;
  for (const arg of args) {
    if (options && arg === '--') {
      options = false;
    } else if (options && (arg === '-h' || arg === '--help')) {
      io.stdout(USAGE);
      return EXIT_OK;
    } else if (options && arg.startsWith('-') && arg !== '-') {
      io.stderr(`mandate validate: unknown option ${arg}\n${USAGE}`);
      return EXIT_USAGE;
    } else {
      paths.push(arg);
    }
  }
  if (paths.length === 0) {
    io.stderr(`mandate validate: no policy path given\n${USAGE}`);
    return EXIT_USAGE;
  }
  const result = await loadPolicySet(paths, { cwd: io.cwd });
  if (!result.ok) {
    io.stderr(result.diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join(''));
    return EXIT_FAIL;
  }
  const { set } = result;
  io.stdout(`${plural(set.mandates.length, 'mandate')}, ${plural(set.targets.length, 'target')}, revision ${set.revision}\n`);
  return EXIT_OK;
};
