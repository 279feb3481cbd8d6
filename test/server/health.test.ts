import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTHORIZATION_SERVICE } from '../../src/envoy/protos.js';
import { createHealthService, HEALTH_PROTO_PATH, probeAnswer, type HealthService } from '../../src/server/health.js';
import { waitFor } from '../helpers/wait.js';

type Status = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthClient extends grpc.Client {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: Status }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}

// The client gets its schema from its own load of the proto, as an outside caller would.
const pkg = protoLoader.loadSync(HEALTH_PROTO_PATH, { keepCase: true, enums: String, defaults: true });
const Health = (grpc.loadPackageDefinition(pkg) as unknown as { grpc: { health: { v1: { Health: new (addr: string, creds: grpc.ChannelCredentials) => HealthClient } } } }).grpc.health.v1.Health;

// Bounded polling (test/helpers/wait.ts) for states that raise no event.
const until = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  await waitFor(cond, what, ms, 5);
};

let server: grpc.Server;
let health: HealthService;
let client: HealthClient;

beforeEach(async () => {
  health = createHealthService();
  server = new grpc.Server();
  server.addService(health.definition, health.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  health.shutdown();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

function check(service: string): Promise<{ status?: Status; code?: number }> {
  return new Promise((resolve) => {
    client.Check({ service }, (err, res) => resolve(err ? { code: err.code } : { status: res?.status }));
  });
}

/** Opens a Watch stream on `service`; `seen` collects the statuses it delivers. */
function watch(service: string): { seen: Status[]; stream: grpc.ClientReadableStream<{ status: Status }> } {
  const seen: Status[] = [];
  const stream = client.Watch({ service });
  stream.on('data', (m: { status: Status }) => seen.push(m.status));
  stream.on('error', () => undefined);
  return { seen, stream };
}

describe('grpc.health.v1.Health over a real connection', () => {
  it.each([
    ['', false, { status: 'NOT_SERVING' }],
    [AUTHORIZATION_SERVICE, false, { status: 'NOT_SERVING' }],
    ['', true, { status: 'SERVING' }],
    [AUTHORIZATION_SERVICE, true, { status: 'SERVING' }],
    ['no.such.Service', true, { code: grpc.status.NOT_FOUND }],
    ['envoy.service.auth.v3.authorization', true, { code: grpc.status.NOT_FOUND }],
  ])('Check(%j) with serving=%s answers %j', async (service, serving, expected) => {
    health.setServing(serving);
    expect(await check(service)).toEqual(expected);
  });

  it('Watch sends the status at once, then each change exactly once', async () => {
    const { seen, stream } = watch('');
    await until(() => seen.length === 1, 'the first status');
    expect(seen).toEqual(['NOT_SERVING']);
    await until(() => health.watchers() === 1, 'the watcher to register');
    health.setServing(true);
    health.setServing(true);
    await until(() => seen.length === 2, 'SERVING');
    health.setServing(false);
    await until(() => seen.length === 3, 'NOT_SERVING');
    health.setServing(true);
    await until(() => seen.length === 4, 'SERVING again');
    expect(seen).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING', 'SERVING']);
    stream.cancel();
    await until(() => health.watchers() === 0, 'the cancelled watcher to be forgotten');
  });

  it('Watch of an unknown service answers SERVICE_UNKNOWN instead of failing', async () => {
    const { seen, stream } = watch('no.such.Service');
    await until(() => seen.length === 1, 'the first status');
    expect(seen).toEqual(['SERVICE_UNKNOWN']);
    stream.cancel();
  });

  it('shutdown reports NOT_SERVING to watchers and ends their streams so the server can stop', async () => {
    health.setServing(true);
    let ended = false;
    const { seen, stream } = watch(AUTHORIZATION_SERVICE);
    stream.on('end', () => (ended = true));
    await until(() => seen.length === 1 && health.watchers() === 1, 'the first status');
    health.shutdown();
    await until(() => ended, 'the stream to end');
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    health.setServing(true); // ignored once shutting down
    expect(await check('')).toEqual({ status: 'NOT_SERVING' });
  });
});

describe('HTTP probes', () => {
  it.each([
    ['/healthz', { loaded: false, draining: false }, 200, 'ok\n'],
    ['/healthz', { loaded: true, draining: true }, 200, 'ok\n'],
    ['/readyz', { loaded: true, draining: false }, 200, 'ready\n'],
    ['/readyz?verbose', { loaded: true, draining: false }, 200, 'ready\n'],
    ['/readyz', { loaded: false, draining: false }, 503, 'no policy set loaded\n'],
    ['/readyz', { loaded: true, draining: true }, 503, 'draining\n'],
  ])('%s with %j is %i', (path, state, status, body) => {
    expect(probeAnswer(path, state)).toEqual({ status, contentType: 'text/plain; charset=utf-8', body });
  });

  it('answers nothing for other paths', () => {
    expect(probeAnswer('/metrics', { loaded: true, draining: false })).toBeNull();
    expect(probeAnswer('/healthz/', { loaded: true, draining: false })).toBeNull();
  });
});
