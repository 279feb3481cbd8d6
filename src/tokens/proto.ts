/** Loads protos/mandate/v1/task_tokens.proto once (src/ and dist/ sit at the same depth). */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';

export const TASK_TOKENS_SERVICE = 'mandate.v1.TaskTokens';
const PROTOS_DIR = fileURLToPath(new URL('../../protos', import.meta.url));

let loaded: protoLoader.PackageDefinition | null = null;

export function loadTaskTokensPackage(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync('mandate/v1/task_tokens.proto', {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTOS_DIR],
  });
  return loaded;
}

export function taskTokensDefinition(): grpc.ServiceDefinition {
  return loadTaskTokensPackage()[TASK_TOKENS_SERVICE] as unknown as grpc.ServiceDefinition;
}
