import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashLine, readChainHead } from '../../src/audit/chain.js';
import { createDecisionLog } from '../../src/audit/decision-log.js';
import { decisionToLogEntry } from '../../src/audit/entry.js';
import { runAuditCommand } from '../../src/cli/audit.js';
import { runCli } from '../analysis/run-cli.js';
import { decision, facts, okToken } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mandate-chain-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function writeChained(file: string, from: number, n: number): Promise<void> {
  const log = createDecisionLog({ destination: { file }, level: 'info', chain: true, onDrop: () => undefined });
  for (let i = from; i < from + n; i++) {
    const d = decision({ decisionId: `d-${i}`, ...(i % 2 === 1 ? { decision: 'deny', reason: 'NO_MANDATE' } : {}) });
    log.write(decisionToLogEntry(d, facts(), okToken, 5, Date.UTC(2026, 0, 1) + i));
  }
  await log.close();
}

async function verify(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(runAuditCommand, ['verify', ...args], dir);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const save = (file: string, ls: string[]): void => writeFileSync(file, ls.map((l) => l + '\n').join(''));

describe('hash-chained decision log', () => {
  it('chains each line to the exact bytes of the previous one, from a fixed genesis', async () => {
    const file = join(dir, 'a.log');
    await writeChained(file, 1, 3);
    const ls = lines(file);
    const parsed = ls.map((l) => JSON.parse(l) as { seq: number; prev_hash: string });
    expect(parsed.map((p) => p.seq)).toEqual([1, 2, 3]);
    expect(parsed.map((p) => p.prev_hash)).toEqual([GENESIS_HASH, hashLine(ls[0] as string), hashLine(ls[1] as string)]);
    expect(readChainHead(file)).toEqual({ seq: 3, hash: hashLine(ls[2] as string), needsNewline: false });
  });

  it('verify passes an intact file and reports the count', async () => {
    await writeChained(join(dir, 'a.log'), 1, 5);
    const r = await verify('a.log');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok: 5 lines intact \(seq 1\.\.5\); last sha256 [0-9a-f]{64}\n$/);
  });

  it('a restarted server continues the chain of its file', async () => {
    const file = join(dir, 'a.log');
    await writeChained(file, 1, 3);
    await writeChained(file, 4, 2);
    expect(lines(file).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await verify('a.log')).code).toBe(0);
  });

  it.each([
    ['a deleted line', (ls: string[]) => ls.filter((_, i) => i !== 2), 'line 3: seq 4 follows seq 2: 1 line missing before this line'],
    ['two deleted lines', (ls: string[]) => ls.filter((_, i) => i !== 1 && i !== 2), 'line 2: seq 4 follows seq 1: 2 lines missing before this line'],
    ['a deleted first line', (ls: string[]) => ls.slice(1), 'line 1: the chain does not start here'],
    ['an edited line', (ls: string[]) => ls.map((l, i) => (i === 1 ? l.replace('"decision":"allow"', '"decision":"deny"') : l)), 'line 2: edited: its sha256 does not match the prev_hash recorded on line 3'],
    ['an edited prev_hash', (ls: string[]) => ls.map((l, i) => (i === 3 ? l.replace(/"prev_hash":"[0-9a-f]{64}"/, `"prev_hash":"${'1'.repeat(64)}"`) : l)), 'line 3: edited'],
    ['swapped lines', (ls: string[]) => [ls[0], ls[2], ls[1], ls[3], ls[4]] as string[], 'line 2: seq 3 follows seq 1: 1 line missing'],
    ['a truncated line', (ls: string[]) => ls.map((l, i) => (i === 3 ? l.slice(0, 40) : l)), 'line 4: not valid JSON'],
    ['an inserted unchained line', (ls: string[]) => [...ls.slice(0, 2), '{"decision":"allow"}', ...ls.slice(2)], 'line 3: no valid seq/prev_hash'],
    ['an empty line', (ls: string[]) => [...ls.slice(0, 2), '', ...ls.slice(2)], 'line 3: empty line'],
  ])('verify detects %s', async (_name, damage, expected) => {
    const file = join(dir, 'a.log');
    await writeChained(file, 1, 5);
    const before = lines(file);
    const after = damage(before);
    expect(after).not.toEqual(before); // the damage really happened
    save(file, after);
    const r = await verify(file);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.startsWith(expected), r.err).toBe(true);
  });

  it('verifies a rotated file against the previous file last hash', async () => {
    const file = join(dir, 'a.log');
    await writeChained(file, 1, 6);
    const ls = lines(file);
    save(join(dir, 'old.log'), ls.slice(0, 3));
    save(join(dir, 'new.log'), ls.slice(3));
    const old = await verify('old.log');
    const anchor = /last sha256 ([0-9a-f]{64})/.exec(old.out)?.[1] as string;
    expect((await verify('new.log')).code).toBe(1);
    const r = await verify('new.log', '--anchor', anchor);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok: 3 lines intact (seq 4..6)');
    expect((await verify('new.log', '--anchor', GENESIS_HASH)).err).toMatch(/^line 1: prev_hash does not match the anchor/);
  });

  it('accepts process restarts inside one stream only when asked', async () => {
    await writeChained(join(dir, 'a.log'), 1, 2);
    await writeChained(join(dir, 'b.log'), 3, 2);
    save(join(dir, 'both.log'), [...lines(join(dir, 'a.log')), ...lines(join(dir, 'b.log'))]);
    expect((await verify('both.log')).err).toMatch(/^line 3: seq 1 follows seq 2/);
    const r = await verify('both.log', '--allow-restarts');
    expect(r.code).toBe(0);
    expect(r.out).toContain('4 lines intact (seq 1..2, 2 chains)');
  });

  it.each([
    [[], 2],
    [['verify'], 2],
    [['verify', 'a', 'b'], 2],
    [['verify', '--anchor', 'xyz', 'a'], 2],
    [['verify', '--bogus', 'a'], 2],
    [['verify', 'missing.log'], 2],
    [['frobnicate'], 2],
    [['--help'], 0],
  ])('usage: audit %j exits %i', async (args, code) => {
    expect((await runCli(runAuditCommand, args, dir)).code).toBe(code);
  });
});
