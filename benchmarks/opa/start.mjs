/**
 * Starts the OPA peer for the end-to-end benchmark, or says why it cannot.
 *
 * First choice: opa-envoy-plugin itself, `go install` of a pinned release into
 * benchmarks/.tools/bin. On this machine the Go module proxy refuses that module (403 on
 * its version list and on exact versions), so the fallback is opa-ext-authz (main.go
 * here): OPA v1.22.4's Go SDK behind go-control-plane's ext_authz service, the same
 * request → input → prepared-query pipeline as opa-envoy-plugin, running policy.rego on
 * the same mandates (peers/translate.mjs toRegoData). The table names which one ran.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toRegoData } from '../peers/translate.mjs';
import { goInstall, TOOLS_BIN } from '../lib/tools.mjs';
import { freePort, waitFor } from '../lib/net.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const OPA_ENVOY_PLUGIN_VERSION = 'v1.22.0-envoy';

function buildStandIn(log) {
  const bin = path.join(TOOLS_BIN, 'opa-ext-authz');
  const src = ['main.go', 'go.mod', 'go.sum'].map((f) => path.join(HERE, f));
  const newest = Math.max(...src.filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs > newest) return { bin };
  log('building opa-ext-authz (OPA Go SDK + go-control-plane), once…');
  fs.mkdirSync(TOOLS_BIN, { recursive: true });
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: HERE, encoding: 'utf8', timeout: 20 * 60 * 1000, env: { ...process.env, GOFLAGS: '-buildvcs=false' } });
  if (r.status !== 0) return { error: `go build failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]}` };
  return { bin };
}

function waitListening(child, out, timeoutMs) {
  return waitFor(() => /listening (\d+)/.exec(out())?.[1] ?? (child.exitCode !== null ? 'exited' : null), timeoutMs);
}

export async function startOpa({ model, work, log }) {
  fs.writeFileSync(path.join(work, 'opa-data.json'), JSON.stringify(toRegoData(model)));
  const plugin = goInstall('github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin', OPA_ENVOY_PLUGIN_VERSION, 'opa-envoy-plugin', log);
  let bin;
  let argv;
  let name;
  let pluginNote = null;
  if (!plugin.error) {
    const port = await freePort();
    bin = plugin.bin;
    name = `opa-envoy-plugin ${OPA_ENVOY_PLUGIN_VERSION}`;
    argv = ['run', '--server', '--addr', '127.0.0.1:0', '--log-level', 'error',
      '--set', `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${port}`, '--set', 'plugins.envoy_ext_authz_grpc.path=envoy/authz/allow',
      '--set', 'decision_logs.console=false', path.join(HERE, 'policy.rego'), path.join(work, 'opa-data.json')];
    argv.port = port;
  } else {
    pluginNote = plugin.error;
    const b = buildStandIn(log);
    if (b.error) return { unavailable: `opa-envoy-plugin: ${plugin.error}; stand-in: ${b.error}` };
    bin = b.bin;
    name = 'opa-ext-authz (OPA v1.22.4 SDK; opa-envoy-plugin not fetchable here)';
    argv = ['-addr', '127.0.0.1:0', '-policy', path.join(HERE, 'policy.rego'), '-data', path.join(work, 'opa-data.json')];
  }
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => { if (out.length < 65536) out += c; });
  child.stderr.on('data', (c) => { if (out.length < 65536) out += c; });
  let port;
  if (argv.port) {
    // opa-envoy-plugin prints no port line: wait until its gRPC port accepts connections.
    port = argv.port;
    await new Promise((r) => setTimeout(r, 3000));
  } else {
    port = await waitListening(child, () => out, 120000);
    if (!port || port === 'exited') return { unavailable: `${name} did not start: ${out.slice(-500)}` };
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await done;
  };
  return { grpcAddr: `127.0.0.1:${port}`, metricsUrl: null, stop, pid: child.pid, name, note: pluginNote };
}
