import { readFileSync } from 'node:fs';

/**
 * What a command may touch of the process. Commands receive it instead of reading
 * process.* themselves, so tests can run them in-process and capture their output.
 */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Standard input as text, read on demand (for `-` arguments). */
  readonly readStdin: () => Promise<string>;
}

/** Exit statuses shared by all commands. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** Every subcommand module exports one function of this shape. */
export type Command = (args: readonly string[], io: CliIO) => Promise<number>;

/** The package version (`mandate --version`, SARIF's tool version); 0.0.0 when unreadable. */
export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
