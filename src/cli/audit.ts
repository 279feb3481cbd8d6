/**
 * `mandate audit verify FILE [--anchor HASH] [--allow-restarts]`: checks the hash chain of a
 * decision log written with --audit-chain. Exit 0 with a count when intact; exit 1 with
 * `line N: …` naming the first broken, edited or missing line; exit 2 on bad usage or an
 * unreadable file. Like `mandate validate`, findings go to stderr and the success line to
 * stdout. The file is streamed, so logs larger than memory verify too.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { ChainVerifier, type VerifyResult } from '../audit/chain.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

const USAGE = `usage: mandate audit verify FILE [--anchor HASH] [--allow-restarts]

Verifies the hash chain of a decision log written with --audit-chain.
  --anchor HASH       the first line continues from HASH (the last hash of the previous,
                      rotated file) instead of the genesis value
  --allow-restarts    accept new chains (seq 1) inside the file, e.g. stdout logs
                      collected across process restarts
Exit 0 when intact, 1 at the first broken, edited or missing line, 2 on bad usage.`;

interface VerifyArgs {
  readonly file: string;
  readonly anchor: string | null;
  readonly allowRestarts: boolean;
}

function parseArgs(args: readonly string[]): VerifyArgs | string {
  let file: string | null = null;
  let anchor: string | null = null;
  let allowRestarts = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--allow-restarts') {
      allowRestarts = true;
    } else if (a === '--anchor' || a.startsWith('--anchor=')) {
      const v = a === '--anchor' ? args[++i] : a.slice('--anchor='.length);
      if (v === undefined || !/^[0-9a-f]{64}$/.test(v)) return '--anchor needs a 64-hex-digit sha256';
      anchor = v;
    } else if (a.startsWith('-') && a !== '-') {
      return `unknown option '${a}'`;
    } else if (file === null) {
      file = a;
    } else {
      return `unexpected argument '${a}'`;
    }
  }
  if (file === null) return 'missing FILE';
  return { file, anchor, allowRestarts };
}

async function verifyFile(path: string, verifier: ChainVerifier): Promise<VerifyResult> {
  const stream = createReadStream(path);
  for await (const chunk of stream) {
    if (!verifier.push(chunk as Buffer)) {
      stream.destroy();
      break;
    }
  }
  return verifier.end();
}

async function verifyStdin(io: CliIO, verifier: ChainVerifier): Promise<VerifyResult> {
  verifier.push(Buffer.from(await io.readStdin(), 'utf8'));
  return verifier.end();
}

export const runAuditCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(USAGE + '\n');
    return EXIT_OK;
  }
  if (sub !== 'verify') {
    io.stderr(`mandate audit: ${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(USAGE + '\n');
    return EXIT_OK;
  }
  const parsed = parseArgs(rest);
  if (typeof parsed === 'string') {
    io.stderr(`mandate audit verify: ${parsed}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const verifier = new ChainVerifier({ anchor: parsed.anchor, allowRestarts: parsed.allowRestarts });
  let result: VerifyResult;
  try {
    result = parsed.file === '-'
      ? await verifyStdin(io, verifier)
      : await verifyFile(resolve(io.cwd, parsed.file), verifier);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr(`mandate audit verify: cannot read ${parsed.file}${code === undefined ? '' : ` (${code})`}\n`);
    return EXIT_USAGE;
  }
  if (!result.ok) {
    io.stderr(`line ${result.line}: ${result.message}\n`);
    return EXIT_FAIL;
  }
  const chains = result.chains === 1 ? '' : `, ${result.chains} chains`;
  io.stdout(`ok: ${result.lines} line${result.lines === 1 ? '' : 's'} intact (seq ${result.firstSeq}..${result.lastSeq}${chains}); last sha256 ${result.lastHash}\n`);
  return EXIT_OK;
};
