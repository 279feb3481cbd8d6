/**
 * A gRPC client for envoy.service.auth.v3.Authorization whose schema is Envoy's official
 * protos (loaded separately from the server's definition, with defaults filled in for
 * assertions; the same files), as Envoy would call us.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoDirs } from '../../src/envoy/protos.js';

let definition: protoLoader.PackageDefinition | null = null;
function load(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: envoyProtoDirs(),
  });
  return definition;
}

export interface HeaderOption {
  header: { key: string; value: string };
}

export interface CheckResponse {
  status: { code: number; message: string };
  http_response?: 'ok_response' | 'denied_response';
  ok_response?: { headers: HeaderOption[]; headers_to_remove: string[] };
  denied_response?: { status: { code: string }; headers: HeaderOption[]; body: string };
  dynamic_metadata?: { fields: Record<string, { kind?: string; stringValue?: string; boolValue?: boolean; nullValue?: string }> };
}

export interface EnvoyClient {
  check(request: unknown, options?: { deadlineMs?: number }): Promise<CheckResponse>;
  raw: grpc.Client;
  close(): void;
}

export function envoyClient(address: string, credentials = grpc.credentials.createInsecure()): EnvoyClient {
  const pkg = grpc.loadPackageDefinition(load()) as unknown as {
    envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
  };
  const Ctor = pkg.envoy.service.auth.v3.Authorization;
  const client = new Ctor(address, credentials);
  return {
    raw: client,
    check: (request, options = {}) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (options.deadlineMs ?? 5000));
        (client as unknown as { Check: (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: CheckResponse) => void) => void }).Check(
          request,
          new grpc.Metadata(),
          { deadline },
          (err, value) => (err === null ? resolve(value) : reject(err)),
        );
      }),
    close: () => client.close(),
  };
}

/** The headers of an allow or deny response as a lower-case map. */
export function responseHeaders(r: CheckResponse): Record<string, string> {
  const list = r.ok_response?.headers ?? r.denied_response?.headers ?? [];
  const out: Record<string, string> = {};
  for (const h of list) out[h.header.key.toLowerCase()] = h.header.value;
  return out;
}

export interface RequestParts {
  principal?: string;
  certificate?: string;
  destination?: string;
  host?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  function?: string;
  routeFunction?: string;
  noHttp?: boolean;
}

/** A CheckRequest as Envoy's HTTP filter sends it. */
export function checkRequest(p: RequestParts): unknown {
  const headers: Record<string, string> = {
    ':authority': p.host ?? 'payments.internal',
    ':method': p.method ?? 'GET',
    ':path': p.path ?? '/',
    'x-request-id': 'req-1',
    ...(p.function === undefined ? {} : { 'x-business-function': p.function }),
    ...p.headers,
  };
  return {
    attributes: {
      source: { principal: p.principal ?? '', ...(p.certificate === undefined ? {} : { certificate: p.certificate }) },
      destination: { principal: p.destination ?? '' },
      ...(p.noHttp === true
        ? {}
        : {
            request: {
              http: {
                id: '1234',
                method: p.method ?? 'GET',
                path: p.path ?? '/',
                host: p.host ?? 'payments.internal',
                scheme: 'https',
                protocol: 'HTTP/2',
                headers,
              },
            },
          }),
      context_extensions: p.routeFunction === undefined ? {} : { function: p.routeFunction },
    },
  };
}
