/**
 * The Kubernetes and Istio manifests and the Dockerfile: every YAML parses, and the values that must
 * agree across files do — ports, probe paths, header names, Service and cluster names, the provider
 * name, the drain budget — and the container's arguments and environment are accepted by mandate's own
 * configuration loader. A rename in one file without the others fails here, not in a cluster.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runValidateCommand } from '../../src/cli/validate.js';
import { loadServeConfig } from '../../src/config/load.js';
import { SERVE_OPTIONS } from '../../src/config/options.js';
import { at, clusterPorts, clusters, readYaml, seconds } from './envoy-requirements.js';

type Obj = Record<string, unknown>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = path.join(ROOT, 'deploy/k8s');
const ISTIO = path.join(ROOT, 'deploy/istio');
const GRPC_PORT = 9191;
const HTTP_PORT = 9464;
const FUNCTION_HEADER = 'x-business-function';
const TOKEN_HEADER = 'txn-token';

// SPEC section 3: the flags of `serve` (plus --drain-timeout, SPEC section 7). The loader's option
// table must hold every one of them; the manifests may use only what the loader knows.
const SPEC_FLAGS = [
  '--policies', '--grpc-addr', '--http-addr', '--mode', '--trust-domain', '--trust-xfcc', '--function-header',
  '--token-header', '--tls-cert', '--tls-key', '--tls-client-ca', '--token-key', '--token-issuer', '--token-admin',
  '--redis-url', '--revocation-max-staleness', '--log-file', '--log-level', '--audit-chain', '--drain-timeout',
];

function yamlFilesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function docsOf(file: string): Obj[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { uniqueKeys: true })
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Obj => typeof d === 'object' && d !== null);
}

function list(root: unknown, ...keys: Array<string | number>): Obj[] {
  const parent = at(root, ...keys.slice(0, -1));
  const value = parent[keys[keys.length - 1] as string];
  return Array.isArray(value) ? (value as Obj[]) : [];
}

const K8S_FILES = yamlFilesUnder(K8S);
const ISTIO_FILES = yamlFilesUnder(ISTIO);
const k8sDocs = K8S_FILES.flatMap((f) => docsOf(f).map((doc) => ({ file: path.basename(f), doc })));
const istioDocs = ISTIO_FILES.flatMap(docsOf);

function k8s(kind: string, name: string): Obj {
  const found = k8sDocs.find(({ file, doc }) => doc['kind'] === kind && at(doc, 'metadata')['name'] === name && !file.includes('patch'));
  if (found === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found.doc;
}

function istio(kind: string, name: string): Obj {
  const found = istioDocs.find((doc) => doc['kind'] === kind && at(doc, 'metadata')['name'] === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in deploy/istio`);
  return found;
}

function container(deployment: Obj, name: string): Obj {
  const found = list(deployment, 'spec', 'template', 'spec', 'containers').find((c) => c['name'] === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
}

function envOf(c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list(c, 'env')) if (typeof e['value'] === 'string') env[String(e['name'])] = e['value'];
  return env;
}

function namedPort(c: Obj, name: unknown): number | undefined {
  const port = list(c, 'ports').find((p) => p['name'] === name);
  return typeof port?.['containerPort'] === 'number' ? port['containerPort'] : undefined;
}

function matches(selector: Obj, labels: Obj): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

const deployment = k8s('Deployment', 'mandate');
const mandateContainer = container(deployment, 'mandate');
const podSpec = at(deployment, 'spec', 'template', 'spec');
const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels');
const kustomization = docsOf(path.join(K8S, 'kustomization.yaml'))[0] as Obj;
const namespace = String(kustomization['namespace']);
const localWorkload = istio('Deployment', 'payments-api');

describe.each([...K8S_FILES, ...ISTIO_FILES].map((f) => path.relative(ROOT, f)))('%s', (file) => {
  it('parses, with unique keys, and every object names its kind', () => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
    expect(docs.flatMap((d) => [...d.errors, ...d.warnings]).map((e) => e.message)).toEqual([]);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs.map((d) => d.toJS() as Obj)) {
      expect(typeof doc['apiVersion'], file).toBe('string');
      expect(typeof doc['kind'], file).toBe('string');
      if (doc['kind'] !== 'Kustomization') expect(at(doc, 'metadata')['name'], file).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
    }
  });
});

describe('kustomization', () => {
  it('lists every manifest of deploy/k8s except the opt-in ones, and names the namespace it creates', () => {
    const resources = (kustomization['resources'] as string[]).slice().sort();
    const optIn = ['kustomization.yaml', 'mtls-patch.yaml', 'token-keys-secret.example.yaml'];
    expect(resources).toEqual(K8S_FILES.map((f) => path.basename(f)).filter((f) => !optIn.includes(f)).sort());
    expect(k8s('Namespace', namespace)).toBeDefined();
    expect(namespace).toBe('mandate');
  });

  it("sets the image of the Deployment's mandate container in one place", () => {
    const images = (kustomization['images'] as Obj[]).map((i) => i['name']);
    expect(images).toEqual([String(mandateContainer['image']).replace(/:[^:/]+$/, '')]);
    expect(String(container(localWorkload, 'mandate')['image'])).toBe(String(mandateContainer['image']));
  });
});

describe('ports agree across Deployment, Services, Envoy, Istio and the Dockerfile', () => {
  it('the container exposes grpc 9191 and http 9464 and binds them on all interfaces', () => {
    expect(namedPort(mandateContainer, 'grpc')).toBe(GRPC_PORT);
    expect(namedPort(mandateContainer, 'http')).toBe(HTTP_PORT);
    const env = envOf(mandateContainer);
    expect(env['MANDATE_GRPC_ADDR']).toBe(`0.0.0.0:${GRPC_PORT}`);
    expect(env['MANDATE_HTTP_ADDR']).toBe(`0.0.0.0:${HTTP_PORT}`);
  });

  it.each<[string, Array<[string, number]>]>([
    ['mandate', [['grpc', GRPC_PORT], ['http', HTTP_PORT]]],
    ['mandate-headless', [['grpc', GRPC_PORT]]],
  ])('Service %s serves the container ports and selects the mandate pods', (name, expected) => {
    const service = k8s('Service', name);
    const ports = list(service, 'spec', 'ports');
    expect(ports.map((p) => [p['name'], p['port']])).toEqual(expected);
    for (const p of ports) expect(namedPort(mandateContainer, p['targetPort'])).toBe(p['port']);
    expect(matches(at(service, 'spec', 'selector'), podLabels)).toBe(true);
    if (name === 'mandate-headless') expect(at(service, 'spec')['clusterIP']).toBe('None');
  });

  it.each(['sidecar.yaml', 'sidecar-mtls-to-mandate.yaml', 'gateway.yaml'])('envoy/%s reaches mandate on 9191 through a Service that exists', (file) => {
    const bootstrap = readYaml(file, fs.readFileSync(path.join(ROOT, 'envoy', file), 'utf8')).value;
    const cluster = clusters(bootstrap).find((c) => c['name'] === 'mandate') as Obj;
    expect(clusterPorts(cluster)).toEqual([GRPC_PORT]);
    const address = String(at(cluster, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address')['address']);
    if (address !== '127.0.0.1') {
      const [svc, ns, ...rest] = address.split('.');
      expect(rest.join('.')).toBe('svc.cluster.local');
      expect(ns).toBe(namespace);
      expect(list(k8s('Service', String(svc)), 'spec', 'ports').map((p) => p['port'])).toContain(GRPC_PORT);
      // The TLS server name is the ClusterIP Service's DNS name; mandate's own certificate is matched by SPIFFE ID.
      expect(at(cluster, 'transport_socket', 'typed_config')['sni']).toBe(`mandate.${namespace}.svc.cluster.local`);
    }
  });

  it('the Istio provider names the mandate Service and its gRPC port', () => {
    const providers = list(istio('IstioOperator', 'mandate-ext-authz'), 'spec', 'meshConfig', 'extensionProviders');
    const shared = at(providers.find((p) => p['name'] === 'mandate'), 'envoyExtAuthzGrpc');
    expect(shared['service']).toBe(`mandate.${namespace}.svc.cluster.local`);
    expect(shared['port']).toBe(GRPC_PORT);
  });

  it('the Dockerfile exposes both ports and binds them on all interfaces', () => {
    const runtime = dockerStages().at(-1) as DockerStage;
    expect(runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map(Number)).toEqual([GRPC_PORT, HTTP_PORT]);
    const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain(`MANDATE_GRPC_ADDR=0.0.0.0:${GRPC_PORT}`);
    expect(env).toContain(`MANDATE_HTTP_ADDR=0.0.0.0:${HTTP_PORT}`);
  });

  it('the ServiceMonitor scrapes /metrics on the http port of the mandate Service only', () => {
    const monitor = k8s('ServiceMonitor', 'mandate');
    const selector = at(monitor, 'spec', 'selector', 'matchLabels');
    const endpoint = list(monitor, 'spec', 'endpoints')[0] as Obj;
    expect(endpoint['path']).toBe('/metrics');
    const scraped = k8sDocs.filter(({ doc }) => doc['kind'] === 'Service' && matches(selector, at(doc, 'metadata', 'labels')))
      .filter(({ doc }) => list(doc, 'spec', 'ports').some((p) => p['name'] === endpoint['port']));
    expect(scraped.map(({ doc }) => at(doc, 'metadata')['name'])).toEqual(['mandate']);
  });
});

describe('probes, drain and pod safety', () => {
  it.each<[string, Obj]>([
    ['deploy/k8s deployment', mandateContainer],
    ['deploy/istio local workload', container(localWorkload, 'mandate')],
  ])('%s: readiness on /readyz and liveness on /healthz, on the HTTP port', (_name, c) => {
    const env = envOf(c);
    for (const [probe, pathname] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
      const get = at(c, probe, 'httpGet');
      expect(get['path']).toBe(pathname);
      expect(namedPort(c, get['port'])).toBe(portOf(env['MANDATE_HTTP_ADDR'] ?? ''));
    }
  });

  it.each<[string, Obj]>([
    ['deploy/k8s deployment', deployment],
    ['deploy/istio local workload', localWorkload],
  ])('%s: terminationGracePeriodSeconds exceeds preStop sleep plus the drain timeout', (_name, workload) => {
    const c = container(workload, 'mandate');
    const config = serveConfigOf(c);
    const preStop = Number(at(c, 'lifecycle', 'preStop', 'sleep')['seconds']);
    const grace = Number(at(workload, 'spec', 'template', 'spec')['terminationGracePeriodSeconds']);
    expect(config.drainTimeout).toBe(10_000);
    expect(preStop * 1000 + config.drainTimeout).toBeLessThan(grace * 1000);
  });

  it('runs three replicas, non-root, read-only, no privilege escalation, with requests and a memory limit', () => {
    expect(at(deployment, 'spec')['replicas']).toBe(3);
    expect(at(podSpec, 'securityContext')['runAsNonRoot']).toBe(true);
    expect(at(podSpec, 'securityContext')['runAsUser']).toBe(65532);
    const sc = at(mandateContainer, 'securityContext');
    expect(sc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(at(mandateContainer, 'resources', 'requests')).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(at(mandateContainer, 'resources', 'limits')).toHaveProperty('memory');
    expect(at(deployment, 'spec', 'strategy', 'rollingUpdate')['maxUnavailable']).toBe(0);
  });

  it('the PodDisruptionBudget and the Deployment select the same pods', () => {
    expect(matches(at(k8s('PodDisruptionBudget', 'mandate'), 'spec', 'selector', 'matchLabels'), podLabels)).toBe(true);
    expect(matches(at(deployment, 'spec', 'selector', 'matchLabels'), podLabels)).toBe(true);
    expect(at(k8s('PodDisruptionBudget', 'mandate'), 'spec')['maxUnavailable']).toBe(1);
  });
});

function serveConfigOf(c: Obj): { drainTimeout: number; functionHeader: string; tokenHeader: string; policies: readonly string[]; tokenKey: readonly string[]; redisUrl: string | null; grpcAddr: string; mode: string } {
  const args = (c['args'] as string[]).slice();
  expect(args[0]).toBe('serve');
  const result = loadServeConfig(args.slice(1), envOf(c), '/app');
  expect(result.errors).toEqual([]);
  if (result.config === null) throw new Error('no config');
  return result.config;
}

describe("configuration: mandate's own loader accepts what the manifests pass", () => {
  const specFlags = new Set(SERVE_OPTIONS.map((o) => o.flag));
  const envNames = new Set([...SERVE_OPTIONS.map((o) => o.env), 'MANDATE_CONFIG']);

  it('the loader knows every flag of SPEC section 3', () => {
    expect(SPEC_FLAGS.filter((f) => !specFlags.has(f))).toEqual([]);
  });

  const patch = docsOf(path.join(K8S, 'mtls-patch.yaml'))[0] as Obj;
  it.each<[string, Obj]>([
    ['deploy/k8s deployment', mandateContainer],
    ['deploy/istio local workload', container(localWorkload, 'mandate')],
    ['deploy/k8s mtls-patch', container(patch, 'mandate')],
  ])('%s: every MANDATE_* variable and flag is one mandate knows', (_name, c) => {
    const names = list(c, 'env').map((e) => String(e['name'])).filter((n) => n.startsWith('MANDATE_'));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !envNames.has(n))).toEqual([]);
    const flags = ((c['args'] as string[] | undefined) ?? []).filter((a) => a.startsWith('--'));
    expect(flags.filter((f) => !specFlags.has(f))).toEqual([]);
  });

  it('the Deployment configuration loads, with the header names Envoy and the guide use', () => {
    const config = serveConfigOf(mandateContainer);
    expect(config.functionHeader).toBe(FUNCTION_HEADER);
    expect(config.tokenHeader).toBe(TOKEN_HEADER);
    expect(['enforce', 'dry-run']).toContain(config.mode);
  });

  it('the mTLS patch turns on client-certificate TLS and mounts what it names', () => {
    const c = container(patch, 'mandate');
    const result = loadServeConfig(['--policies', '/p'], envOf(c), '/app');
    expect(result.errors).toEqual([]);
    expect(result.config?.tlsClientCa).toBe('/etc/mandate/tls/ca.crt');
    const mount = String(list(c, 'volumeMounts')[0]?.['mountPath']);
    for (const file of [result.config?.tlsCert, result.config?.tlsKey, result.config?.tlsClientCa]) expect(file).toMatch(new RegExp(`^${mount}/`));
  });

  it('policies come from the ConfigMap mounted as a whole directory (hot reload needs no subPath)', () => {
    const config = serveConfigOf(mandateContainer);
    expect(config.policies).toEqual(['/etc/mandate/policies']);
    const mount = list(mandateContainer, 'volumeMounts').find((m) => m['mountPath'] === config.policies[0]) as Obj;
    expect(mount['subPath']).toBeUndefined();
    const volume = list(podSpec, 'volumes').find((v) => v['name'] === mount['name']) as Obj;
    expect(k8s('ConfigMap', String(at(volume, 'configMap')['name']))).toBeDefined();
  });

  it('the token key comes from the Secret whose example holds a placeholder, not a key', () => {
    const config = serveConfigOf(mandateContainer);
    const keyFile = config.tokenKey[0] as string;
    const mount = list(mandateContainer, 'volumeMounts').find((m) => keyFile.startsWith(`${String(m['mountPath'])}/`)) as Obj;
    const volume = list(podSpec, 'volumes').find((v) => v['name'] === mount['name']) as Obj;
    const example = k8sDocs.find(({ file }) => file === 'token-keys-secret.example.yaml')?.doc as Obj;
    expect(at(volume, 'secret')['secretName']).toBe(at(example, 'metadata')['name']);
    const data = at(example, 'stringData');
    const placeholder = data[path.basename(keyFile)];
    expect(typeof placeholder).toBe('string');
    expect(() => crypto.createPrivateKey(String(placeholder))).toThrow();
    expect(String(placeholder)).not.toMatch(/PRIVATE KEY/);
  });

  it('the Redis URL names the Redis Service and port, and only mandate may reach Redis', () => {
    const url = new URL(serveConfigOf(mandateContainer).redisUrl ?? '');
    const service = k8s('Service', url.hostname);
    expect(list(service, 'spec', 'ports').map((p) => p['port'])).toContain(Number(url.port));
    const redisPods = at(k8s('Deployment', url.hostname), 'spec', 'template', 'metadata', 'labels');
    expect(matches(at(service, 'spec', 'selector'), redisPods)).toBe(true);
    const policy = k8s('NetworkPolicy', 'mandate-redis');
    expect(matches(at(policy, 'spec', 'podSelector', 'matchLabels'), redisPods)).toBe(true);
    expect(matches(at(list(at(policy, 'spec'), 'ingress')[0], 'from', 0, 'podSelector', 'matchLabels'), podLabels)).toBe(true);
    expect(list(k8s('Deployment', url.hostname), 'spec', 'template', 'spec', 'containers')[0]?.['args']).toEqual(
      expect.arrayContaining(['--maxmemory-policy', 'noeviction']),
    );
  });

  it('the ConfigMap policies are copies of examples/policies and pass `mandate validate`', async () => {
    const data = at(k8s('ConfigMap', 'mandate-policies'), 'data') as Record<string, string>;
    const examples = new Map<string, unknown>();
    const key = (doc: Obj): string => `${String(doc['kind'])}/${String(at(doc, 'metadata')['name'])}`;
    for (const f of fs.readdirSync(path.join(ROOT, 'examples/policies')).filter((n) => /\.ya?ml$/.test(n))) {
      for (const doc of docsOf(path.join(ROOT, 'examples/policies', f))) examples.set(key(doc), doc);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-cm-'));
    try {
      for (const [file, text] of Object.entries(data)) {
        for (const doc of YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj)) {
          expect(doc, file).toEqual(examples.get(key(doc)));
        }
        fs.writeFileSync(path.join(dir, file), text);
      }
      const out: string[] = [];
      const status = await runValidateCommand([dir], {
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
        env: {},
        cwd: dir,
        readStdin: async () => '',
      });
      expect(out.join(''), out.join('')).toMatch(/2 mandates/);
      expect(status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Istio', () => {
  const providers = list(istio('IstioOperator', 'mandate-ext-authz'), 'spec', 'meshConfig', 'extensionProviders');
  // Fields of Istio's EnvoyExternalAuthorizationGrpcProvider (mesh/v1alpha1/config.proto).
  const GRPC_PROVIDER_FIELDS = ['service', 'port', 'timeout', 'failOpen', 'statusOnError', 'includeRequestBodyInCheck'];

  it.each(providers.map((p) => [String(p['name']), p] as const))('provider %s fails closed, with a check-sized timeout', (_name, provider) => {
    const grpc = at(provider, 'envoyExtAuthzGrpc');
    expect(Object.keys(grpc).filter((k) => !GRPC_PROVIDER_FIELDS.includes(k))).toEqual([]);
    expect(grpc['failOpen']).toBe(false);
    expect(grpc['port']).toBe(GRPC_PORT);
    expect(seconds(grpc['timeout'])).toBeGreaterThanOrEqual(0.05);
    expect(seconds(grpc['timeout'])).toBeLessThanOrEqual(0.25);
  });

  it('every CUSTOM AuthorizationPolicy names a declared provider', () => {
    const names = providers.map((p) => p['name']);
    const policies = istioDocs.filter((d) => d['kind'] === 'AuthorizationPolicy');
    expect(policies.length).toBe(2);
    for (const policy of policies) {
      expect(at(policy, 'spec')['action']).toBe('CUSTOM');
      expect(names).toContain(at(policy, 'spec', 'provider')['name']);
    }
  });

  it('the in-pod provider reaches the mandate container of the selected workload on loopback', () => {
    const local = at(providers.find((p) => p['name'] === 'mandate-local'), 'envoyExtAuthzGrpc');
    const entry = istio('ServiceEntry', 'mandate-local');
    expect(at(entry, 'spec')['hosts']).toEqual([local['service']]);
    expect(list(entry, 'spec', 'endpoints')).toEqual([{ address: '127.0.0.1' }]);
    expect(list(entry, 'spec', 'ports').map((p) => p['number'])).toEqual([local['port']]);
    expect(envOf(container(localWorkload, 'mandate'))['MANDATE_GRPC_ADDR']).toBe(`127.0.0.1:${String(local['port'])}`);
    const policy = istio('AuthorizationPolicy', 'mandate-local');
    expect(matches(at(policy, 'spec', 'selector', 'matchLabels'), at(localWorkload, 'spec', 'template', 'metadata', 'labels'))).toBe(true);
  });
});

interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}
interface DockerStage {
  readonly from: string;
  readonly name: string | null;
  readonly instructions: DockerInstruction[];
}

function dockerStages(): DockerStage[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m?.[1] ?? args, name: m?.[2] ?? null, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return stages;
}

describe('Dockerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const stages = dockerStages();
  const runtime = stages.at(-1) as DockerStage;

  it('passes the Dockerfile linter (dockerfile-utils) without a diagnostic', () => {
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the linter is not blind: it flags a broken copy', () => {
    const broken = text.replace('EXPOSE 9191 9464', 'EXPOSE 9191/tpc').replace('HEALTHCHECK --interval', 'HEALTHCHECK --intervall');
    expect(lintDockerfile(broken).map((d) => d.message).join('\n')).toMatch(/Invalid proto: tpc[\s\S]*Unknown flag: intervall|Unknown flag: intervall[\s\S]*Invalid proto: tpc/);
  });

  it('builds on Node 20 slim and runs on distroless Node 20 as a non-root user, with no shell', () => {
    expect(stages.map((s) => s.from)).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim', 'gcr.io/distroless/nodejs20-debian12:nonroot']);
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? 'root';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // Exec form only: a RUN or a shell-form command would need /bin/sh, which distroless does not have.
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
    for (const i of runtime.instructions.filter((x) => ['CMD', 'ENTRYPOINT', 'HEALTHCHECK'].includes(x.keyword))) {
      expect(i.args.replace(/^(--\S+\s+)*CMD\s+/, ''), i.args).toMatch(/^\[/);
    }
  });

  it('copies only from stages it defines, and the runtime gets production dependencies only', () => {
    const names = stages.map((s) => s.name);
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
        const from = /--from=(\S+)/.exec(copy.args)?.[1];
        if (from !== undefined) expect(names).toContain(from);
      }
    }
    const deps = stages.find((s) => s.name === 'deps') as DockerStage;
    expect(deps.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('npm ci --omit=dev'))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=deps /app/node_modules'))).toBe(true);
  });

  it('runs the same commands as CI (npm ci, npm run build), so CI proves every build step', () => {
    // CI runs `npm ci` and then `npm test`, whose script starts with the build.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const ciRun = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ciRun).toMatch(/^npm test\b/m);
    const ci = `${ciRun}\n${pkg.scripts['test'] ?? ''}`;
    const commands = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => i.args.split('&&').map((c) => c.trim())));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const command of commands) {
      if (command === 'npm cache clean --force') continue;
      expect(ci, command).toContain(command.replace(' --omit=dev', ''));
    }
  });

  it('starts the package bin, with the example policies as `npm start` does', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[]; scripts: Record<string, string> };
    const entrypoint = JSON.parse(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]') as string[];
    expect(entrypoint).toEqual(['/nodejs/bin/node', pkg.bin['mandate']]);
    const cmd = JSON.parse(runtime.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
    expect(pkg.scripts['start']).toContain(cmd.join(' '));
    // The runtime has the npm package's layout.
    for (const f of pkg.files) expect(runtime.instructions.some((i) => i.keyword === 'COPY' && new RegExp(`\\s\\./${f}$`).test(i.args)), f).toBe(true);
  });

  it('the runtime has what src/ loads: production dependencies and the files it reads beside dist/', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const sources = fs.readdirSync(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'));
    const packages = new Set<string>();
    const beside = new Set<string>();
    for (const text of sources) {
      // Value imports only: `import type` is erased and needs nothing at run time.
      for (const m of text.matchAll(/(?:^import (?!type\b)[^;]*?from |\bimport\(|require\.resolve\()'([^'.][^']*)'/gm)) {
        const spec = m[1] as string;
        if (spec.startsWith('node:')) continue;
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
      }
      for (const m of text.matchAll(/new URL\('\.\.\/\.\.\/([^/']+)/g)) beside.add(m[1] as string);
    }
    expect(packages.size).toBeGreaterThan(3);
    expect([...packages].filter((p) => pkg.dependencies[p] === undefined)).toEqual([]);
    // What lands in /app: the destination, or the sources' names when copied into `./`.
    const copied = runtime.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const dest = (words.at(-1) as string).replace(/^\.\/?/, '');
      return dest === '' ? words.slice(0, -1).map((w) => path.basename(w)) : [dest];
    });
    for (const entry of beside) expect(copied, entry).toContain(entry);
  });

  it('.dockerignore lets in exactly what the stages copy from the build context', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
    const sources = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from')))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of sources) {
      expect(allowed, source).toContain(source.replace(/^\.\//, ''));
      expect(fs.existsSync(path.join(ROOT, source)), source).toBe(true);
    }
  });
});
