/**
 * grpc.health.v1.Health for the gRPC port (SPEC section 7): SERVING once a policy set is
 * loaded, NOT_SERVING before that and while draining. Check answers the server ("") and the
 * ext_authz service by name and NOT_FOUND for anything else; Watch sends the status at once
 * and then each change. shutdown() ends the Watch streams, which would otherwise keep a
 * graceful grpc-js shutdown waiting forever.
 *
 * Also the two pure HTTP probe answers (/healthz, /readyz) the HTTP server serves.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { AUTHORIZATION_SERVICE } from '../envoy/protos.js';

const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
export const HEALTH_PROTO_PATH = fileURLToPath(new URL('../../protos/grpc/health/v1/health.proto', import.meta.url));

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthCheckRequest {
  service?: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

export interface HealthService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Sets every known service SERVING or NOT_SERVING and notifies watchers of a change. */
  setServing(serving: boolean): void;
  /** NOT_SERVING, then ends every Watch stream (and any opened later, after its first message). */
  shutdown(): void;
  /** Open Watch streams. */
  watchers(): number;
}

export interface HealthOptions {
  /** Service names answered besides "" (default: the ext_authz service). */
  readonly services?: readonly string[];
}

let cachedDefinition: grpc.ServiceDefinition | null = null;

/** The Health service definition, loaded from our proto once per process. */
function healthServiceDefinition(): grpc.ServiceDefinition {
  if (cachedDefinition === null) {
    const pkg = protoLoader.loadSync(HEALTH_PROTO_PATH, { keepCase: true, enums: String, defaults: true, oneofs: true });
    cachedDefinition = pkg[HEALTH_SERVICE_NAME] as grpc.ServiceDefinition;
  }
  return cachedDefinition;
}

interface Watcher {
  readonly service: string;
  readonly call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  last: ServingStatus | null;
}

export function createHealthService(opts: HealthOptions = {}): HealthService {
  const known = new Set<string>(['', ...(opts.services ?? [AUTHORIZATION_SERVICE])]);
  let serving = false;
  let shuttingDown = false;
  const watchers = new Set<Watcher>();

  const statusOf = (service: string): ServingStatus =>
    !known.has(service) ? 'SERVICE_UNKNOWN' : serving ? 'SERVING' : 'NOT_SERVING';

  const send = (w: Watcher): void => {
    const status = statusOf(w.service);
    if (status === w.last) return;
    w.last = status;
    try {
      w.call.write({ status });
    } catch {
      watchers.delete(w);
    }
  };

  const end = (w: Watcher): void => {
    watchers.delete(w);
    try {
      w.call.end();
    } catch {
      // already gone
    }
  };

  const implementation: grpc.UntypedServiceImplementation = {
    Check(call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) {
      const service = typeof call.request?.service === 'string' ? call.request.service : '';
      if (!known.has(service)) {
        callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        return;
      }
      callback(null, { status: statusOf(service) });
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = typeof call.request?.service === 'string' ? call.request.service : '';
      const w: Watcher = { service, call, last: null };
      watchers.add(w);
      const forget = (): void => {
        watchers.delete(w);
      };
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('error', forget);
      send(w);
      if (shuttingDown) end(w);
    },
  };

  return {
    definition: healthServiceDefinition(),
    implementation,
    setServing(next) {
      if (shuttingDown && next) return;
      if (next === serving) return;
      serving = next;
      for (const w of [...watchers]) send(w);
    },
    shutdown() {
      shuttingDown = true;
      if (serving) {
        serving = false;
        for (const w of [...watchers]) send(w);
      }
      for (const w of [...watchers]) end(w);
    },
    watchers: () => watchers.size,
  };
}

export interface ProbeState {
  /** A policy set has been loaded. */
  readonly loaded: boolean;
  readonly draining: boolean;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** The answer for GET /healthz (liveness) or /readyz (readiness); null for other paths. */
export function probeAnswer(path: string, state: ProbeState): ProbeAnswer | null {
  const text = (status: number, body: string): ProbeAnswer => ({ status, contentType: 'text/plain; charset=utf-8', body: body + '\n' });
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  if (p === '/healthz') return text(200, 'ok');
  if (p === '/readyz') {
    if (state.draining) return text(503, 'draining');
    if (!state.loaded) return text(503, 'no policy set loaded');
    return text(200, 'ready');
  }
  return null;
}
