/**
 * External tools the end-to-end benchmarks use, installed by this script on first use into
 * benchmarks/.tools/ (git-ignored, never committed): ghz, the Go gRPC load generator, at a
 * pinned version through `go install`. Returns null with a reason when it cannot be had.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const TOOLS_BIN = path.join(BENCH_DIR, '.tools', 'bin');
export const GHZ_VERSION = 'v0.120.0';

function hasGo() {
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
}

/** `go install MODULE@VERSION` into .tools/bin; {bin} or {error}. */
export function goInstall(module, version, binName, log = () => {}) {
  const bin = path.join(TOOLS_BIN, binName);
  if (fs.existsSync(bin)) return { bin };
  if (!hasGo()) return { error: 'Go is not installed' };
  fs.mkdirSync(TOOLS_BIN, { recursive: true });
  log(`installing ${module}@${version} (go install, once)…`);
  const r = spawnSync('go', ['install', `${module}@${version}`], {
    env: { ...process.env, GOBIN: TOOLS_BIN, GOFLAGS: '-buildvcs=false' },
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  });
  if (r.status !== 0 || !fs.existsSync(bin)) {
    const msg = (r.stderr || r.error?.message || 'failed').trim().split('\n').slice(-1)[0];
    return { error: `go install ${module}@${version} failed: ${msg}` };
  }
  return { bin };
}

export function ensureGhz(log) {
  return goInstall('github.com/bojand/ghz/cmd/ghz', GHZ_VERSION, 'ghz', log);
}

export function goVersion() {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
