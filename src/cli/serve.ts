/**
 * `mandate serve`: configuration → running server → signals. SIGHUP reloads policies;
 * SIGTERM and SIGINT drain (health NOT_SERVING, in-flight checks finish) and the command
 * resolves 0 once drained, within --drain-timeout.
 */
import { loadServeConfig } from '../config/load.js';
import { SERVE_OPTIONS } from '../config/options.js';
import { StartupError, startServer } from '../server/server.js';
import { EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

/** The value placeholder --help and README.md's table show for an option. */
function placeholder(o: (typeof SERVE_OPTIONS)[number]): string {
  if (o.key === 'policies') return 'PATH';
  return o.kind === 'duration' ? 'DUR' : o.kind === 'addr' ? 'H:P' : o.kind === 'int' ? 'N' : 'VALUE';
}

function serveHelp(): string {
  const lines = SERVE_OPTIONS.map((o) => {
    const arg = o.kind === 'bool' ? '' : ` ${placeholder(o)}`;
    const def = o.defaultText === null ? '' : ` (default ${o.defaultText})`;
    return `  ${(o.flag + arg).padEnd(34)} ${o.help}${def}  [${o.env}]`;
  });
  return [
    'usage: mandate serve --policies PATH [--policies PATH...] [options]',
    '',
    'options (each also an environment variable and a --config file key in camelCase):',
    '  --config FILE                      YAML file of options (and the identity: block)  [MANDATE_CONFIG]',
    '  --print-config                     print the effective configuration as JSON and exit',
    ...lines,
  ].join('\n');
}

/** How long the drained process may take to exit on its own (cli/main.ts) before it is made to. */
export const SERVE_EXIT_GRACE_MS = 200;

export const runServeCommand: Command = async (args: readonly string[], io: CliIO) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(serveHelp() + '\n');
    return EXIT_OK;
  }
  const { config, errors, printConfig } = loadServeConfig(args, io.env, io.cwd);
  if (config === null) {
    for (const e of errors) io.stderr(`mandate serve: ${e}\n`);
    return EXIT_USAGE;
  }
  if (printConfig) {
    io.stdout(JSON.stringify(config, null, 2) + '\n');
    return EXIT_OK;
  }
  // Signals are handled from the start: a SIGTERM that arrives while the policy set is
  // still loading stops the server as soon as it is up, with the same drain.
  let stopRequested = false;
  let stop: () => void = () => {
    stopRequested = true;
  };
  let reload: () => void = () => undefined;
  const onTerm = (): void => stop();
  const onHup = (): void => reload();
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onTerm);
  process.on('SIGHUP', onHup);

  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
    if (err instanceof StartupError) {
      for (const line of err.lines) io.stderr(`${line}\n`);
      return err.exitCode;
    }
    throw err;
  }
  const running = server;
  return new Promise<number>((resolve) => {
    reload = () => void running.reload();
    stop = () => {
      process.off('SIGHUP', onHup);
      running.drain(Math.max(0, config.drainTimeout - SERVE_EXIT_GRACE_MS)).then(
        () => resolve(EXIT_OK),
        () => resolve(EXIT_OK),
      );
    };
    if (stopRequested) stop();
  });
};
