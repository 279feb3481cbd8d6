/**
 * What mandate needs from an Envoy bootstrap, beyond being valid for Envoy: the ext_authz filter wired
 * to the `mandate` cluster and failing closed, the connection manager normalizing paths, mTLS with SPIFFE
 * IDs on the listener, HTTP/2 to mandate, and a legacy route declaring its business function. Returns
 * problems as text so the negative tests can show each rule firing.
 */
import fs from 'node:fs';
import YAML, { LineCounter, isMap, isNode, isScalar, isSeq, type Node } from 'yaml';
import type { ConfigPath, SchemaProblem } from './envoy-schema.js';

type Obj = Record<string, unknown>;

export const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
export const EXT_AUTHZ_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const MANDATE_CLUSTER = 'mandate';
export const MANDATE_GRPC_PORT = 9191;
// SPEC section 2: a function name.
const FUNCTION_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
// The check budget: mandate answers in well under 1 ms; see the comment blocks of envoy/*.yaml.
const MIN_TIMEOUT_S = 0.05;
const MAX_TIMEOUT_S = 0.25;

export type EnvoyRole = 'sidecar' | 'gateway';

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown): Obj {
  return isObj(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A proto3 JSON Duration ("0.25s") in seconds; NaN for anything else. */
export function seconds(duration: unknown): number {
  return typeof duration === 'string' && /^\d+(\.\d+)?s$/.test(duration) ? Number(duration.slice(0, -1)) : NaN;
}

/** Test-side navigation into parsed YAML; a wrong path throws, which fails the test that used it. */
export function at(root: unknown, ...keys: Array<string | number>): Obj {
  let cur: unknown = root;
  for (const key of keys) {
    cur = (cur as Record<string | number, unknown>)[key];
    if (typeof cur !== 'object' || cur === null) throw new Error(`no object at ${keys.join('.')}`);
  }
  return cur as Obj;
}

export interface HttpChain {
  readonly listener: string;
  readonly tls: Obj | null;
  readonly hcm: Obj;
}

/** Every HTTP connection manager of the bootstrap's static listeners, with its chain's TLS context. */
export function httpChains(bootstrap: unknown): HttpChain[] {
  const chains: HttpChain[] = [];
  for (const listener of list(obj(obj(bootstrap)['static_resources'])['listeners'])) {
    const name = String(obj(listener)['name']);
    for (const chain of list(obj(listener)['filter_chains'])) {
      const socket = obj(obj(chain)['transport_socket'])['typed_config'];
      for (const filter of list(obj(chain)['filters'])) {
        const config = obj(obj(filter)['typed_config']);
        if (config['@type'] === HCM_TYPE) {
          chains.push({ listener: name, tls: isObj(socket) ? socket : null, hcm: config });
        }
      }
    }
  }
  return chains;
}

export function clusters(bootstrap: unknown): Obj[] {
  return list(obj(obj(bootstrap)['static_resources'])['clusters']).map(obj);
}

export function clusterPorts(cluster: Obj): number[] {
  const ports: number[] = [];
  for (const group of list(obj(cluster['load_assignment'])['endpoints'])) {
    for (const lb of list(obj(group)['lb_endpoints'])) {
      const port = obj(obj(obj(obj(lb)['endpoint'])['address'])['socket_address'])['port_value'];
      if (typeof port === 'number') ports.push(port);
    }
  }
  return ports;
}

export function extAuthzFilters(hcm: Obj): Obj[] {
  return list(hcm['http_filters']).map(obj).filter((f) => obj(f['typed_config'])['@type'] === EXT_AUTHZ_TYPE);
}

function routes(hcm: Obj): Obj[] {
  const out: Obj[] = [];
  for (const vhost of list(obj(hcm['route_config'])['virtual_hosts'])) {
    for (const route of list(obj(vhost)['routes'])) out.push(obj(route));
  }
  return out;
}

/** Functions declared per route through ext_authz check_settings.context_extensions["function"]. */
export function routeFunctions(hcm: Obj): string[] {
  const names: string[] = [];
  for (const route of routes(hcm)) {
    for (const per of Object.values(obj(route['typed_per_filter_config'])).map(obj)) {
      if (per['@type'] !== EXT_AUTHZ_PER_ROUTE_TYPE) continue;
      const fn = obj(obj(per['check_settings'])['context_extensions'])['function'];
      if (typeof fn === 'string') names.push(fn);
    }
  }
  return names;
}

/** Every way `bootstrap` falls short of what mandate needs; empty when it is fit to ship. */
export function deploymentProblems(bootstrap: unknown, role: EnvoyRole): string[] {
  const problems: string[] = [];
  const byName = new Map(clusters(bootstrap).map((c) => [String(c['name']), c]));

  const mandate = byName.get(MANDATE_CLUSTER);
  if (mandate === undefined) {
    problems.push(`no cluster named "${MANDATE_CLUSTER}"`);
  } else {
    const options = obj(obj(mandate['typed_extension_protocol_options'])[HTTP_OPTIONS_KEY]);
    if (!isObj(obj(options['explicit_http_config'])['http2_protocol_options'])) {
      problems.push('cluster mandate does not use explicit HTTP/2 (HttpProtocolOptions.explicit_http_config.http2_protocol_options)');
    }
    const ports = clusterPorts(mandate);
    if (ports.length === 0 || ports.some((p) => p !== MANDATE_GRPC_PORT)) {
      problems.push(`cluster mandate must point at port ${MANDATE_GRPC_PORT}, got [${ports.join(', ')}]`);
    }
  }

  const chains = httpChains(bootstrap);
  if (chains.length === 0) problems.push('no HTTP connection manager on any listener');
  let declaredFunctions = 0;
  for (const { listener, tls, hcm } of chains) {
    const where = `listener ${listener}`;
    if (tls === null || tls['@type'] !== DOWNSTREAM_TLS_TYPE) {
      problems.push(`${where}: no DownstreamTlsContext`);
    } else {
      if (tls['require_client_certificate'] !== true) problems.push(`${where}: client certificate not required`);
      const validation = obj(obj(tls['common_tls_context'])['validation_context']);
      const spiffeSan = list(validation['match_typed_subject_alt_names']).map(obj).some((m) => {
        const prefix = obj(m['matcher'])['prefix'];
        return m['san_type'] === 'URI' && typeof prefix === 'string' && /^spiffe:\/\/[a-z0-9._-]+\/$/.test(prefix);
      });
      if (!spiffeSan) problems.push(`${where}: no URI SAN matcher on a spiffe://<trust domain>/ prefix`);
      if (validation['trusted_ca'] === undefined && validation['custom_validator_config'] === undefined) {
        problems.push(`${where}: no trust bundle (trusted_ca or the SPIFFE validator)`);
      }
    }

    if (hcm['normalize_path'] !== true) problems.push(`${where}: normalize_path is not true`);
    if (hcm['merge_slashes'] !== true) problems.push(`${where}: merge_slashes is not true`);
    const escaped = hcm['path_with_escaped_slashes_action'];
    if (escaped !== 'REJECT_REQUEST' && escaped !== 'UNESCAPE_AND_REDIRECT') {
      problems.push(`${where}: path_with_escaped_slashes_action must be REJECT_REQUEST or UNESCAPE_AND_REDIRECT, got ${String(escaped)}`);
    }
    const fcc = hcm['forward_client_cert_details'];
    if (role === 'sidecar') {
      if (fcc !== 'SANITIZE_SET' || obj(hcm['set_current_client_cert_details'])['uri'] !== true) {
        problems.push(`${where}: a sidecar must set x-forwarded-client-cert itself (SANITIZE_SET with uri: true)`);
      }
    } else if (fcc !== 'SANITIZE' && fcc !== 'SANITIZE_SET') {
      problems.push(`${where}: a gateway must not pass a caller's x-forwarded-client-cert on (SANITIZE or SANITIZE_SET)`);
    }

    const filters = list(hcm['http_filters']).map(obj);
    const authz = extAuthzFilters(hcm);
    const authzAt = filters.findIndex((f) => obj(f['typed_config'])['@type'] === EXT_AUTHZ_TYPE);
    const last = filters[filters.length - 1];
    if (last === undefined || obj(last['typed_config'])['@type'] !== ROUTER_TYPE) {
      problems.push(`${where}: the router is not the last HTTP filter`);
    }
    if (authz.length !== 1) {
      problems.push(`${where}: expected exactly one ext_authz filter, found ${authz.length}`);
      continue;
    }
    if (authzAt === filters.length - 1) problems.push(`${where}: ext_authz comes after the router`);
    const filter = authz[0] as Obj;
    const config = obj(filter['typed_config']);
    if (config['transport_api_version'] !== 'V3') problems.push(`${where}: ext_authz transport_api_version is not V3`);
    const grpc = obj(config['grpc_service']);
    if (obj(grpc['envoy_grpc'])['cluster_name'] !== MANDATE_CLUSTER) {
      problems.push(`${where}: ext_authz does not call the ${MANDATE_CLUSTER} cluster over envoy_grpc`);
    }
    const timeout = seconds(grpc['timeout']);
    if (!(timeout >= MIN_TIMEOUT_S && timeout <= MAX_TIMEOUT_S)) {
      problems.push(`${where}: ext_authz timeout must be ${MIN_TIMEOUT_S}s-${MAX_TIMEOUT_S}s, got ${String(grpc['timeout'])}`);
    }
    if (config['failure_mode_allow'] !== false) problems.push(`${where}: ext_authz failure_mode_allow must be set to false`);
    if (config['include_peer_certificate'] !== true) problems.push(`${where}: ext_authz include_peer_certificate is not true`);
    if (config['with_request_body'] !== undefined) problems.push(`${where}: ext_authz buffers the request body`);

    for (const route of routes(hcm)) {
      for (const [name, per] of Object.entries(obj(route['typed_per_filter_config']))) {
        const perRoute = obj(per);
        if (perRoute['@type'] !== EXT_AUTHZ_PER_ROUTE_TYPE) continue;
        if (name !== filter['name']) problems.push(`${where}: per-route ext_authz config keyed "${name}", not the filter's name "${String(filter['name'])}"`);
        if (perRoute['disabled'] === true) problems.push(`${where}: a route disables ext_authz`);
      }
      const target = obj(route['route'])['cluster'];
      if (typeof target === 'string' && !byName.has(target)) problems.push(`${where}: a route targets unknown cluster "${target}"`);
    }
    for (const fn of routeFunctions(hcm)) {
      declaredFunctions++;
      if (!FUNCTION_NAME.test(fn)) problems.push(`${where}: route function "${fn}" is not a valid function name`);
    }
  }
  if (declaredFunctions === 0) problems.push('no route declares a business function (check_settings.context_extensions.function)');
  return problems;
}

/** A parsed YAML file that can point problems at their line and column. */
export interface LocatedYaml {
  readonly value: unknown;
  readonly errors: string[];
  locate(at: ConfigPath): string;
}

export function readYaml(file: string, text = fs.readFileSync(file, 'utf8')): LocatedYaml {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  return {
    value: doc.toJS(),
    errors: [...doc.errors, ...doc.warnings].map((e) => `${file}: ${e.message}`),
    locate(at: ConfigPath): string {
      // Point at the key of the last path element (an unknown field is reported on its own key),
      // else at the deepest node that exists (a missing field is reported on its parent).
      let node: unknown = doc.contents;
      let found: Node | null = isNode(node) ? node : null;
      for (const [i, key] of at.entries()) {
        let next: unknown;
        let keyNode: unknown = null;
        if (isMap(node)) {
          const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
          next = pair?.value;
          keyNode = pair?.key;
        } else if (isSeq(node) && typeof key === 'number') {
          next = node.items[key];
        }
        if (i === at.length - 1 && isNode(keyNode)) found = keyNode;
        else if (isNode(next)) found = next;
        else break;
        node = next;
      }
      if (found?.range) {
        const { line, col } = lineCounter.linePos(found.range[0]);
        return `${file}:${line}:${col}`;
      }
      return file;
    },
  };
}

export function formatProblems(yaml: LocatedYaml, problems: readonly SchemaProblem[]): string[] {
  return problems.map((p) => `${yaml.locate(p.path)}: ${p.path.join('.')}: ${p.message}`);
}
