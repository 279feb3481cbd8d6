/**
 * Loads Envoy's official ext_authz v3 protos (the `deps/envoy-api` tree shipped by
 * @grpc/grpc-js-xds) once per process. Loading parses a few hundred files (~200 ms), so
 * callers share the cached definition.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** Directories that hold Envoy's protos and the protos they import. */
export function envoyProtoDirs(): string[] {
  const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xdsRoot, 'deps', d));
}

/** Options shared by server and test clients: snake_case fields, enums as names, no defaults. */
export const LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});

let cached: protoLoader.PackageDefinition | null = null;

export function loadExtAuthzDefinition(): protoLoader.PackageDefinition {
  if (cached === null) {
    cached = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
      ...LOADER_OPTIONS,
      includeDirs: envoyProtoDirs(),
    });
  }
  return cached;
}

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

/**
 * Check as proto-loader loaded it: its requestDeserialize / responseSerialize are what the
 * codecs fall back to, and its path and streaming flags what the server registers.
 */
export function checkMethodDefinition(): protoLoader.MethodDefinition<unknown, unknown> {
  const service = loadExtAuthzDefinition()[AUTHORIZATION_SERVICE] as unknown as Record<string, protoLoader.MethodDefinition<unknown, unknown> | undefined>;
  const check = service['Check'];
  if (check === undefined) throw new Error(`${AUTHORIZATION_SERVICE} has no Check method`);
  return check;
}

/** A replacement codec for the Check method (src/envoy/check-{request,response}-codec.ts). */
export interface CheckCodec {
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: unknown) => Buffer;
}

/**
 * The Authorization service as loaded, with Check's codec replaced. Path, names and
 * streaming flags stay those of the official definition; the cached definition itself is
 * not changed (the codecs fall back to its proto-loader functions).
 */
export function authorizationServiceDefinition(codec: CheckCodec): grpc.ServiceDefinition {
  const service = loadExtAuthzDefinition()[AUTHORIZATION_SERVICE] as grpc.ServiceDefinition;
  return {
    ...service,
    Check: { ...checkMethodDefinition(), requestDeserialize: codec.requestDeserialize, responseSerialize: codec.responseSerialize },
  };
}
