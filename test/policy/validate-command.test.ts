import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runValidateCommand } from '../../src/cli/validate.js';
import type { CliIO } from '../../src/cli/io.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function run(args: string[], cwd = repo): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    env: {},
    cwd,
    readStdin: async () => '',
  };
  const code = await runValidateCommand(args, io);
  return { code, out, err };
}

describe('mandate validate', () => {
  it('prints a one-line summary on stdout and exits 0 for a valid set', async () => {
    const r = await run(['examples/policies']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^7 mandates, 5 targets, revision [0-9a-f]{16}\n$/);
  });

  it('uses the singular for one', async () => {
    const r = await run(['examples/policies/refund-worker.yaml']);
    expect(r.out).toMatch(/^1 mandate, 0 targets, revision [0-9a-f]{16}\n$/);
  });

  it('prints every diagnostic as file:line:column: CODE: message on stderr and exits 1', async () => {
    const r = await run(['invalid', 'empty', 'missing'], path.join(repo, 'test/fixtures/policy'));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(readFileSync(path.join(repo, 'test/fixtures/policy/diagnostics.golden'), 'utf8'));
    for (const line of r.err.trimEnd().split('\n')) expect(line).toMatch(/^[^:]+:\d+:\d+: [A-Z_]+: \S/);
  });

  it('names files relative to the path given', async () => {
    const r = await run(['test/fixtures/policy/invalid/aliases.yaml']);
    expect(r.err.split('\n')[0]).toMatch(/^test\/fixtures\/policy\/invalid\/aliases\.yaml:12:17: YAML_ALIAS: /);
  });

  it.each([
    ['no path', [], 'no policy path given'],
    ['an unknown option', ['--strict', 'examples/policies'], 'unknown option --strict'],
  ])('prints usage on stderr and exits 2 for %s', async (_name, args, why) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(why);
    expect(r.err).toContain('usage: mandate validate PATH...');
  });

  it('prints usage on stdout for --help', async () => {
    const r = await run(['--help']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain('usage: mandate validate PATH...');
  });

  it('takes paths after -- literally', async () => {
    const r = await run(['--', '--help']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('--help:1:1: READ_ERROR: no such file or directory (or a broken symbolic link)\n');
  });
});
