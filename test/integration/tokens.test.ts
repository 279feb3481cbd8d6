/**
 * Task tokens end to end over real sockets: a workload gets a token from the TaskTokens API
 * over mTLS, presents it in Check, completes the task; a token shown by another workload or
 * for another function is refused; two servers sharing a real redis-server agree on
 * revocations, and refuse tokens while their Redis link has been down too long.
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTaskTokensPackage } from '../../src/tokens/proto.js';
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from '../helpers/certs.js';
import { checkRequest, envoyClient, responseHeaders, type EnvoyClient } from '../helpers/envoy-client.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { ADMIN, refundWorkerMandate, STRANGER, WORKER } from '../tokens/grpc-fixtures.js';

const TD = 'prod.example.org';
const CART = STRANGER;
const PAYMENTS = `spiffe://${TD}/ns/payments/sa/payments-api`;

const POLICY = `${refundWorkerMandate(PAYMENTS, '/v1/payments/{id}/refund')}---
apiVersion: mandate/v1
kind: Mandate
metadata: {name: cart}
spec:
  subject: ${CART}
  owner: team-shop
  purpose: Checkout
  risk: high
  functions:
    - name: refund-processing
      actions:
        - {target: ${PAYMENTS}, methods: [POST], paths: ["/v1/payments/{id}/refund"]}
`;

type Rpc = (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void;

let ca: TestCa;
let dir: string;
const leaves: Record<string, TestLeaf> = {};
const closers: Array<() => void> = [];

function serverArgs(extra: string[] = []): string[] {
  return [
    '--policies', path.join(dir, 'policy.yaml'),
    '--tls-cert', path.join(dir, 'server.pem'),
    '--tls-key', path.join(dir, 'server.key'),
    '--tls-client-ca', path.join(dir, 'ca.pem'),
    '--token-key', path.join(dir, 'token.pem'),
    '--token-admin', ADMIN,
    ...extra,
  ];
}

function creds(who: string): grpc.ChannelCredentials {
  const leaf = leaves[who]!;
  return grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.certPem));
}

interface Endpoint {
  readonly grpcPort: number;
}

function tokens(server: Endpoint, who: string): (method: string, req: unknown) => Promise<Record<string, unknown>> {
  const pkg = grpc.loadPackageDefinition(loadTaskTokensPackage()) as unknown as {
    mandate: { v1: { TaskTokens: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & Record<string, Rpc> } };
  };
  const client = new pkg.mandate.v1.TaskTokens(`localhost:${server.grpcPort}`, creds(who));
  closers.push(() => client.close());
  return (method, req) =>
    new Promise((resolve, reject) =>
      client[method]!.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
}

function envoy(server: Endpoint): EnvoyClient {
  const c = envoyClient(`localhost:${server.grpcPort}`, creds('envoy'));
  closers.push(() => c.close());
  return c;
}

/**
 * Waits until the server completes a TLS handshake. The server loads its certificates through
 * grpc-js file-watcher providers, which deliver them asynchronously after startServer()
 * resolves; a handshake in that window is dropped (reported to the server's owner).
 */
async function tlsReady(server: Endpoint): Promise<void> {
  const c = envoy(server);
  await new Promise<void>((resolve, reject) => c.raw.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
}

async function check(c: EnvoyClient, principal: string, fn: string, token: string | null): Promise<{ code: number; reason: string | null }> {
  const get = fn === 'reporting';
  const r = await c.check(
    checkRequest({
      principal,
      destination: PAYMENTS,
      method: get ? 'GET' : 'POST',
      path: get ? '/v1/reports/daily' : '/v1/payments/7/refund',
      function: fn,
      headers: token === null ? {} : { 'txn-token': token },
    }),
  );
  return { code: r.status.code, reason: responseHeaders(r)['x-mandate-reason'] ?? null };
}

beforeAll(async () => {
  ca = await makeCa({ trustDomain: TD });
  dir = mkdtempSync(path.join(tmpdir(), 'mandate-tokens-it-'));
  const server = await makeLeaf(ca, { uris: [`spiffe://${TD}/ns/mandate/sa/mandate`], dns: ['localhost'] });
  const made = await Promise.all([WORKER, CART, ADMIN, `spiffe://${TD}/ns/envoy/sa/envoy`].map((u) => makeLeaf(ca, { uris: [u] })));
  [leaves['worker'], leaves['cart'], leaves['admin'], leaves['envoy']] = made;
  writeFileSync(path.join(dir, 'server.pem'), server.certPem);
  writeFileSync(path.join(dir, 'server.key'), server.keyPem);
  writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  writeFileSync(path.join(dir, 'token.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
});

afterAll(() => {
  for (const c of closers) c();
  rmSync(dir, { recursive: true, force: true });
});

describe('one server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(serverArgs());
    await tlsReady(server);
  });
  afterAll(async () => {
    await server?.drain(2000);
  });

  it('issue over mTLS, allowed in Check, completed, then TOKEN_REVOKED', async () => {
    const worker = tokens(server, 'worker');
    const c = envoy(server);
    expect(await check(c, WORKER, 'refund-processing', null)).toEqual({ code: 16, reason: 'TOKEN_REQUIRED' });
    const issued = await worker('Issue', { function: 'refund-processing', ttl_seconds: 120 });
    expect(issued['ttl_seconds']).toBe(120);
    const token = String(issued['token']);
    expect(await check(c, WORKER, 'refund-processing', token)).toEqual({ code: 0, reason: null });
    await worker('Complete', { txn: issued['txn'] });
    expect(await check(c, WORKER, 'refund-processing', token)).toEqual({ code: 16, reason: 'TOKEN_REVOKED' });
  });

  it("another workload presenting the worker's token: TOKEN_SUBJECT_MISMATCH", async () => {
    const { token } = await tokens(server, 'worker')('Issue', { function: 'refund-processing' });
    expect(await check(envoy(server), CART, 'refund-processing', String(token))).toEqual({ code: 7, reason: 'TOKEN_SUBJECT_MISMATCH' });
  });

  it('the token used for another function: TOKEN_FUNCTION_MISMATCH', async () => {
    const { token } = await tokens(server, 'worker')('Issue', { function: 'refund-processing' });
    expect(await check(envoy(server), WORKER, 'reporting', String(token))).toEqual({ code: 7, reason: 'TOKEN_FUNCTION_MISMATCH' });
  });

  it('an admin revokes a task; the workload cannot', async () => {
    const { token, txn } = await tokens(server, 'worker')('Issue', { function: 'refund-processing' });
    await expect(tokens(server, 'worker')('Revoke', { txn })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect((await check(envoy(server), WORKER, 'refund-processing', String(token))).code).toBe(0);
    await tokens(server, 'admin')('Revoke', { txn });
    expect(await check(envoy(server), WORKER, 'refund-processing', String(token))).toEqual({ code: 16, reason: 'TOKEN_REVOKED' });
  });

  it('publishes the signing key at /.well-known/jwks.json with the token kid', async () => {
    const { token } = await tokens(server, 'worker')('Issue', { function: 'refund-processing' });
    const kid = (JSON.parse(Buffer.from(String(token).split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const jwks = (await (await fetch(`${server.httpBase}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kid, kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });
});

describe('two servers sharing Redis', () => {
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
    const shared = ['--redis-url', redis.url, '--revocation-max-staleness', '500ms'];
    [a, b] = await Promise.all([startTestServer(serverArgs(shared)), startTestServer(serverArgs(shared))]);
    await Promise.all([tlsReady(a), tlsReady(b)]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.drain(2000), b?.drain(2000)]);
    await redis?.dispose();
  });

  it('a task completed on one replica is revoked on the other within a second', async () => {
    const issued = await tokens(a, 'worker')('Issue', { function: 'refund-processing' });
    const token = String(issued['token']);
    const onB = envoy(b);
    // Both replicas start with an empty Redis; wait until B has synced (no longer down).
    await waitFor(async () => (await check(onB, WORKER, 'refund-processing', token)).code === 0, 'replica B allows the token');
    await tokens(a, 'worker')('Complete', { txn: issued['txn'] });
    const completed = Date.now();
    await waitFor(async () => (await check(onB, WORKER, 'refund-processing', token)).reason === 'TOKEN_REVOKED', 'revocation on B', 1000, 10);
    expect(Date.now() - completed).toBeLessThan(1000);
  });

  it('Complete with only the txn works on a replica that did not issue the token', async () => {
    const issued = await tokens(a, 'worker')('Issue', { function: 'refund-processing' });
    await expect(tokens(b, 'cart')('Complete', { txn: issued['txn'] })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await tokens(b, 'worker')('Complete', { txn: issued['txn'] });
    const onA = envoy(a);
    await waitFor(async () => (await check(onA, WORKER, 'refund-processing', String(issued['token']))).reason === 'TOKEN_REVOKED', 'revocation on A', 1000, 10);
  });

  it('Redis down past the bound: REVOCATION_UNAVAILABLE for token requests; back: allowed again', async () => {
    const { token } = await tokens(a, 'worker')('Issue', { function: 'refund-processing' });
    const onB = envoy(b);
    expect((await check(onB, WORKER, 'refund-processing', String(token))).code).toBe(0);
    await redis.stop();
    const denied = await waitFor(async () => {
      const r = await check(onB, WORKER, 'refund-processing', String(token));
      return r.reason === 'REVOCATION_UNAVAILABLE' ? r : null;
    }, 'REVOCATION_UNAVAILABLE', 5000, 50);
    expect(denied.code).toBe(14);
    // Requests without a token do not depend on revocation state.
    expect((await check(onB, WORKER, 'reporting', null)).code).toBe(0);
    await redis.start();
    await waitFor(async () => (await check(onB, WORKER, 'refund-processing', String(token))).code === 0, 'allowed after Redis is back', 5000, 50);
  });
});

describe('two server processes sharing Redis (dist/, as npm test builds it)', () => {
  const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  let redis: RedisServer;
  const children: ChildProcess[] = [];

  async function serve(): Promise<Endpoint> {
    const child = spawn(
      process.execPath,
      [BIN, 'serve', ...serverArgs(['--redis-url', redis.url, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--log-level', 'info', '--log-file', path.join(dir, `decisions-${children.length}.log`)])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.resume();
    // The operational log names the bound ports.
    const addr = await waitFor(() => /"grpc":"([^"]+)"/.exec(err)?.[1], 'the serving line', 15_000);
    const endpoint = { grpcPort: Number(addr.slice(addr.lastIndexOf(':') + 1)) };
    await tlsReady(endpoint);
    return endpoint;
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await redis?.dispose();
  });

  it('Complete on one process, TOKEN_REVOKED on the other within a second; the CLI revokes through either', async () => {
    const [a, b] = await Promise.all([serve(), serve()]);
    const issued = await tokens(a, 'worker')('Issue', { function: 'refund-processing' });
    const token = String(issued['token']);
    const onB = envoy(b);
    await waitFor(async () => (await check(onB, WORKER, 'refund-processing', token)).code === 0, 'process B allows the token', 10_000);
    await tokens(a, 'worker')('Complete', { txn: issued['txn'] });
    const completed = Date.now();
    await waitFor(async () => (await check(onB, WORKER, 'refund-processing', token)).reason === 'TOKEN_REVOKED', 'revocation on B', 1000, 10);
    expect(Date.now() - completed).toBeLessThan(1000);

    // The operator CLI (a third process) revokes a task through B; A refuses its token.
    const second = await tokens(a, 'worker')('Issue', { function: 'refund-processing' });
    const onA = envoy(a);
    expect((await check(onA, WORKER, 'refund-processing', String(second['token']))).code).toBe(0);
    writeFileSync(path.join(dir, 'admin.pem'), leaves['admin']!.certPem);
    writeFileSync(path.join(dir, 'admin.key'), leaves['admin']!.keyPem);
    const cli = spawnSync(
      process.execPath,
      [BIN, 'token', 'revoke', '--server', `localhost:${b.grpcPort}`, '--txn', String(second['txn']),
        '--tls-cert', path.join(dir, 'admin.pem'), '--tls-key', path.join(dir, 'admin.key'), '--tls-ca', path.join(dir, 'ca.pem')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect([cli.status, cli.stdout, cli.stderr]).toEqual([0, `revoked ${String(second['txn'])}\n`, '']);
    await waitFor(async () => (await check(onA, WORKER, 'refund-processing', String(second['token']))).reason === 'TOKEN_REVOKED', 'revocation on A', 1000, 10);
  }, 90_000); // two process starts on a shared 2-core box
});
