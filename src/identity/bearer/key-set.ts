/**
 * One issuer's verification keys, from a JWKS file or URL, kept fresh off the request path.
 *
 * Why not jose's createRemoteJWKSet: it fails a request as soon as a refresh after
 * `cacheMaxAge` fails, cannot honour a SPIFFE bundle's `spiffe_refresh_hint`, and (like its
 * local sets) skips keys whose `use` is not "sig". Here the loaded document is mapped
 * (`jwt-svid` keys become `sig` keys, `x509-svid` keys are dropped) and handed to jose's
 * createLocalJWKSet, which does the kid/alg matching and caches imported keys; the policy
 * around it is ours:
 *  - one load at a time (concurrent callers join the pending one);
 *  - an unknown `kid` triggers a reload at most once per cooldown (default 30 s), so tokens
 *    with made-up kids cannot make mandate hammer the issuer;
 *  - refreshes run in the background every refresh interval (default 5 min; a JWT-SVID
 *    bundle's `spiffe_refresh_hint` overrides it, clamped to 30 s..24 h), driven by a timer
 *    and by requests, while the current set keeps serving;
 *  - a request never waits longer than `requestWaitMs` for a load;
 *  - when loads fail, the last good set keeps serving until `maxStalenessMs` after its last
 *    successful load, then tokens are refused (fail closed) until a load succeeds;
 *  - files are re-read on change (fs.watch on the directory, so atomic renames and Kubernetes
 *    ConfigMap symlink swaps are seen) with a poll as the fallback.
 * Every failed load is counted and reported through `onLoadError`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createLocalJWKSet, type CryptoKey, type JWSHeaderParameters } from 'jose';
import type { KeySetStats } from '../types.js';
import type { KeySetLocation } from './config.js';

export interface KeySetDeps {
  readonly fetch: typeof fetch;
  /** Clock for load bookkeeping (staleness, cooldown, refresh); token times use the request's. */
  readonly now: () => number;
  readonly onLoadError: (issuer: string, detail: string) => void;
  readonly cooldownMs: number;
  readonly refreshMs: number;
  readonly pollMs: number;
  readonly timeoutMs: number;
  /**
   * Longest a request waits for a load it triggered (unknown kid, no usable set). Envoy's
   * default ext_authz timeout is 200 ms, and a timed-out Check is an error, not a deny (with
   * failure_mode_allow it lets the request through), so the request is refused instead and
   * the load carries on in the background for the next one.
   */
  readonly requestWaitMs: number;
  readonly watch: boolean;
}

export type KeyLookup =
  | { readonly ok: true; readonly key: CryptoKey }
  | { readonly ok: false; readonly detail: string };

/** JWKS documents larger than this are refused. */
const MAX_JWKS_BYTES = 1024 * 1024;
const MIN_HINT_MS = 30_000;
const MAX_HINT_MS = 24 * 3_600_000;

type Verifier = ReturnType<typeof createLocalJWKSet>;

export class KeySet {
  readonly #issuer: string;
  readonly #kind: 'jwt-svid' | 'oidc';
  readonly #location: KeySetLocation;
  readonly #maxStalenessMs: number;
  readonly #deps: KeySetDeps;
  readonly #abort = new AbortController();

  #verifier: Verifier | null = null;
  #keyCount = 0;
  #loadedAt: number | null = null;
  #lastAttemptAt: number | null = null;
  #nextRefreshAt = 0;
  #refreshMs: number;
  #pending: Promise<boolean> | null = null;
  #lastError: string | null = null;
  #loads = 0;
  #failures = 0;
  #fileStamp: string | null = null;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(issuer: string, kind: 'jwt-svid' | 'oidc', location: KeySetLocation, maxStalenessMs: number, deps: KeySetDeps) {
    this.#issuer = issuer;
    this.#kind = kind;
    this.#location = location;
    this.#maxStalenessMs = maxStalenessMs;
    this.#deps = deps;
    this.#refreshMs = location.kind === 'file' ? deps.pollMs : deps.refreshMs;
    if (location.kind === 'file') {
      this.#startWatching(location.path);
    } else {
      // Keeps the set fresh without traffic, so an idle hour does not leave it stale.
      this.#timer = setInterval(() => {
        const now = this.#deps.now();
        if (now >= this.#nextRefreshAt) void this.#refresh(now, false);
      }, Math.min(deps.refreshMs, 30_000));
      this.#timer.unref();
    }
  }

  /** Starts the first load without waiting for it. */
  prefetch(): void {
    void this.#refresh(this.#deps.now(), true);
  }

  /** Resolves once the current (or a new) load attempt has finished; for start-up and tests. */
  async ready(): Promise<boolean> {
    if (this.#pending !== null) await this.#pending;
    else if (this.#loadedAt === null) await this.#refresh(this.#deps.now(), true);
    return this.#usable(this.#deps.now());
  }

  /** The verification key for a token header. Never throws. */
  async getKey(alg: string, kid: string | undefined): Promise<KeyLookup> {
    try {
      const now = this.#deps.now();
      if (!this.#usable(now)) {
        if ((await this.#bounded(this.#refresh(now, false))) === 'timeout') {
          return { ok: false, detail: `key set of ${this.#issuer} still loading` };
        }
        if (!this.#usable(this.#deps.now())) return { ok: false, detail: this.#unavailableDetail() };
      } else if (now >= this.#nextRefreshAt) {
        void this.#refresh(now, false);
      }
      const first = await this.#lookup(alg, kid);
      if (first !== 'no-match') return first;
      // An unknown kid may be a freshly rotated key: reload, at most once per cooldown.
      const reloaded = await this.#bounded(this.#refresh(now, false));
      if (reloaded === 'timeout') return { ok: false, detail: `key set of ${this.#issuer} still loading` };
      if (reloaded) {
        const second = await this.#lookup(alg, kid);
        if (second !== 'no-match') return second;
      }
      return { ok: false, detail: kid === undefined ? `no key of the set fits alg ${alg}` : `no key with kid "${clip(kid)}" fits alg ${alg}` };
    } catch {
      return { ok: false, detail: 'key lookup failed unexpectedly' };
    }
  }

  /** The load's outcome, or 'timeout' once `requestWaitMs` has passed (the load goes on). */
  #bounded(load: Promise<boolean>): Promise<boolean | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, this.#deps.requestWaitMs, 'timeout');
      timer.unref();
    });
    return Promise.race([load, timeout]).finally(() => clearTimeout(timer));
  }

  stats(): KeySetStats {
    return {
      issuer: this.#issuer,
      kind: this.#kind,
      source: this.#location.kind === 'file' ? this.#location.path : this.#location.url,
      keys: this.#keyCount,
      loadedAtMs: this.#loadedAt,
      loads: this.#loads,
      failures: this.#failures,
      unavailable: !this.#usable(this.#deps.now()),
    };
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort();
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #usable(now: number): boolean {
    return this.#verifier !== null && this.#loadedAt !== null && now - this.#loadedAt <= this.#maxStalenessMs;
  }

  #unavailableDetail(): string {
    const cause = this.#lastError === null ? '' : `: ${this.#lastError}`;
    return this.#verifier === null
      ? `key set of ${this.#issuer} not loaded${cause}`
      : `key set of ${this.#issuer} stale for longer than its bound${cause}`;
  }

  async #lookup(alg: string, kid: string | undefined): Promise<KeyLookup | 'no-match'> {
    const verifier = this.#verifier;
    if (verifier === null) return { ok: false, detail: this.#unavailableDetail() };
    if (kid === undefined && this.#keyCount !== 1) {
      return { ok: false, detail: `token has no kid and the key set has ${this.#keyCount} keys` };
    }
    const header: JWSHeaderParameters = kid === undefined ? { alg } : { alg, kid };
    try {
      return { ok: true, key: (await verifier(header)) as CryptoKey };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY') return 'no-match';
      if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return { ok: false, detail: `several keys match kid "${clip(kid ?? '')}"` };
      return { ok: false, detail: `key import failed (${typeof code === 'string' ? code : 'unknown error'})` };
    }
  }

  /**
   * Loads the set unless a load is pending (then joins it) or the cooldown since the last
   * attempt has not passed (unless forced). Resolves true when a load succeeded.
   */
  #refresh(now: number, force: boolean): Promise<boolean> {
    if (this.#pending !== null) return this.#pending;
    if (this.#closed) return Promise.resolve(false);
    if (!force && this.#lastAttemptAt !== null && now - this.#lastAttemptAt < this.#deps.cooldownMs) {
      return Promise.resolve(false);
    }
    this.#lastAttemptAt = now;
    this.#pending = this.#load().then(
      (loaded) => {
        this.#pending = null;
        if (loaded === 'unchanged') {
          this.#loadedAt = this.#deps.now();
          this.#nextRefreshAt = this.#loadedAt + this.#refreshMs;
          return true;
        }
        const applied = this.#apply(loaded.doc);
        if (applied !== null) return this.#failed(applied);
        // Only a file that loaded cleanly counts as unchanged on the next poll.
        this.#fileStamp = loaded.stamp;
        this.#loads++;
        this.#lastError = null;
        this.#loadedAt = this.#deps.now();
        this.#nextRefreshAt = this.#loadedAt + this.#refreshMs;
        return true;
      },
      (err: unknown) => {
        this.#pending = null;
        return this.#failed(err instanceof LoadError ? err.message : 'load failed');
      },
    );
    return this.#pending;
  }

  #failed(detail: string): false {
    this.#failures++;
    this.#lastError = detail;
    // Retry after the cooldown rather than the full interval.
    this.#nextRefreshAt = this.#deps.now() + this.#deps.cooldownMs;
    if (!this.#closed) {
      try {
        this.#deps.onLoadError(this.#issuer, detail);
      } catch {
        // A failing metrics hook must not break key loading.
      }
    }
    return false;
  }

  async #load(): Promise<{ doc: unknown; stamp: string | null } | 'unchanged'> {
    if (this.#location.kind === 'file') {
      const path = this.#location.path;
      let stamp: string;
      try {
        const st = await stat(path);
        if (st.size > MAX_JWKS_BYTES) throw new LoadError(`${path} is larger than 1 MiB`);
        stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch (err) {
        if (err instanceof LoadError) throw err;
        throw new LoadError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (stamp === this.#fileStamp && this.#verifier !== null) return 'unchanged';
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new LoadError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      return { doc: parseJson(text, path), stamp };
    }
    const url = this.#location.url;
    let res: Response;
    try {
      res = await this.#deps.fetch(url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'manual',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#deps.timeoutMs)]),
      });
    } catch (err) {
      const name = (err as { name?: unknown }).name;
      throw new LoadError(`fetching ${url} failed (${name === 'TimeoutError' ? 'timeout' : 'network error'})`);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new LoadError(`fetching ${url} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length'));
    if (declared > MAX_JWKS_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw new LoadError(`${url} is larger than 1 MiB`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new LoadError(`reading ${url} failed`);
    }
    if (text.length > MAX_JWKS_BYTES) throw new LoadError(`${url} is larger than 1 MiB`);
    return { doc: parseJson(text, url), stamp: null };
  }

  /** Installs a loaded document; returns why it is unusable, or null. */
  #apply(doc: unknown): string | null {
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
      return 'key set document has no "keys" list';
    }
    const keys: Record<string, unknown>[] = [];
    for (const k of (doc as { keys: unknown[] }).keys) {
      if (typeof k !== 'object' || k === null || Array.isArray(k)) continue;
      const jwk = k as Record<string, unknown>;
      // Only public signature keys: never a private or symmetric key, whatever else it says.
      if (typeof jwk['kty'] !== 'string' || jwk['kty'] === 'oct' || 'd' in jwk) continue;
      const use = jwk['use'];
      if (use === undefined || use === 'sig') keys.push(jwk);
      else if (use === 'jwt-svid') keys.push({ ...jwk, use: 'sig' }); // jose only takes "sig"
      // x509-svid (a CA for X.509-SVIDs), enc and anything else are not JWT keys.
    }
    let verifier: Verifier;
    try {
      verifier = createLocalJWKSet({ keys: keys as never });
    } catch {
      return 'key set document is not a valid JWKS';
    }
    this.#verifier = verifier;
    this.#keyCount = keys.length;
    if (this.#kind === 'jwt-svid' && this.#location.kind === 'url') {
      const hint = (doc as { spiffe_refresh_hint?: unknown }).spiffe_refresh_hint;
      this.#refreshMs =
        typeof hint === 'number' && Number.isFinite(hint) && hint > 0
          ? Math.min(MAX_HINT_MS, Math.max(MIN_HINT_MS, hint * 1000))
          : this.#deps.refreshMs;
    }
    return null;
  }

  #startWatching(path: string): void {
    const reread = (): void => {
      if (!this.#closed) void this.#refresh(this.#deps.now(), true);
    };
    if (this.#deps.watch) {
      try {
        const name = basename(path);
        // The directory, not the file: an atomic rename replaces the watched inode.
        this.#watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
          if (changed === null || changed === name || changed.startsWith('..')) reread();
        });
        this.#watcher.on('error', () => {
          this.#watcher?.close();
          this.#watcher = null;
        });
      } catch {
        this.#watcher = null; // the poll below still sees changes
      }
    }
    this.#timer = setInterval(reread, this.#deps.pollMs);
    this.#timer.unref();
  }
}

class LoadError extends Error {}

/** Caller-controlled text (a kid, an alg) in a log detail, cut to a readable length. */
export function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

function parseJson(text: string, from: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LoadError(`${from} is not JSON`);
  }
}
