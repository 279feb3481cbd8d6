/** Runs a Command in-process with captured output. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { CliIO, Command } from '../../src/cli/io.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/analysis');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `stdin` is what the command reads for a `-` argument. */
export async function runCli(cmd: Command, args: string[], cwd = FIXTURES, stdin = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: {},
    cwd,
    readStdin: async () => stdin,
  };
  const code = await cmd(args, io);
  return { code, stdout, stderr };
}

/** Compares with a golden file; UPDATE_GOLDEN=1 rewrites it instead. */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(FIXTURES, 'golden', name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
