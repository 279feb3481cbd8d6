/**
 * Hash chaining of decision-log lines (`--audit-chain`) and its verification.
 *
 * Each chained line ends with `"seq":N,"prev_hash":"<hex>"`, where prev_hash is the sha256 of
 * the previous line's exact bytes (without its newline) and the first line of a chain carries
 * GENESIS_HASH with seq 1. seq makes a deleted line distinguishable from an edited one.
 * A chain without a key detects accidental damage and naive edits, not an attacker who
 * rewrites every later line: anchor the head hash elsewhere (docs/observability.md).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** prev_hash of the first line of a chain: sha256 of nothing-before, written as 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  /** seq of the last line written (0 before the first). */
  readonly seq: number;
  /** sha256 hex of the last line's bytes (GENESIS_HASH before the first). */
  readonly hash: string;
}

export function hashLine(line: string | Uint8Array): string {
  return createHash('sha256').update(line).digest('hex');
}

/** Appends the chain fields to a serialised JSON object (`{…}` without newline). */
export function chainLine(json: string, seq: number, prevHash: string): string {
  return `${json.slice(0, -1)},"seq":${seq},"prev_hash":"${prevHash}"}`;
}

const TAIL_BYTES = 256 * 1024;

/**
 * Where a chained log file left off, so a restarted server continues its chain instead of
 * starting a second one in the same file. Sync I/O: called once at setup. Returns the
 * genesis head for a missing or empty file or one whose last line is not chained, and
 * `needsNewline` when the file ends mid-line (a crash during a write).
 */
export function readChainHead(file: string): ChainHead & { readonly needsNewline: boolean } {
  const genesis = { seq: 0, hash: GENESIS_HASH, needsNewline: false };
  let fd: number;
  try {
    // Only a regular file has a tail to read (opening a FIFO for reading would block).
    if (!statSync(file).isFile()) return genesis;
    fd = openSync(file, 'r');
  } catch {
    return genesis;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return genesis;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const endsWithNewline = buf[len - 1] === 0x0a;
    const end = endsWithNewline ? len - 1 : len;
    const start = buf.lastIndexOf(0x0a, end - 1) + 1;
    if (start === 0 && len < size) return { ...genesis, needsNewline: !endsWithNewline }; // line longer than the tail
    const last = buf.subarray(start, end);
    const hash = hashLine(last);
    let seq = 0;
    try {
      const parsed = JSON.parse(last.toString('utf8')) as { seq?: unknown };
      if (typeof parsed.seq === 'number' && Number.isSafeInteger(parsed.seq) && parsed.seq > 0) seq = parsed.seq;
    } catch {
      // not JSON: a partial or foreign line; the chain restarts after it
    }
    if (seq === 0) return { ...genesis, needsNewline: !endsWithNewline };
    return { seq, hash, needsNewline: !endsWithNewline };
  } finally {
    closeSync(fd);
  }
}

export interface VerifyOptions {
  /** Expected prev_hash of the first line (the last hash of the previous, rotated file). */
  readonly anchor?: string | null;
  /** Accept a new chain (seq 1, genesis prev_hash) in the middle: one per process start on stdout. */
  readonly allowRestarts?: boolean;
}

export type VerifyResult =
  | { readonly ok: true; readonly lines: number; readonly firstSeq: number; readonly lastSeq: number; readonly lastHash: string; readonly chains: number }
  | { readonly ok: false; readonly line: number; readonly message: string };

/**
 * Incremental verifier: feed it the file's bytes in chunks, then call end(). Lines are split
 * on 0x0a and hashed as raw bytes, so no decoding can change what is compared.
 */
export class ChainVerifier {
  private readonly anchor: string | null;
  private readonly allowRestarts: boolean;
  private pending: Buffer[] = [];
  private lineNo = 0;
  private prevHash: string | null = null;
  private prevSeq = 0;
  private firstSeq = 0;
  private chains = 0;
  private failure: { line: number; message: string } | null = null;

  constructor(opts: VerifyOptions = {}) {
    this.anchor = opts.anchor ?? null;
    this.allowRestarts = opts.allowRestarts ?? false;
  }

  /** Returns false once a failure was found (the caller may stop reading). */
  push(chunk: Buffer): boolean {
    if (this.failure !== null) return false;
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl === -1) break;
      const part = chunk.subarray(from, nl);
      const line = this.pending.length === 0 ? part : Buffer.concat([...this.pending, part]);
      this.pending = [];
      this.checkLine(line);
      if (this.failure !== null) return false;
      from = nl + 1;
    }
    if (from < chunk.length) this.pending.push(Buffer.from(chunk.subarray(from)));
    return true;
  }

  end(): VerifyResult {
    if (this.failure === null && this.pending.length > 0) {
      const line = Buffer.concat(this.pending);
      this.pending = [];
      this.checkLine(line);
    }
    if (this.failure !== null) return { ok: false, ...this.failure };
    if (this.lineNo === 0) {
      return { ok: true, lines: 0, firstSeq: 0, lastSeq: 0, lastHash: this.anchor ?? GENESIS_HASH, chains: 0 };
    }
    return {
      ok: true,
      lines: this.lineNo,
      firstSeq: this.firstSeq,
      lastSeq: this.prevSeq,
      lastHash: this.prevHash ?? GENESIS_HASH,
      chains: this.chains,
    };
  }

  private fail(line: number, message: string): void {
    this.failure = { line, message };
  }

  private checkLine(bytes: Buffer): void {
    const n = ++this.lineNo;
    if (bytes.length === 0) return this.fail(n, 'empty line');
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.fail(n, 'not valid JSON (damaged or truncated line)');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return this.fail(n, 'not a JSON object');
    }
    const { seq, prev_hash: prev } = parsed as { seq?: unknown; prev_hash?: unknown };
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof prev !== 'string' || !/^[0-9a-f]{64}$/.test(prev)) {
      return this.fail(n, 'no valid seq/prev_hash: not written with --audit-chain, or edited');
    }
    if (n === 1) {
      if (this.anchor !== null) {
        if (prev !== this.anchor) return this.fail(n, `prev_hash does not match the anchor ${this.anchor}`);
      } else if (prev !== GENESIS_HASH) {
        return this.fail(n, `the chain does not start here (seq ${seq}, prev_hash is not genesis): earlier lines are missing; pass --anchor with the previous file's last hash`);
      } else if (seq !== 1) {
        return this.fail(n, `genesis line has seq ${seq}, expected 1`);
      }
      this.firstSeq = seq;
      this.chains = 1;
    } else if (this.allowRestarts && seq === 1 && prev === GENESIS_HASH) {
      this.chains++;
    } else if (seq !== this.prevSeq + 1) {
      if (seq > this.prevSeq + 1) {
        const missing = seq - this.prevSeq - 1;
        return this.fail(n, `seq ${seq} follows seq ${this.prevSeq}: ${missing} line${missing === 1 ? '' : 's'} missing before this line`);
      }
      return this.fail(n, `seq ${seq} follows seq ${this.prevSeq}: duplicated, reordered or restarted chain`);
    } else if (prev !== this.prevHash) {
      return this.fail(n - 1, `edited: its sha256 does not match the prev_hash recorded on line ${n}`);
    }
    this.prevSeq = seq;
    this.prevHash = hashLine(bytes);
  }
}
