/**
 * The transport floor: the smallest grpc-js ext_authz server that can exist, with the same
 * stack mandate uses (grpc-js + proto-loader over Envoy's official protos, full decoding of
 * the CheckRequest) and a Check that allows everything without looking at the request.
 * No ext_authz server built on grpc-js can answer faster; mandate is compared with it.
 *
 * Usage: node benchmarks/floor-server.mjs [HOST:PORT]   (port 0 picks one)
 * Prints `listening PORT` on stdout once bound; exits on SIGTERM/SIGINT.
 */
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthzDefinition } from '../dist/envoy/protos.js';

// The definition mandate's server starts from (proto-loader over Envoy's official protos,
// the same options): only the Check implementation differs.
const pkg = grpc.loadPackageDefinition(loadExtAuthzDefinition());
const service = pkg.envoy.service.auth.v3.Authorization.service;

// One frozen response, built once: the floor does no per-request work of its own.
const ALLOW = Object.freeze({ status: { code: 0 }, ok_response: {} });

const server = new grpc.Server();
server.addService(service, {
  Check(_call, callback) {
    callback(null, ALLOW);
  },
});
const addr = process.argv[2] ?? '127.0.0.1:0';
server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`floor: bind failed: ${err.message}\n`);
    process.exit(2);
  }
  process.stdout.write(`listening ${port}\n`);
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
