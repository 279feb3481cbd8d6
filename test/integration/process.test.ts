/**
 * The `mandate` binary as a user runs it (dist/, built by `npm test`): exit statuses for bad
 * configuration and bad policies, and SIGTERM under load — in-flight checks finish, health
 * turns NOT_SERVING, the process exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequest, envoyClient } from '../helpers/envoy-client.js';
import { waitFor } from '../helpers/wait.js';

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/policies', import.meta.url).pathname;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let child: ChildProcess | null = null;
afterEach(() => {
  child?.kill('SIGKILL');
  child = null;
});

/** An allowed request of the bundled examples. */
const CHECKOUT = checkRequest({ principal: 'spiffe://prod.example.org/ns/orders/sa/orders-api', destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api', method: 'POST', path: '/v1/payments', function: 'order-checkout' });

/** Starts `serve` on the examples with extra flags; resolves the gRPC address its serving line names. */
async function spawnServe(extra: string[], stdout: 'pipe' | 'ignore' = 'pipe'): Promise<string> {
  child = spawn(process.execPath, [BIN, 'serve', '--policies', EXAMPLES, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--log-level', 'info', ...extra], {
    stdio: ['ignore', stdout, 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  // The operational log names the bound ports.
  return waitFor(() => /"grpc":"([^"]+)"/.exec(err)?.[1], 'the serving line', 15_000);
}

describe('the mandate binary', () => {
  it('runs on its own, as `npx mandate` and an installed bin run it (shebang and exec bit)', () => {
    // tsc writes files without the exec bit; `npm run build` sets it, and without it
    // `npx mandate` fails with "Permission denied".
    const r = spawnSync(BIN, ['validate', EXAMPLES], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/mandates?/);
  });
});

describe('mandate serve as a process', () => {
  it('exits 2 with one line per configuration problem', () => {
    const r = run(['serve', '--policies', EXAMPLES, '--grpc-addr', 'nope', '--mode', 'maybe', '--wat']);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(r.stderr).toMatch(/--grpc-addr/);
    expect(r.stderr).toMatch(/--mode/);
    expect(r.stderr).toMatch(/--wat/);
  });

  it('exits 1 with the diagnostics of an invalid policy set', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-bad-'));
    writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: mandate/v1\nkind: Mandate\nmetadata: {name: ok}\nspec: {owner: x}\n');
    const r = run(['serve', '--policies', dir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: [A-Z_]+: /);
  });

  it('exits 2 for an unreadable TLS file', () => {
    const r = run(['serve', '--policies', EXAMPLES, '--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key', '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tls-cert \/nonexistent.pem: cannot read/);
  });

  it.each([
    ['a directory', (d: string) => d, 'is a directory'],
    ['a path under a regular file', (d: string) => (writeFileSync(path.join(d, 'f'), ''), path.join(d, 'f', 'decisions.log')), 'cannot be written (ENOTDIR)'],
  ])('exits 2 for a --log-file that cannot take the decision log: %s', (_n, make, message) => {
    const file = make(mkdtempSync(path.join(tmpdir(), 'mandate-logfile-')));
    const r = run(['serve', '--policies', EXAMPLES, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--log-file', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--log-file ${file}: ${message}`);
  });

  it('prints the effective configuration', () => {
    const r = run(['serve', '--policies', EXAMPLES, '--print-config', '--mode', 'dry-run']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'dry-run', grpcAddr: '127.0.0.1:9191' });
  });

  it('drains on SIGTERM under load: no in-flight check lost, exit 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-term-'));
    const client = envoyClient(await spawnServe(['--log-file', path.join(dir, 'd.log')]));
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    const req = CHECKOUT;
    // Warm up, then put 200 checks in flight and terminate while they are.
    expect((await client.check(req)).status.code).toBe(0);
    const inFlight = Array.from({ length: 400 }, () => client.check(req).then((r) => r.status.code, (e: Error) => e.message));
    // Terminate once the server is answering the batch: the rest of it is then in flight.
    await Promise.race(inFlight);
    child?.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    const answered = results.filter((r) => r === 0).length;
    // Every check either completed with its decision or was refused before it started
    // (new calls are not accepted while draining); none was cut off mid-flight.
    for (const r of results) expect(r === 0 || /UNAVAILABLE|Connection dropped|No connection established|ECONNREFUSED/i.test(String(r))).toBe(true);
    expect(answered).toBeGreaterThan(1);
    expect(await exited).toBe(0);
    client.close();
  });
});

describe('SIGTERM ends the process within --drain-timeout, whatever the decision-log sink does', () => {
  /** Starts serve with the given extra flags, answers `checks` requests, then SIGTERMs it; resolves exit code and ms. */
  async function serveThenTerm(extra: string[], stdout: 'pipe' | 'ignore', checks: number): Promise<{ code: number | null; ms: number; allowed: number }> {
    const client = envoyClient(await spawnServe(['--drain-timeout', '2s', ...extra], stdout));
    // With stdout a pipe nobody reads (the default sink), the decision log blocks once the pipe is full.
    child?.stdout?.pause();
    let allowed = 0;
    for (let i = 0; i < checks; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, checks - i) }, () => client.check(CHECKOUT)));
      allowed += batch.filter((r) => r.status.code === 0).length;
    }
    client.close();
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    child?.kill('SIGTERM');
    const code = await exited;
    return { code, ms: Date.now() - t0, allowed };
  }

  it('with a sink that fails (a full disk: /dev/full)', async () => {
    // Before: pino's exit hook retried the failed write forever and the process never ended.
    const r = await serveThenTerm(['--log-file', '/dev/full'], 'ignore', 20);
    expect(r.allowed).toBe(20);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(2000 + 1000); // the bound, and slack for a busy machine
  });

  it('with a sink that blocks (stdout a pipe nobody reads)', async () => {
    // ~1.5 MB of log lines: more than the pipe (64 KiB) and sonic-boom's 1 MiB in flight take.
    const r = await serveThenTerm([], 'pipe', 2000);
    expect(r.allowed).toBe(2000);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(2000 + 1000);
  });
});

describe('mandate validate', () => {
  it('accepts the bundled examples', () => {
    const r = run(['validate', EXAMPLES]);
    expect(r.status).toBe(0);
  });
  it('exits 1 with file:line:column diagnostics', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-val-'));
    writeFileSync(path.join(dir, 'p.yaml'), 'apiVersion: mandate/v2\nkind: Mandate\n');
    const r = run(['validate', dir]);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/p\.yaml:1:\d+: [A-Z_]+: /);
  });
});
