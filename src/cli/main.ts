#!/usr/bin/env node
/**
 * The `mandate` command. The only place that reads process.argv, process.env and the
 * real standard streams; subcommands get them through CliIO and are loaded on demand so
 * `mandate validate` does not pay for loading gRPC.
 */
import { toolVersion, type CliIO, type Command } from './io.js';

const USAGE = `usage: mandate <command> [options]

commands:
  serve     --policies PATH [...]      serve ext_authz, health, token API, metrics
  validate  PATH...                    validate policy documents
  check     --policies PATH --request FILE|-   evaluate one CheckRequest (proto3 JSON)
  token     issue|verify|revoke ...    task-token operator commands
  analyze   PATH... [--logs FILE...]   offline risk analysis
  explain   DECISION_ID --logs FILE... reconstruct one decision from the log
  replay    --policies NEW --logs FILE...   what a policy change would newly allow or deny
  audit     verify FILE                verify a hash-chained decision log

Run 'mandate <command> --help' for a command's options.`;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).runServeCommand,
  validate: async () => (await import('./validate.js')).runValidateCommand,
  check: async () => (await import('./check.js')).runCheckCommand,
  token: async () => (await import('./token.js')).runTokenCommand,
  analyze: async () => (await import('./analyze.js')).runAnalyzeCommand,
  explain: async () => (await import('./explain.js')).runExplainCommand,
  replay: async () => (await import('./replay.js')).runReplayCommand,
  audit: async () => (await import('./audit.js')).runAuditCommand,
};

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const io: CliIO = {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    readStdin,
  };
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`mandate ${toolVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    io.stderr(`mandate: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  const code = await (await load())(rest, io);
  if (name === 'serve') {
    // Once drained, let the event loop empty by itself so the last responses still queued
    // in sockets are written; a handle that lingers (a reconnect timer, a keep-alive
    // socket) cannot hold the exit up for more than a moment. serve drains within its
    // bound less this moment, so the process ends within --drain-timeout.
    const { SERVE_EXIT_GRACE_MS } = await import('./serve.js');
    setTimeout(() => process.exit(code), SERVE_EXIT_GRACE_MS).unref();
  }
  return code;
}

main().then(
  (code) => {
    // serve keeps running until it drains; it sets the exit code itself.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mandate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
