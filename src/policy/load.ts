/**
 * Policy paths → a validated PolicySet (SPEC section 2). Paths are files or directories;
 * directories are read recursively for *.yaml, *.yml and *.json, following symbolic links,
 * skipping entries whose name starts with "." (so a Kubernetes ConfigMap mount, whose
 * `..data` and `..2026_…` entries are dot-names, is read once, through its top-level links).
 * A file reached twice (two links, or a path given twice) is read once.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { compareText, diagnostic, fileStart, sortDiagnostics } from './diagnostics.js';
import type { Diagnostic, LoadResult, PolicySet } from './model.js';
import { Interner } from './interner.js';
import { parsePolicyText } from './parse.js';
import { combineFileResults, validatePolicyFile } from './validate.js';
import type { FileResult } from './validate.js';

/** One policy file's text, as loadPolicySet read it or as a test supplies it. */
export interface PolicyText {
  /** The name diagnostics use (the path as given, joined with the entry's path). */
  readonly name: string;
  readonly text: string;
  /**
   * The name the revision uses: relative to the directory that was given (for a file given
   * directly, its base name), so the same tree gives the same revision wherever it is
   * mounted. Defaults to `name`.
   */
  readonly revisionName?: string;
}

export interface LoadOptions {
  /** Relative paths are resolved against this directory; default process.cwd(). */
  readonly cwd?: string;
  /** Reuse the results of unchanged files from recent loads (default true). */
  readonly cache?: boolean;
  /** The most documents a load keeps for reuse by the next (default MAX_CACHED_DOCUMENTS). */
  readonly maxCachedDocuments?: number;
}

const POLICY_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Whether a directory entry is read as policy (by name: *.yaml, *.yml, *.json, any case). */
export function isPolicyFileName(name: string): boolean {
  return POLICY_EXTENSIONS.includes(path.extname(name).toLowerCase());
}
/** Larger files are refused: a policy estate of 100,000 mandates is about 40 MB in total. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * The revision: sha256 over the files sorted by revision name, each contributing
 * `name NUL byte-length NUL content`, as hex, first 16 characters. Identical trees give
 * identical revisions whatever their location or read order.
 */
export function policyRevision(files: readonly PolicyText[]): string {
  const sorted = [...files].sort((a, b) => compareText(a.revisionName ?? a.name, b.revisionName ?? b.name));
  const h = createHash('sha256');
  for (const f of sorted) {
    const bytes = Buffer.from(f.text, 'utf8');
    h.update(f.revisionName ?? f.name, 'utf8');
    h.update(`\0${bytes.length}\0`, 'utf8');
    h.update(bytes);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Per-file results of recent loads, keyed by file name and reused while the text is
 * unchanged. Parsing YAML dominates loading (about 0.25 ms of CPU per mandate document on
 * the shared 2-core box, most of it js-yaml's parser), so a reload after editing one file
 * of a large estate re-parses that file only. A result depends on (name, text) alone, so reuse
 * is exact (texts are compared by sha256). Two generations are kept: the files of the latest
 * load and of the one before.
 */
interface Cached {
  /** sha256 of the text: the texts themselves are not kept (at 100,000 mandates, ~40 MB). */
  readonly digest: string;
  readonly result: FileResult;
}
let currentGeneration = new Map<string, Cached>();
let previousGeneration = new Map<string, Cached>();

function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/**
 * Parses and checks one file. The `yaml` package reports its own failures (even a stack
 * overflow on absurd nesting) as errors; the catch is the last line of the loader's promise
 * never to throw, should any input still escape it.
 */
function checkFile(f: PolicyText, intern: Interner): FileResult {
  try {
    return validatePolicyFile(parsePolicyText(f.name, f.text), intern);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return Object.freeze({
      mandates: [],
      targets: [],
      diagnostics: [diagnostic(fileStart(f.name), 'YAML_SYNTAX', `the file could not be parsed: ${why}`)],
      names: [],
      subjects: [],
      matches: [],
    });
  }
}

/**
 * Documents the reuse cache may hold. Above this, a load keeps nothing for the next one:
 * the documents of a large estate cost several times its text in memory (about 140 MB
 * for 100,000 mandates), which is more than its compiled index and the whole server
 * together. A reload of such an estate re-parses every file, yielding to the event loop
 * after each one (see loadPolicySet).
 */
export const MAX_CACHED_DOCUMENTS = 20_000;

/** One load in progress: files are added one at a time, then the cross-file rules run. */
class Load {
  readonly sorted: readonly PolicyText[];
  private readonly generation = new Map<string, Cached>();
  // One interner for the whole load: a value repeated across files is kept once.
  private readonly intern = new Interner();
  private readonly results: FileResult[] = [];
  private documents = 0;

  constructor(
    files: readonly PolicyText[],
    private readonly cache: boolean,
    private readonly maxCached = MAX_CACHED_DOCUMENTS,
  ) {
    this.sorted = [...files].sort((a, b) => compareText(a.name, b.name));
  }

  /** Validates the next file of `sorted`; true when it was parsed (not reused). */
  addNext(): boolean {
    const f = this.sorted[this.results.length]!;
    const digest = this.cache ? digestOf(f.text) : null;
    const hit = digest === null ? undefined : (currentGeneration.get(f.name) ?? previousGeneration.get(f.name));
    const reused = hit !== undefined && hit.digest === digest;
    const result = reused ? hit.result : checkFile(f, this.intern);
    if (digest !== null) this.generation.set(f.name, { digest, result });
    this.documents += result.mandates.length + result.targets.length;
    this.results.push(result);
    return !reused;
  }

  get done(): boolean {
    return this.results.length === this.sorted.length;
  }

  finish(extra: readonly Diagnostic[]): LoadResult {
    if (this.cache) {
      const keep = this.documents <= this.maxCached;
      previousGeneration = keep ? currentGeneration : new Map();
      currentGeneration = keep ? this.generation : new Map();
    }
    const result = combineFileResults(this.results);
    const diagnostics = [...extra, ...result.diagnostics];
    if (diagnostics.length > 0) {
      return Object.freeze({ ok: false as const, diagnostics: Object.freeze(sortDiagnostics(diagnostics)) });
    }
    const set: PolicySet = Object.freeze({
      mandates: Object.freeze([...result.mandates]),
      targets: Object.freeze([...result.targets]),
      revision: policyRevision(this.sorted),
      files: Object.freeze(this.sorted.map((f) => f.name)),
    });
    return Object.freeze({ ok: true as const, set });
  }
}

/**
 * Validates texts already in memory; `extra` holds problems found while reading. With
 * `cache` (the default), results for unchanged (name, text) pairs are reused.
 */
export function parsePolicyTexts(files: readonly PolicyText[], extra: readonly Diagnostic[] = [], cache = true): LoadResult {
  const load = new Load(files, cache);
  while (!load.done) load.addNext();
  return load.finish(extra);
}

interface Found {
  readonly name: string;
  readonly revisionName: string;
  readonly abs: string;
  /** From the stat that found the file: checked against MAX_FILE_BYTES before reading. */
  readonly size: number;
}

function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory (or a broken symbolic link)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ? `cannot be read (${code})` : 'cannot be read';
  }
}

async function walk(dirAbs: string, dirName: string, relPrefix: string, visited: Set<string>, out: Found[], diags: Diagnostic[]): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dirAbs)).sort(compareText);
  } catch (err) {
    diags.push(diagnostic(fileStart(dirName), 'READ_ERROR', `directory ${errorText(err)}`));
    return;
  }
  for (const entry of names) {
    if (entry.startsWith('.')) continue;
    const abs = path.join(dirAbs, entry);
    const name = path.join(dirName, entry);
    const rel = relPrefix === '' ? entry : `${relPrefix}/${entry}`;
    let st;
    try {
      st = await stat(abs); // follows symbolic links
    } catch (err) {
      // A broken link or an unreadable entry could hide policy: report it rather than skip it,
      // unless its name says it is not a policy file anyway.
      if (isPolicyFileName(entry)) {
        diags.push(diagnostic(fileStart(name), 'READ_ERROR', errorText(err)));
      }
      continue;
    }
    if (st.isDirectory()) {
      let real: string;
      try {
        real = await realpath(abs);
      } catch (err) {
        diags.push(diagnostic(fileStart(name), 'READ_ERROR', `directory ${errorText(err)}`));
        continue;
      }
      if (visited.has(real)) continue; // a link cycle, or a directory already read via another link
      visited.add(real);
      await walk(abs, name, rel, visited, out, diags);
    } else if (st.isFile() && isPolicyFileName(entry)) {
      out.push({ name, revisionName: rel, abs, size: st.size });
    }
  }
}

/**
 * Reads, parses and validates every policy file under `paths`. Never throws: unreadable
 * paths are READ_ERROR diagnostics, a directory without policy files NO_POLICY_FILES.
 */
export async function loadPolicySet(paths: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const diags: Diagnostic[] = [];
  const found: Found[] = [];
  const visited = new Set<string>();
  if (paths.length === 0) {
    diags.push(diagnostic(fileStart('.'), 'NO_POLICY_FILES', 'no policy path was given'));
  }
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      diags.push(diagnostic(fileStart(given), 'READ_ERROR', errorText(err)));
      continue;
    }
    if (st.isDirectory()) {
      const before = found.length;
      const real = await realpath(abs).catch(() => abs);
      if (visited.has(real)) continue;
      visited.add(real);
      await walk(abs, given, '', visited, found, diags);
      if (found.length === before) {
        diags.push(diagnostic(fileStart(given), 'NO_POLICY_FILES', 'directory holds no *.yaml, *.yml or *.json file'));
      }
    } else if (!st.isFile()) {
      diags.push(diagnostic(fileStart(given), 'READ_ERROR', 'not a regular file or directory'));
    } else {
      // A file named explicitly is read whatever its extension.
      found.push({ name: given, revisionName: path.basename(given), abs, size: st.size });
    }
  }
  const texts: PolicyText[] = [];
  const seenFiles = new Set<string>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const f of [...found].sort((a, b) => compareText(a.name, b.name))) {
    try {
      const real = await realpath(f.abs);
      if (seenFiles.has(real)) continue;
      seenFiles.add(real);
      if (f.size > MAX_FILE_BYTES) {
        diags.push(diagnostic(fileStart(f.name), 'READ_ERROR', `larger than ${MAX_FILE_BYTES} bytes`));
        continue;
      }
      const bytes = await readFile(real);
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        diags.push(diagnostic(fileStart(f.name), 'READ_ERROR', 'not valid UTF-8'));
        continue;
      }
      texts.push({ name: f.name, text, revisionName: f.revisionName });
    } catch (err) {
      diags.push(diagnostic(fileStart(f.name), 'READ_ERROR', errorText(err)));
    }
  }
  // Parsing is synchronous and costs about 0.2 ms per mandate: hand the event loop back
  // after each file parsed, so a server reloading a large estate keeps answering.
  const load = new Load(texts, options.cache ?? true, options.maxCachedDocuments);
  while (!load.done) {
    if (load.addNext()) await nextTurn();
  }
  return load.finish(diags);
}
