/**
 * Decision-log reading: one JSON object per line (SPEC section 7, plus the extras the
 * server writes for replay and explain), plain or gzip, streamed so any size fits.
 * Tolerant by design: a missing extra is null, a line that is not a decision (pino's own
 * messages, garbage) is counted and skipped, never fatal.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export interface LogEntry {
  readonly file: string;
  /** 1-based line number in the (decompressed) file. */
  readonly line: number;
  /** Epoch milliseconds; null when the line has no usable time. */
  readonly time: number | null;
  readonly decisionId: string | null;
  readonly requestId: string | null;
  readonly decision: 'allow' | 'deny';
  readonly reason: string | null;
  readonly dryRun: boolean;
  readonly wouldDeny: string | null;
  readonly source: string | null;
  readonly identityVia: string | null;
  readonly target: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly function: string | null;
  readonly functionVia: string | null;
  readonly mandate: string | null;
  readonly owner: string | null;
  readonly purpose: string | null;
  readonly risk: string | null;
  readonly txn: string | null;
  readonly tokenSha256: string | null;
  readonly policyRevision: string | null;
  readonly durationUs: number | null;
  // Extras (any may be null).
  readonly host: string | null;
  readonly destination: string | null;
  readonly headerFunction: string | null;
  readonly routeFunction: string | null;
  readonly tokenScope: string | null;
  readonly tokenSub: string | null;
  readonly tokenIat: number | null;
  readonly tokenExp: number | null;
  readonly issuer: string | null;
  readonly action: number | null;
  readonly detail: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Largest epoch ms a Date can hold; beyond it toISOString() throws. */
const MAX_DATE_MS = 8.64e15;

/** ISO form of an epoch-ms value, null when it is not a representable date. */
export function isoTime(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return null;
  return new Date(ms).toISOString();
}

function timeOf(v: unknown): number | null {
  let t: number;
  if (typeof v === 'number') t = Math.abs(v) < 1e11 ? v * 1000 : v; // seconds or ms
  else if (typeof v === 'string') t = Date.parse(v);
  else return null;
  return Number.isFinite(t) && Math.abs(t) <= MAX_DATE_MS ? t : null;
}

/** One decision-log object to an entry; null when it is not a decision line. */
export function toLogEntry(o: Record<string, unknown>, file: string, line: number): LogEntry | null {
  const decision = o['decision'];
  if (decision !== 'allow' && decision !== 'deny') return null;
  return {
    file,
    line,
    time: timeOf(o['time']),
    decisionId: str(o['decision_id']),
    requestId: str(o['request_id']),
    decision,
    reason: str(o['reason']),
    dryRun: o['dry_run'] === true,
    wouldDeny: str(o['would_deny']),
    source: str(o['source']),
    identityVia: str(o['identity_via']),
    target: str(o['target']),
    method: str(o['method']),
    path: str(o['path']),
    function: str(o['function']),
    functionVia: str(o['function_via']),
    mandate: str(o['mandate']),
    owner: str(o['owner']),
    purpose: str(o['purpose']),
    risk: str(o['risk']),
    txn: str(o['txn']),
    tokenSha256: str(o['token_sha256']),
    policyRevision: str(o['policy_revision']),
    durationUs: num(o['duration_us']),
    host: str(o['host']),
    destination: str(o['destination']),
    headerFunction: str(o['header_function']),
    routeFunction: str(o['route_function']),
    tokenScope: str(o['token_scope']),
    tokenSub: str(o['token_sub']),
    tokenIat: num(o['token_iat']),
    tokenExp: num(o['token_exp']),
    issuer: str(o['issuer']),
    action: num(o['action']),
    detail: str(o['detail']),
  };
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === GZIP_MAGIC_0 && buf[1] === GZIP_MAGIC_1;
  } finally {
    await fh.close();
  }
}

export interface LogReadStats {
  lines: number;
  entries: number;
  /** Lines that were not JSON objects or not decisions. */
  skipped: number;
}

/**
 * Streams the decision entries of one file. Throws only when the file cannot be opened or
 * its gzip stream is corrupt (bad input for the command), never for a bad line.
 */
export async function* readLogFile(file: string, stats: LogReadStats): AsyncGenerator<LogEntry> {
  const gz = await isGzip(file);
  const raw = createReadStream(file);
  let input: Readable = raw;
  if (gz) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    input = raw.pipe(gunzip);
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      stats.lines++;
      if (text.length === 0 || text.charCodeAt(0) !== 0x7b /* { */) {
        if (text.trim().length > 0) stats.skipped++;
        continue;
      }
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch {
        stats.skipped++;
        continue;
      }
      const entry = o !== null && typeof o === 'object' && !Array.isArray(o) ? toLogEntry(o as Record<string, unknown>, file, line) : null;
      if (entry === null) {
        stats.skipped++;
        continue;
      }
      stats.entries++;
      yield entry;
    }
  } finally {
    rl.close();
    input.destroy();
    raw.destroy();
  }
}

export async function* readLogFiles(files: readonly string[], stats: LogReadStats): AsyncGenerator<LogEntry> {
  for (const f of files) yield* readLogFile(f, stats);
}

export function newLogStats(): LogReadStats {
  return { lines: 0, entries: 0, skipped: 0 };
}
