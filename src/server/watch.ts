/**
 * Notices changes to policy files and directories (SPEC section 7, Reload) and calls
 * onChange once per burst of changes, within 2 s.
 *
 * Two detectors feed one debounced check:
 * - fs.watch on directories (never on file inodes, which editors' rename-and-replace and
 *   Kubernetes' `..data` symlink swap leave behind): fast, but may miss or drop events;
 * - a fingerprint poll (default every 500 ms) of what the loader reads: each policy file's
 *   identity, size, mtime, ctime and symlink text, with symlinks followed, so a ConfigMap
 *   swap (same link text, new target) and a retargeted symlink both change it.
 * onChange fires only when the fingerprint differs from the one at the last firing, so an
 * event storm from one save, or events on files the loader ignores, cause no reload storm.
 * Nothing here throws: a vanished path is a change, an unwatchable directory is left to the poll.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isPolicyFileName } from '../policy/load.js';

export interface WatchOptions {
  /** Quiet time after the last event before checking (default 150 ms). */
  readonly debounceMs?: number;
  /** Longest a burst of events may postpone the check (default 1000 ms). */
  readonly maxWaitMs?: number;
  /** Fingerprint poll interval (default 500 ms). */
  readonly pollMs?: number;
  /** Called when onChange throws or rejects. */
  readonly onError?: (err: unknown) => void;
  /** Called after every fingerprint computation (diagnostics and tests). */
  readonly onCheck?: () => void;
}

export interface PolicyWatcher {
  /** Resolves once the initial fingerprint is taken and the directories are watched. */
  readonly ready: Promise<void>;
  close(): void;
}

/** Bounds on the fingerprint walk: entries listed, and directory depth (symlink loops). */
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 32;

interface Fingerprint {
  readonly text: string;
  readonly dirs: readonly string[];
}

async function fingerprint(paths: readonly string[]): Promise<Fingerprint> {
  const parts: string[] = [];
  const dirs = new Set<string>();
  const seenDirs = new Set<string>();

  const visit = async (p: string, top: boolean, depth: number): Promise<void> => {
    if (parts.length >= MAX_ENTRIES) return;
    let l;
    try {
      l = await lstat(p);
    } catch {
      parts.push(`${p}|missing`);
      if (top) dirs.add(dirname(p));
      return;
    }
    let link = '';
    let st = l;
    if (l.isSymbolicLink()) {
      link = await readlink(p).catch(() => '?');
      try {
        st = await stat(p);
      } catch {
        parts.push(`${p}|dangling|${link}`);
        if (top) dirs.add(dirname(p));
        return;
      }
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      parts.push(`${p}|d|${id}|${link}`);
      dirs.add(p);
      if (top) dirs.add(dirname(p)); // the directory itself may be replaced or removed
      if (seenDirs.has(id) || depth >= MAX_DEPTH) return; // symlink loop
      seenDirs.add(id);
      let names: string[];
      try {
        names = await readdir(p);
      } catch {
        parts.push(`${p}|unreadable`);
        return;
      }
      names.sort();
      for (const name of names) {
        if (name.startsWith('.')) continue; // what the loader skips (ConfigMap ..data, ..2026_x)
        await visit(join(p, name), false, depth + 1);
      }
      return;
    }
    if (!top && !isPolicyFileName(p)) return;
    parts.push(`${p}|f|${l.ino}|${link}|${st.dev}:${st.ino}|${st.size}|${st.mtimeMs}|${st.ctimeMs}`);
    if (top) {
      dirs.add(dirname(p));
      if (link !== '') {
        const real = await realpath(p).catch(() => null);
        if (real !== null) dirs.add(dirname(real));
      }
    }
  };

  for (const p of paths) await visit(p, true, 0);
  return { text: parts.join('\n'), dirs: [...dirs].sort() };
}

export function watchPolicyPaths(paths: readonly string[], onChange: () => void, opts: WatchOptions = {}): PolicyWatcher {
  const debounceMs = opts.debounceMs ?? 150;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const pollMs = opts.pollMs ?? 500;
  const list = [...paths];

  let closed = false;
  let lastFired: string | null = null; // fingerprint at start or at the last firing
  let watchedKey = '';
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | null = null;
  let firstKick = 0;
  let busy = false;
  let settleAgain = false;

  const report = (err: unknown): void => {
    try {
      opts.onError?.(err);
    } catch {
      // nothing left to tell
    }
  };

  const fire = (): void => {
    try {
      const r = onChange() as unknown;
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, report);
      }
    } catch (err) {
      report(err);
    }
  };

  const unwatchAll = (): void => {
    for (const w of watchers.values()) {
      try {
        w.close();
      } catch {
        // already closed
      }
    }
    watchers.clear();
    watchedKey = '';
  };

  const rewatch = (dirs: readonly string[], force: boolean): void => {
    const key = dirs.join('\n');
    if (!force && key === watchedKey) return;
    unwatchAll();
    watchedKey = key;
    for (const d of dirs) {
      try {
        const w = watch(d, { persistent: false }, () => kick());
        w.on('error', () => {
          // e.g. the directory was removed: forget it; the poll notices and rewatches
          try {
            w.close();
          } catch {
            // ignore
          }
          watchers.delete(d);
          watchedKey = '';
        });
        watchers.set(d, w);
      } catch {
        // missing or unwatchable: the poll covers it
      }
    }
  };

  /** mode 'settle' fires on a difference; 'poll' only schedules a settle. */
  const check = async (mode: 'poll' | 'settle'): Promise<void> => {
    if (closed) return;
    if (busy) {
      if (mode === 'settle') settleAgain = true;
      return;
    }
    busy = true;
    let fp: Fingerprint | null = null;
    try {
      fp = await fingerprint(list);
    } catch (err) {
      report(err);
    }
    busy = false;
    if (closed) return;
    if (fp !== null) {
      if (lastFired === null) {
        lastFired = fp.text;
        rewatch(fp.dirs, true);
      } else if (fp.text !== lastFired) {
        if (mode === 'settle') {
          lastFired = fp.text;
          // Directories may have been replaced: watch the new inodes.
          rewatch(fp.dirs, true);
          fire();
        } else {
          kick();
        }
      } else {
        rewatch(fp.dirs, false);
      }
    }
    try {
      opts.onCheck?.();
    } catch {
      // diagnostics only
    }
    if (settleAgain) {
      settleAgain = false;
      void check('settle');
    }
  };

  function kick(): void {
    if (closed) return;
    const now = Date.now();
    if (timer === null) firstKick = now;
    else clearTimeout(timer);
    const delay = Math.max(0, Math.min(debounceMs, firstKick + maxWaitMs - now));
    timer = setTimeout(() => {
      timer = null;
      void check('settle');
    }, delay);
    timer.unref();
  }

  const ready = check('poll');
  const poller = setInterval(() => {
    if (timer === null) void check('poll');
  }, pollMs);
  poller.unref();

  return {
    ready,
    close() {
      closed = true;
      clearInterval(poller);
      if (timer !== null) clearTimeout(timer);
      timer = null;
      unwatchAll();
    },
  };
}
