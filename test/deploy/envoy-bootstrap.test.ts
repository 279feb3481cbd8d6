/**
 * Every Envoy bootstrap shipped under envoy/ is checked against Envoy's official v3 API (the protos of
 * @grpc/grpc-js-xds's deps/envoy-api), strictly — unknown fields, wrong types, unknown `@type`s fail —
 * and against what mandate needs from it (envoy-requirements.ts). The negative rows prove that each kind
 * of mistake in a shipped file would fail CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { EnvoySchema } from './envoy-schema.js';
import {
  EXT_AUTHZ_TYPE,
  HTTP_OPTIONS_KEY,
  UPSTREAM_TLS_TYPE,
  at,
  clusters,
  deploymentProblems,
  formatProblems,
  httpChains,
  readYaml,
  routeFunctions,
  type EnvoyRole,
} from './envoy-requirements.js';

type Obj = Record<string, unknown>;

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const ENVOY_DIR = fileURLToPath(new URL('../../envoy/', import.meta.url));
const FILES = fs.readdirSync(ENVOY_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

function roleOf(file: string): EnvoyRole {
  return file.startsWith('gateway') ? 'gateway' : 'sidecar';
}

let schema: EnvoySchema;
beforeAll(() => {
  schema = EnvoySchema.load();
});

function schemaErrors(file: string, value: unknown): string[] {
  const yaml = readYaml(file, '{}');
  return formatProblems(yaml, schema.check(BOOTSTRAP, value));
}

it('ships the sidecar, the mTLS-to-mandate variant and a gateway', () => {
  expect(FILES).toEqual(expect.arrayContaining(['gateway.yaml', 'sidecar-mtls-to-mandate.yaml', 'sidecar.yaml']));
});

describe.each(FILES)('envoy/%s', (file) => {
  const full = path.join(ENVOY_DIR, file);
  const text = fs.readFileSync(full, 'utf8');
  const yaml = readYaml(`envoy/${file}`, text);

  it('starts with a comment block saying what it does and what to change', () => {
    const lead = text.split('\n').slice(0, 5);
    expect(lead.every((l) => l.startsWith('#'))).toBe(true);
    expect(text).toMatch(/^# What it does$/m);
    expect(text).toMatch(/^# What to change$/m);
  });

  it('parses as one YAML document without duplicate keys', () => {
    expect(yaml.errors).toEqual([]);
  });

  it("is a valid Bootstrap under Envoy's own protos, Any payloads included", () => {
    expect(formatProblems(yaml, schema.check(BOOTSTRAP, yaml.value))).toEqual([]);
  });

  it('gives mandate what it needs: ext_authz failing closed, normalized paths, mTLS, HTTP/2', () => {
    expect(deploymentProblems(yaml.value, roleOf(file))).toEqual([]);
  });

  it('resolves every typed_config @type it uses', () => {
    const urls = new Set<string>();
    JSON.stringify(yaml.value, (key, value: unknown) => {
      if (key === '@type' && typeof value === 'string') urls.add(value);
      return value;
    });
    expect(urls.size).toBeGreaterThan(5);
    for (const url of urls) expect(schema.resolveTypeUrl(url), url).not.toBeNull();
  });
});

describe('the variants differ where they should', () => {
  it('sidecar.yaml calls a local mandate over loopback in plaintext', () => {
    const mandate = clusters(readYaml('sidecar.yaml', fs.readFileSync(path.join(ENVOY_DIR, 'sidecar.yaml'), 'utf8')).value)
      .find((c) => c['name'] === 'mandate');
    expect(mandate?.['transport_socket']).toBeUndefined();
    expect(JSON.stringify(mandate)).toContain('"address":"127.0.0.1"');
  });

  it.each(['sidecar-mtls-to-mandate.yaml', 'gateway.yaml'])('%s reaches mandate over mTLS, checking its SPIFFE ID', (file) => {
    const value = readYaml(file, fs.readFileSync(path.join(ENVOY_DIR, file), 'utf8')).value;
    const mandate = clusters(value).find((c) => c['name'] === 'mandate') as Obj;
    const tls = at(mandate, 'transport_socket', 'typed_config');
    expect(tls['@type']).toBe(UPSTREAM_TLS_TYPE);
    expect(at(tls, 'common_tls_context', 'tls_certificates', 0)).toHaveProperty('private_key');
    expect(at(tls, 'common_tls_context', 'validation_context', 'match_typed_subject_alt_names', 0)).toEqual({
      san_type: 'URI',
      matcher: { exact: 'spiffe://prod.example.org/ns/mandate/sa/mandate' },
    });
  });

  it('the legacy routes declare the functions of examples/policies/legacy-batch.yaml', () => {
    const fns = (file: string): string[] =>
      httpChains(readYaml(file, fs.readFileSync(path.join(ENVOY_DIR, file), 'utf8')).value).flatMap((c) => routeFunctions(c.hcm));
    expect(fns('sidecar.yaml')).toEqual(['statement-export']);
    expect(fns('sidecar-mtls-to-mandate.yaml')).toEqual(['statement-export']);
    expect(fns('gateway.yaml')).toEqual(['nightly-reconciliation']);
    const declared = new Set<string>();
    const policies = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
    for (const f of fs.readdirSync(policies).filter((n) => /\.ya?ml$/.test(n))) {
      for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(policies, f), 'utf8'))) {
        const spec = (doc.toJS() as { spec?: { functions?: Array<{ name?: unknown }> } } | null)?.spec;
        for (const fn of spec?.functions ?? []) if (typeof fn.name === 'string') declared.add(fn.name);
      }
    }
    for (const fn of [...fns('sidecar.yaml'), ...fns('gateway.yaml')]) expect(declared, fn).toContain(fn);
  });
});

describe('a broken copy of sidecar.yaml fails', () => {
  const original = readYaml('envoy/sidecar.yaml', fs.readFileSync(path.join(ENVOY_DIR, 'sidecar.yaml'), 'utf8')).value;
  const hcm = (c: unknown): Obj => at(c, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config');
  const authz = (c: unknown): Obj => at(hcm(c), 'http_filters', 1, 'typed_config');
  const mandateCluster = (c: unknown): Obj => at(c, 'static_resources', 'clusters', 0);
  const legacyRoute = (c: unknown): Obj => at(hcm(c), 'route_config', 'virtual_hosts', 0, 'routes', 0);

  // Rows: what goes wrong, how the copy is broken, what the schema check must say.
  it.each<[string, (c: Obj) => void, string]>([
    ['a typo in a top-level field', (c) => { c['static_resource'] = c['static_resources']; delete c['static_resources']; }, 'unknown field "static_resource" in envoy.config.bootstrap.v3.Bootstrap'],
    ['a typo inside the ext_authz Any', (c) => { authz(c)['include_peer_certificat'] = true; }, 'unknown field "include_peer_certificat" in envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'],
    ['a typo inside a per-route Any', (c) => { at(legacyRoute(c), 'typed_per_filter_config', 'envoy.filters.http.ext_authz')['check_setting'] = {}; }, 'unknown field "check_setting" in envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute'],
    ['a typo in the cluster protocol options Any', (c) => { at(mandateCluster(c), 'typed_extension_protocol_options', HTTP_OPTIONS_KEY)['explicit_http_confg'] = {}; }, 'unknown field "explicit_http_confg"'],
    ['a boolean given as text', (c) => { authz(c)['failure_mode_allow'] = 'false'; }, 'failure_mode_allow expects true or false, got string "false"'],
    ['a port that is not a number', (c) => { at(mandateCluster(c), 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address')['port_value'] = 'grpc'; }, 'port_value expects an unsigned 32-bit integer'],
    ['a Duration in Go syntax', (c) => { at(authz(c), 'grpc_service')['timeout'] = '100ms'; }, 'a Duration is written like "0.25s", got string "100ms"'],
    ['an unknown enum name', (c) => { authz(c)['transport_api_version'] = 'V4'; }, 'string "V4" is not a value of enum envoy.config.core.v3.ApiVersion'],
    ['a deprecated enum value', (c) => { authz(c)['transport_api_version'] = 'V2'; }, 'enum value V2 of envoy.config.core.v3.ApiVersion is deprecated'],
    ['a deprecated field', (c) => { mandateCluster(c)['http2_protocol_options'] = {}; }, 'field http2_protocol_options of envoy.config.cluster.v3.Cluster is deprecated'],
    ['a list where a message goes', (c) => { authz(c)['grpc_service'] = []; }, 'expected an object for envoy.config.core.v3.GrpcService, got a list'],
    ['a message where a list goes', (c) => { hcm(c)['http_filters'] = {}; }, 'expected a list for http_filters, got an object'],
    ['a null left by an empty YAML key', (c) => { authz(c)['grpc_service'] = null; }, 'null is not a value for grpc_service'],
    ['an unknown @type', (c) => { authz(c)['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuth'; }, 'unknown @type type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuth'],
    ['an Any without @type', (c) => { delete authz(c)['@type']; }, 'an Any needs an "@type"'],
    ['two members of one oneof', (c) => { at(legacyRoute(c), 'match')['path'] = '/legacy'; }, 'only one of prefix, path, safe_regex'],
    ['a required oneof left empty', (c) => { delete at(mandateCluster(c), 'typed_extension_protocol_options', HTTP_OPTIONS_KEY)['explicit_http_config']; }, 'one of explicit_http_config, use_downstream_protocol_config, auto_config is required'],
    ['an empty string where one is required', (c) => { mandateCluster(c)['name'] = ''; }, 'name must be at least 1 character(s)'],
    ['a wrapper (BoolValue) given as text', (c) => { hcm(c)['normalize_path'] = 'yes'; }, 'google.protobuf.BoolValue expects true or false, got string "yes"'],
    ['a map value of the wrong type', (c) => { at(legacyRoute(c), 'typed_per_filter_config', 'envoy.filters.http.ext_authz', 'check_settings', 'context_extensions')['function'] = 7; }, 'context_extensions expects a string, got number 7'],
  ])('schema: %s', (_name, breakIt, expected) => {
    expect(schema.check(BOOTSTRAP, original)).toEqual([]);
    const copy = structuredClone(original) as Obj;
    breakIt(copy);
    const errors = schemaErrors('copy.yaml', copy);
    expect(errors.join('\n')).toContain(expected);
  });

  it.each<[string, (c: Obj) => void, string]>([
    ['the ext_authz filter is missing', (c) => { hcm(c)['http_filters'] = (hcm(c)['http_filters'] as Obj[]).filter((f) => (f['typed_config'] as Obj)['@type'] !== EXT_AUTHZ_TYPE); }, 'expected exactly one ext_authz filter, found 0'],
    ['ext_authz runs after the router', (c) => { (hcm(c)['http_filters'] as Obj[]).reverse(); }, 'the router is not the last HTTP filter'],
    ['the mandate cluster is missing', (c) => { at(c, 'static_resources')['clusters'] = [at(c, 'static_resources', 'clusters', 1)]; }, 'no cluster named "mandate"'],
    ['mandate spoken to over HTTP/1', (c) => { delete mandateCluster(c)['typed_extension_protocol_options']; }, 'cluster mandate does not use explicit HTTP/2'],
    ['failing open', (c) => { authz(c)['failure_mode_allow'] = true; }, 'failure_mode_allow must be set to false'],
    ['failure mode left to the default', (c) => { delete authz(c)['failure_mode_allow']; }, 'failure_mode_allow must be set to false'],
    ['no peer certificate', (c) => { delete authz(c)['include_peer_certificate']; }, 'include_peer_certificate is not true'],
    ['the v2 transport', (c) => { delete authz(c)['transport_api_version']; }, 'transport_api_version is not V3'],
    ['a timeout far above the budget', (c) => { at(authz(c), 'grpc_service')['timeout'] = '2s'; }, 'ext_authz timeout must be 0.05s-0.25s, got 2s'],
    ['the body buffered for the check', (c) => { authz(c)['with_request_body'] = { max_request_bytes: 8192 }; }, 'ext_authz buffers the request body'],
    ['no path normalization', (c) => { delete hcm(c)['normalize_path']; }, 'normalize_path is not true'],
    ['escaped slashes kept', (c) => { hcm(c)['path_with_escaped_slashes_action'] = 'KEEP_UNCHANGED'; }, 'path_with_escaped_slashes_action must be REJECT_REQUEST or UNESCAPE_AND_REDIRECT'],
    ['the caller XFCC forwarded', (c) => { hcm(c)['forward_client_cert_details'] = 'APPEND_FORWARD'; }, 'SANITIZE_SET with uri: true'],
    ['client certificates optional', (c) => { delete at(c, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'transport_socket', 'typed_config')['require_client_certificate']; }, 'client certificate not required'],
    ['a route switches ext_authz off', (c) => { at(legacyRoute(c), 'typed_per_filter_config', 'envoy.filters.http.ext_authz')['disabled'] = true; }, 'a route disables ext_authz'],
    ['an invalid function name on the legacy route', (c) => { at(legacyRoute(c), 'typed_per_filter_config', 'envoy.filters.http.ext_authz', 'check_settings', 'context_extensions')['function'] = 'Report Export'; }, 'route function "Report Export" is not a valid function name'],
    ['no route declares a function', (c) => { delete legacyRoute(c)['typed_per_filter_config']; }, 'no route declares a business function'],
  ])('requirements: %s', (_name, breakIt, expected) => {
    expect(deploymentProblems(original, 'sidecar')).toEqual([]);
    const copy = structuredClone(original) as Obj;
    breakIt(copy);
    expect(deploymentProblems(copy, 'sidecar').join('\n')).toContain(expected);
  });

  it.each<[string, boolean]>([
    ['SANITIZE', true],
    ['SANITIZE_SET', true],
    ['APPEND_FORWARD', false],
    ['FORWARD_ONLY', false],
  ])('a gateway with forward_client_cert_details %s: accepted %s', (value, ok) => {
    const gateway = readYaml('gateway.yaml', fs.readFileSync(path.join(ENVOY_DIR, 'gateway.yaml'), 'utf8')).value;
    const copy = structuredClone(gateway) as Obj;
    hcm(copy)['forward_client_cert_details'] = value;
    const problems = deploymentProblems(copy, 'gateway');
    if (ok) expect(problems).toEqual([]);
    else expect(problems.join('\n')).toContain("a gateway must not pass a caller's x-forwarded-client-cert on");
  });

  it('a duplicate YAML key is an error, with its position', () => {
    const text = fs.readFileSync(path.join(ENVOY_DIR, 'sidecar.yaml'), 'utf8').replace('      connect_timeout: 0.25s\n', '      connect_timeout: 0.25s\n      connect_timeout: 1s\n');
    expect(readYaml('copy.yaml', text).errors.join('\n')).toMatch(/unique/i);
  });

  it('points a schema problem at its line and column', () => {
    const text = fs.readFileSync(path.join(ENVOY_DIR, 'sidecar.yaml'), 'utf8').replace('include_peer_certificate: true', 'include_peer_certificat: true');
    const yaml = readYaml('copy.yaml', text);
    const line = text.split('\n').findIndex((l) => l.includes('include_peer_certificat:')) + 1;
    const column = (text.split('\n')[line - 1] as string).indexOf('include_peer_certificat') + 1;
    expect(formatProblems(yaml, schema.check(BOOTSTRAP, yaml.value))).toEqual([
      expect.stringMatching(new RegExp(`^copy\\.yaml:${line}:${column}: .*unknown field "include_peer_certificat"`)),
    ]);
  });
});
