/**
 * The decision-log sink (SPEC section 7): one JSON line per decision, written off the
 * request path. write() only puts the entry into a bounded ring buffer and, at most once
 * per burst, schedules a drain (within COALESCE_MS); the drain serialises the waiting lines
 * and hands them to sonic-boom (pino's asynchronous destination) in one write. When the
 * sink is slow or blocked, sonic-boom's buffer fills past SINK_HIGH_BYTES, the drain stops,
 * the ring fills, and further entries are dropped and counted through onDrop: a decision
 * is never delayed or failed by logging. close() is bounded too: what a blocked sink has
 * not taken by then is dropped and counted, so shutdown never waits on a log collector.
 *
 * Lines are serialised here with JSON.stringify rather than through a pino logger: pino
 * always prefixes a level key (a level formatter returning {} yields the invalid `{,`), and
 * the hash chain needs the exact bytes of each line, which we then know.
 *
 * sonic-boom is used directly, not through pino.destination(): that one registers a
 * process-exit hook calling flushSync(), which retries a failed write forever (ENOSPC on a
 * full disk, EAGAIN on a pipe nobody reads), so the process hung at exit instead of ending.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import sonicBoom from 'sonic-boom';
import type { LogLevel } from '../config/config.js';
import type { Decision, RequestFacts } from '../decision/types.js';
import type { TokenVerdict } from '../tokens/types.js';
import { decisionToLogEntry, type DecisionLogEntry } from './entry.js';
import { chainLine, GENESIS_HASH, hashLine, readChainHead, type ChainHead } from './chain.js';

// A CommonJS module whose class is module.exports itself (and its own .SonicBoom).
const { SonicBoom } = sonicBoom;

export interface DecisionLogOptions {
  readonly destination: 'stdout' | { readonly file: string };
  /**
   * Which decisions are written: trace/debug/info write every decision; warn writes
   * denials and dry-run would-denies; error/fatal only INTERNAL_ERROR; silent none.
   */
  readonly level: LogLevel;
  readonly chain: boolean;
  /** Entries held while the sink is busy; beyond it entries are dropped. Default 10,000. */
  readonly bufferLimit?: number;
  /** Called (off the request path) with the number of entries just dropped. */
  readonly onDrop: (n: number) => void;
  /** Called once when the sink fails (e.g. EPIPE, ENOSPC); from then on entries are dropped. */
  readonly onError?: (err: unknown) => void;
}

export interface DecisionLog {
  /** O(1), no I/O, never throws. */
  write(entry: DecisionLogEntry): void;
  /**
   * Same as write(decisionToLogEntry(...)), but the entry is built in the drain, off the
   * request's tick (the inputs are immutable). O(1), no allocation, never throws.
   */
  writeDecision(decision: Decision, facts: RequestFacts | null, token: TokenVerdict | null, durationUs: number, nowMs: number): void;
  /** Resolves once every accepted entry has reached the file descriptor. */
  flush(): Promise<void>;
  /**
   * Stops accepting entries, flushes, and closes a file sink. Waits at most `timeoutMs`:
   * lines the sink has not taken by then are dropped and counted (onDrop).
   */
  close(timeoutMs?: number): Promise<void>;
  /** The last chained line written (seq 0 and the genesis hash before the first or without chaining). */
  head(): ChainHead;
  /** Entries waiting in the ring buffer. */
  pending(): number;
}

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity,
};
const INFO = 30;
const WARN = 40;
const ERROR = 50;

/**
 * Bytes we let sonic-boom hold before pausing the drain, and the level at which it resumes.
 * sonic-boom's own high-water mark (16 KiB) would pause after ~17 lines and wait for a full
 * thread-pool round trip each time; measured on /dev/null that capped the drain near 30k
 * lines/s under load. With 1 MiB in flight it writes 16 KiB chunks back to back.
 */
const SINK_HIGH_BYTES = 1024 * 1024;
const SINK_LOW_BYTES = 256 * 1024;

/** Entries serialised per drain turn before yielding to the event loop (keeps Check latency flat). */
const DRAIN_BATCH = 256;

/**
 * A few waiting entries are drained together after at most COALESCE_MS, a burst of
 * COALESCE_LINES or more at once; each drain hands its lines to sonic-boom in one write.
 * Drained per event-loop turn, every decision at 2,000/s was a write of its own (a thread-pool
 * round trip, a wake-up): the log's write path was the largest cost mandate's server added to
 * the allow-all floor's.
 */
const COALESCE_MS = 10;
const COALESCE_LINES = 64;
const DEFAULT_BUFFER_LIMIT = 10_000;

function levelOf(decision: 'allow' | 'deny', reason: string, wouldDeny: string | null): number {
  if (reason === 'INTERNAL_ERROR') return ERROR;
  if (decision === 'deny' || wouldDeny !== null) return WARN;
  return INFO;
}

/** One ring slot, allocated at start and reused: either a ready entry or a deferred decision. */
interface Slot {
  entry: DecisionLogEntry | null;
  decision: Decision | null;
  facts: RequestFacts | null;
  token: TokenVerdict | null;
  durationUs: number;
  nowMs: number;
}

function newSlot(): Slot {
  return { entry: null, decision: null, facts: null, token: null, durationUs: 0, nowMs: 0 };
}

/** Lets go of what the slot holds, so a drained or discarded entry can be collected. */
function clearSlot(slot: Slot): void {
  slot.entry = null;
  slot.decision = null;
  slot.facts = null;
  slot.token = null;
}

function takeEntry(slot: Slot): DecisionLogEntry {
  const entry = slot.entry ?? decisionToLogEntry(slot.decision as Decision, slot.facts, slot.token, slot.durationUs, slot.nowMs);
  clearSlot(slot);
  return entry;
}

/**
 * Why `file` cannot take the decision log, or null when it can (checked at start, so a
 * mistyped --log-file is a configuration error, not a server that loses every line). No
 * side effects: missing directories are created later by the sink. A FIFO or device is
 * taken as it is (opening one to test it could block).
 */
export function logFileProblem(file: string): string | null {
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    if (st !== undefined) {
      if (st.isDirectory()) return 'is a directory';
      if (st.isFile()) accessSync(file, constants.W_OK);
      return null;
    }
    // The nearest existing ancestor must be a directory the sink can create the rest in.
    let dir = path.dirname(path.resolve(file));
    for (;;) {
      const d = statSync(dir, { throwIfNoEntry: false });
      if (d !== undefined) {
        if (!d.isDirectory()) return `${dir} is not a directory`;
        accessSync(dir, constants.W_OK);
        return null;
      }
      const up = path.dirname(dir);
      if (up === dir) return 'no existing directory above it';
      dir = up;
    }
  } catch (err) {
    return `cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

/** Whether `p` settles before the epoch-ms deadline (Infinity: waits for it). */
function withinDeadline(p: Promise<void>, deadline: number): Promise<boolean> {
  if (deadline === Infinity) return p.then(() => true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function createDecisionLog(opts: DecisionLogOptions): DecisionLog {
  // No decision line is more severe than error (INTERNAL_ERROR); at fatal those are still
  // written (docs/observability.md), so fatal filters decisions like error.
  const threshold = Math.min(LEVEL_RANK[opts.level] ?? INFO, opts.level === 'fatal' ? ERROR : Infinity);
  const capacity = Math.max(1, Math.floor(opts.bufferLimit ?? DEFAULT_BUFFER_LIMIT));
  const ring: Slot[] = Array.from({ length: capacity }, newSlot);
  let head = 0; // next to drain
  let count = 0;

  const filePath = opts.destination === 'stdout' ? null : opts.destination.file;

  let seq = 0;
  let prevHash = GENESIS_HASH;
  let leadingNewline = false;
  if (opts.chain && filePath !== null) {
    const h = readChainHead(filePath);
    seq = h.seq;
    prevHash = h.hash;
    leadingNewline = h.needsNewline;
  }

  const sink = filePath !== null
    ? new SonicBoom({ dest: filePath, sync: false, mkdir: true, append: true })
    : new SonicBoom({ fd: 1, sync: false });

  let blocked = false; // sonic-boom holds SINK_HIGH_BYTES or more
  let failed = false;
  let closed = false;
  let drainScheduled = false;
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  let pendingBytes = 0; // handed to sonic-boom, not yet written
  // End offsets (in bytes handed over) of the lines sonic-boom still holds, so a sink failure
  // can count exactly the lines it lost.
  let handedBytes = 0;
  let writtenBytes = 0;
  let lineEnds: number[] = [];
  let lineEndsHead = 0;
  let dropped = 0; // not yet reported
  let dropReportScheduled = false;
  let flushWaiters: (() => void)[] = [];

  const reportDrops = (): void => {
    dropReportScheduled = false;
    const n = dropped;
    dropped = 0;
    if (n > 0) {
      try {
        opts.onDrop(n);
      } catch {
        // a failing counter must not break logging
      }
    }
  };

  const drop = (n: number): void => {
    dropped += n;
    if (!dropReportScheduled) {
      dropReportScheduled = true;
      setImmediate(reportDrops);
    }
  };

  const settleFlushWaiters = (): void => {
    if (flushWaiters.length === 0) return;
    if (failed || (count === 0 && pendingBytes <= 0)) {
      const waiters = flushWaiters;
      flushWaiters = [];
      for (const w of waiters) w();
    }
  };

  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    drop(count + (lineEnds.length - lineEndsHead));
    lineEnds = [];
    lineEndsHead = 0;
    while (count > 0) {
      clearSlot(ring[head] as Slot);
      head = head + 1 === capacity ? 0 : head + 1;
      count--;
    }
    try {
      opts.onError?.(err);
    } catch {
      // ignore
    }
    settleFlushWaiters();
  };

  const serialise = (entry: DecisionLogEntry): string => {
    let line = JSON.stringify(entry);
    if (opts.chain) {
      seq++;
      line = chainLine(line, seq, prevHash);
      prevHash = hashLine(line);
    }
    return line;
  };

  const drain = (): void => {
    // scheduleDrain keeps one drain pending, so the timer (if any) is the one now firing.
    drainScheduled = false;
    drainTimer = null;
    let n = 0;
    let batch = '';
    let batchBytes = 0;
    while (count > 0 && !blocked && !failed && n < DRAIN_BATCH && pendingBytes + batchBytes < SINK_HIGH_BYTES) {
      const slot = ring[head] as Slot;
      head = head + 1 === capacity ? 0 : head + 1;
      count--;
      n++;
      let text: string;
      try {
        text = serialise(takeEntry(slot)) + '\n';
      } catch {
        // Unserialisable entry (a bug upstream): count it, keep the log going.
        drop(1);
        continue;
      }
      if (leadingNewline) {
        text = '\n' + text;
        leadingNewline = false;
      }
      const bytes = Buffer.byteLength(text);
      batchBytes += bytes;
      handedBytes += bytes;
      lineEnds.push(handedBytes);
      batch += text;
    }
    if (batch !== '') {
      pendingBytes += batchBytes;
      try {
        sink.write(batch);
      } catch (err) {
        fail(err);
      }
      if (pendingBytes >= SINK_HIGH_BYTES) blocked = true;
    }
    if (count > 0 && !blocked && !failed) scheduleDrain(true);
    settleFlushWaiters();
  };

  /** Drains at the next turn when `now`, else within COALESCE_MS; one drain is pending at a time. */
  function scheduleDrain(now: boolean): void {
    if (drainScheduled && (!now || drainTimer === null)) return;
    if (drainTimer !== null) {
      clearTimeout(drainTimer);
      drainTimer = null;
    }
    drainScheduled = true;
    if (now) setImmediate(drain);
    else drainTimer = setTimeout(drain, COALESCE_MS);
  }

  sink.on('write', (n: number) => {
    pendingBytes -= n;
    writtenBytes += n;
    while (lineEndsHead < lineEnds.length && (lineEnds[lineEndsHead] as number) <= writtenBytes) lineEndsHead++;
    if (lineEndsHead > 1024 && lineEndsHead * 2 > lineEnds.length) {
      lineEnds = lineEnds.slice(lineEndsHead);
      lineEndsHead = 0;
    }
    if (blocked && pendingBytes <= SINK_LOW_BYTES) {
      blocked = false;
      if (count > 0) scheduleDrain(true);
    }
    settleFlushWaiters();
  });
  sink.on('drain', () => {
    blocked = false;
    if (count > 0) scheduleDrain(true);
    settleFlushWaiters();
  });
  sink.on('error', fail);

  /** The slot to fill, or null when the entry is filtered out or dropped. */
  const reserve = (level: number): Slot | null => {
    if (level < threshold) return null;
    if (closed || failed || count === capacity) {
      drop(1);
      return null;
    }
    let tail = head + count;
    if (tail >= capacity) tail -= capacity;
    count++;
    if (!blocked) scheduleDrain(count >= COALESCE_LINES);
    return ring[tail] as Slot;
  };

  const write = (entry: DecisionLogEntry): void => {
    const slot = reserve(levelOf(entry.decision, entry.reason, entry.would_deny));
    if (slot !== null) slot.entry = entry;
  };

  const writeDecision = (decision: Decision, facts: RequestFacts | null, token: TokenVerdict | null, durationUs: number, nowMs: number): void => {
    const slot = reserve(levelOf(decision.decision, decision.reason, decision.wouldDeny));
    if (slot === null) return;
    slot.decision = decision;
    slot.facts = facts;
    slot.token = token;
    slot.durationUs = durationUs;
    slot.nowMs = nowMs;
  };

  const flush = (): Promise<void> =>
    new Promise<void>((resolve) => {
      flushWaiters.push(resolve);
      if (count > 0 && !blocked) scheduleDrain(true);
      settleFlushWaiters();
    });

  let closing: Promise<void> | null = null;
  const close = (timeoutMs = Infinity): Promise<void> => {
    if (closing !== null) return closing;
    closing = (async () => {
      const deadline = Date.now() + timeoutMs;
      const flushed = await withinDeadline(flush(), deadline);
      if (!flushed) {
        // The sink did not take everything in time: give up on it rather than hold the
        // process, and count what is lost (the ring and what sonic-boom still holds).
        fail(new Error('decision-log sink still busy at close'));
        closed = true;
        reportDrops();
        try {
          sink.destroy();
        } catch {
          // already closed
        }
        return;
      }
      closed = true;
      if (dropReportScheduled) reportDrops();
      if (filePath === null || failed) return;
      await withinDeadline(
        new Promise<void>((resolve) => {
          sink.once('close', () => resolve());
          sink.once('error', () => resolve());
          try {
            sink.end();
          } catch {
            resolve();
          }
        }),
        deadline,
      );
    })();
    return closing;
  };

  return {
    write,
    writeDecision,
    flush,
    close,
    head: () => ({ seq, hash: prevHash }),
    pending: () => count,
  };
}
