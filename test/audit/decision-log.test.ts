import { execFileSync } from 'node:child_process';
import { constants, createReadStream, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDecisionLog, logFileProblem, type DecisionLog } from '../../src/audit/decision-log.js';
import { decisionToLogEntry, DECISION_LOG_FIELDS, type DecisionLogEntry } from '../../src/audit/entry.js';
import { decision, facts, okToken, SECRET_BEARER, SECRET_TOKEN } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';

const NOW = Date.UTC(2026, 11, 4, 20, 30, 0);

function entry(i: number, over: Parameters<typeof decision>[0] = {}): DecisionLogEntry {
  return decisionToLogEntry(decision({ decisionId: `d-${i}`, ...over }), facts(), okToken, 10, NOW + i);
}

const allow = (i: number): DecisionLogEntry => entry(i);
const deny = (i: number): DecisionLogEntry =>
  entry(i, { decision: 'deny', reason: 'ACTION_NOT_PERMITTED', actionIndex: -1, detail: 'no action matches POST /x' });
const dryRun = (i: number): DecisionLogEntry =>
  entry(i, { reason: 'FUNCTION_NOT_DECLARED', dryRun: true, wouldDeny: 'FUNCTION_NOT_DECLARED', actionIndex: -1 });

/** Polls a condition on the event loop, failing after a bound instead of sleeping blindly. */
// Bounded polling (test/helpers/wait.ts) for states that raise no event.
const until = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  await waitFor(cond, what, ms, 10);
};

function readLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

let dir: string;
let logs: DecisionLog[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mandate-audit-'));
});
afterEach(async () => {
  await Promise.all(logs.map((l) => l.close()));
  logs = [];
  rmSync(dir, { recursive: true, force: true });
});

function open(opts: Partial<Parameters<typeof createDecisionLog>[0]> & { file: string }): { log: DecisionLog; drops: () => number } {
  let dropped = 0;
  const log = createDecisionLog({
    destination: { file: opts.file },
    level: opts.level ?? 'info',
    chain: opts.chain ?? false,
    bufferLimit: opts.bufferLimit,
    onDrop: (n) => {
      dropped += n;
    },
    onError: opts.onError,
  });
  logs.push(log);
  return { log, drops: () => dropped };
}

describe('decision log to a file', () => {
  it('writes one JSON line per decision with every field present, for allow, deny and dry run', async () => {
    const file = join(dir, 'decisions.log');
    const { log } = open({ file });
    log.write(allow(1));
    log.write(deny(2));
    log.write(dryRun(3));
    await log.flush();
    const lines = readLines(file);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(Object.keys(l)).toEqual([...DECISION_LOG_FIELDS]);
    expect(lines.map((l) => [l.decision, l.reason, l.dry_run, l.would_deny])).toEqual([
      ['allow', 'ALLOWED', false, null],
      ['deny', 'ACTION_NOT_PERMITTED', false, null],
      ['allow', 'FUNCTION_NOT_DECLARED', true, 'FUNCTION_NOT_DECLARED'],
    ]);
    expect(lines[1]?.detail).toBe('no action matches POST /x');
    expect(lines[0]?.time).toBe('2026-12-04T20:30:00.001Z');
  });

  it('writeDecision builds the same line as write(decisionToLogEntry(...)), later', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    const { log: la } = open({ file: a });
    const { log: lb } = open({ file: b });
    const d = decision({ decision: 'deny', reason: 'TOKEN_SUBJECT_MISMATCH', actionIndex: -1 });
    la.write(decisionToLogEntry(d, facts(), okToken, 42.4, NOW));
    lb.writeDecision(d, facts(), okToken, 42.4, NOW);
    expect(lb.pending()).toBe(1);
    await Promise.all([la.flush(), lb.flush()]);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    expect(readLines(b)).toHaveLength(1);
  });

  it('never lets a token or authorization header from the facts reach the file', async () => {
    const file = join(dir, 'decisions.log');
    const { log } = open({ file, chain: true });
    log.write(allow(1));
    log.writeDecision(decision({ decisionId: 'd-2' }), facts(), okToken, 1, NOW);
    log.write(deny(2));
    await log.flush();
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('"token_sha256":"0123456789abcdef"');
    expect(text).not.toContain(SECRET_TOKEN);
    expect(text).not.toContain(SECRET_BEARER.slice(7));
  });

  it.each([
    ['info', ['d-1', 'd-2', 'd-3', 'd-4']],
    ['warn', ['d-2', 'd-3', 'd-4']],
    ['error', ['d-4']],
    ['fatal', ['d-4']],
    ['silent', []],
  ] as const)('at level %s writes %j', async (level, ids) => {
    const file = join(dir, 'decisions.log');
    const { log } = open({ file, level });
    log.write(allow(1));
    log.write(deny(2));
    log.write(dryRun(3));
    log.write(entry(4, { decision: 'deny', reason: 'INTERNAL_ERROR' }));
    await log.flush();
    const lines = ids.length === 0 ? [] : readLines(file);
    expect(lines.map((l) => l.decision_id)).toEqual(ids);
  });

  it('does no I/O inside write(): the line reaches the file only after the event loop turns', async () => {
    const file = join(dir, 'decisions.log');
    writeFileSync(file, '');
    const { log } = open({ file });
    for (let i = 0; i < 100; i++) log.write(allow(i));
    expect(statSync(file).size).toBe(0);
    expect(log.pending()).toBe(100);
    await log.flush();
    expect(log.pending()).toBe(0);
    expect(readLines(file)).toHaveLength(100);
  });

  it('a failing sink drops and counts instead of throwing', async () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, 'x');
    const errors: unknown[] = [];
    const { log, drops } = open({ file: join(notADir, 'decisions.log'), onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) expect(() => log.write(allow(i))).not.toThrow();
    await until(() => errors.length === 1 && drops() === 10, 'the sink error and 10 drops');
    log.write(allow(11));
    await until(() => drops() === 11, 'the drop after failure');
    await expect(log.flush()).resolves.toBeUndefined();
  });
});

describe('logFileProblem (checked at start)', () => {
  it.each([
    ['a new file in an existing directory', () => join(dir, 'd.log'), null],
    ['a new file in directories still to create', () => join(dir, 'a', 'b', 'd.log'), null],
    ['an existing file', () => (writeFileSync(join(dir, 'old.log'), 'x\n'), join(dir, 'old.log')), null],
    ['a device', () => '/dev/null', null],
    ['a FIFO (not opened: that could block)', () => (execFileSync('mkfifo', [join(dir, 'p')]), join(dir, 'p')), null],
    ['a directory', () => dir, 'is a directory'],
    ['a path under a regular file', () => (writeFileSync(join(dir, 'f'), ''), join(dir, 'f', 'd.log')), 'cannot be written (ENOTDIR)'],
  ])('%s', (_n, file, problem) => {
    expect(logFileProblem(file())).toBe(problem);
  });
});

describe('decision log batching', () => {
  // Fake timers make "within 10 ms" and "at the next turn" exact; the file writes (fs
  // callbacks, not timers) stay real.
  afterEach(() => {
    vi.useRealTimers();
  });

  function openWithFakeTimers(): { file: string; log: DecisionLog } {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    const file = join(dir, 'decisions.log');
    return { file, log: open({ file }).log };
  }

  it('holds a few lines up to 10 ms and then writes them together, without a flush', async () => {
    const { file, log } = openWithFakeTimers();
    for (let i = 0; i < 5; i++) log.write(allow(i));
    await vi.advanceTimersByTimeAsync(9);
    expect(log.pending()).toBe(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(log.pending()).toBe(0);
    vi.useRealTimers();
    // sonic-boom opens the file asynchronously: it may not exist yet.
    await until(() => existsSync(file) && readLines(file).length === 5, 'the batch to reach the file');
    expect(readLines(file).map((l) => l.decision_id)).toEqual(['d-0', 'd-1', 'd-2', 'd-3', 'd-4']);
  });

  it('drains at the next turn once 64 lines wait, and at once on flush', async () => {
    const { file, log } = openWithFakeTimers();
    for (let i = 0; i < 63; i++) log.write(allow(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(log.pending()).toBe(63);
    log.write(allow(63));
    await vi.advanceTimersByTimeAsync(0);
    expect(log.pending()).toBe(0);
    log.write(allow(64));
    const flushed = log.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(log.pending()).toBe(0);
    vi.useRealTimers();
    await flushed;
    expect(readLines(file)).toHaveLength(65);
  });
});

describe('decision log with a blocked sink (a FIFO nobody reads)', () => {
  function blockedFifo(): { fifo: string; idleReader: number } {
    const fifo = join(dir, 'sink.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader that never reads: the writer's open succeeds and the pipe fills (64 KiB).
    const idleReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    return { fifo, idleReader };
  }

  /** Waits until the drain loop is stuck: pending stops moving for a while. */
  async function untilStuck(log: DecisionLog): Promise<void> {
    let last = -1;
    let stable = 0;
    await until(() => {
      const p = log.pending();
      stable = p === last && p > 0 ? stable + 1 : 0;
      last = p;
      return stable >= 10;
    }, 'the sink to block');
  }

  function drainFifo(fifo: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      createReadStream(fifo)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        .on('error', reject);
    });
  }

  it('drops beyond the buffer and counts the drops, and every accepted line arrives after unblocking', async () => {
    const { fifo, idleReader } = blockedFifo();
    const { log, drops } = open({ file: fifo, bufferLimit: 500 });
    // Feed in batches until the pipe (64 KiB) and the sink's in-flight bytes (1 MiB) are full.
    let i = 0;
    while (log.pending() < 400 && i < 4000) {
      for (const end = i + 100; i < end; i++) log.write(allow(i));
      await new Promise((r) => setImmediate(r));
    }
    await untilStuck(log);
    expect(drops()).toBe(0);
    const written = i;
    for (; i < written + 5000; i++) log.write(allow(i)); // must return at once: the sink is stuck
    expect(log.pending()).toBe(500);
    await until(() => drops() > 0, 'drop report');
    const received = drainFifo(fifo);
    await log.close();
    closeSync(idleReader);
    const lines = (await received).split('\n').filter((l) => l !== '');
    expect(lines.length + drops()).toBe(i);
    expect(drops()).toBeGreaterThan(4000);
    // order is kept, and what was dropped is the newest, not random lines
    const ids = lines.map((l) => Number((JSON.parse(l) as { decision_id: string }).decision_id.slice(2)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('close(timeoutMs) gives up on a sink that stays blocked, counting every line it loses', async () => {
    const { fifo, idleReader } = blockedFifo();
    const { log, drops } = open({ file: fifo, bufferLimit: 20_000 });
    for (let i = 0; i < 3000; i++) log.write(allow(i));
    await untilStuck(log);
    const t0 = Date.now();
    await log.close(300);
    expect(Date.now() - t0).toBeLessThan(2000);
    await until(() => drops() > 0, 'drop report');
    // No line is lost uncounted. A write already handed to the OS when the sink was given
    // up may still complete once the reader drains the pipe, so its lines can be both
    // received and counted: the count errs on the side of reporting loss.
    const received = drainFifo(fifo);
    closeSync(idleReader);
    const lines = (await received).split('\n').filter((l) => l !== '');
    expect(lines.length + drops()).toBeGreaterThanOrEqual(3000);
    expect(lines.length).toBeLessThan(3000);
    expect(drops()).toBeGreaterThan(1000);
  });

  it('loses nothing when the buffer is big enough for the stall', async () => {
    const { fifo, idleReader } = blockedFifo();
    const { log, drops } = open({ file: fifo, bufferLimit: 20_000, chain: true });
    for (let i = 0; i < 3000; i++) log.write(allow(i));
    await untilStuck(log);
    expect(log.pending()).toBeGreaterThan(1000);
    const received = drainFifo(fifo);
    await log.close();
    closeSync(idleReader);
    const lines = (await received).split('\n').filter((l) => l !== '');
    expect(drops()).toBe(0);
    expect(lines).toHaveLength(3000);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
  });
});
