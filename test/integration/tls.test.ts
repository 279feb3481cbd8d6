/**
 * TLS and mTLS on the gRPC port with certificates generated in the test: a client with a
 * certificate from the configured CA is served, one without is refused, and a server
 * certificate rewritten on disk is picked up without a restart.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeLeaf, type TestCa } from '../helpers/certs.js';
import { checkRequest, envoyClient } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const POLICIES = new URL('../fixtures/integration/policies', import.meta.url).pathname;
const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';

let ca: TestCa;
let dir: string;
let server: TestServer;

function serverCertSerial(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem, ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  ca = await makeCa({ trustDomain: 'prod.example.org' });
  const leaf = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/mandate/sa/mandate'], dns: ['localhost'] });
  dir = mkdtempSync(path.join(tmpdir(), 'mandate-tls-'));
  writeFileSync(path.join(dir, 'server.pem'), leaf.certPem);
  writeFileSync(path.join(dir, 'server.key'), leaf.keyPem);
  writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
  server = await startTestServer([
    '--policies', POLICIES,
    '--tls-cert', path.join(dir, 'server.pem'),
    '--tls-key', path.join(dir, 'server.key'),
    '--tls-client-ca', path.join(dir, 'ca.pem'),
  ]);
});
afterAll(async () => {
  await server?.drain(2000);
});

const request = checkRequest({ principal: WORKER, destination: 'spiffe://prod.example.org/ns/payments/sa/payments-api', method: 'POST', path: '/v1/payments/1/refund', function: 'refund-processing' });

describe('mTLS on the gRPC port', () => {
  it('serves a client that presents a certificate from the client CA', async () => {
    const client = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/envoy/sa/envoy'] });
    const creds = grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(client.keyPem), Buffer.from(client.certPem));
    const c = envoyClient(`localhost:${server.grpcPort}`, creds);
    try {
      expect((await c.check(request)).status.code).toBe(0);
    } finally {
      c.close();
    }
  });

  it('refuses a client without a certificate', async () => {
    const c = envoyClient(`localhost:${server.grpcPort}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)));
    try {
      await expect(c.check(request, { deadlineMs: 3000 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      c.close();
    }
  });

  it('refuses a plaintext client', async () => {
    const c = envoyClient(`127.0.0.1:${server.grpcPort}`);
    try {
      await expect(c.check(request, { deadlineMs: 3000 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      c.close();
    }
  });

  it('picks up a rotated server certificate without a restart', async () => {
    const before = await serverCertSerial(server.grpcPort, ca.certPem);
    const next = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/mandate/sa/mandate'], dns: ['localhost'] });
    writeFileSync(path.join(dir, 'server.key'), next.keyPem);
    writeFileSync(path.join(dir, 'server.pem'), next.certPem);
    const after = await waitFor(async () => {
      const s = await serverCertSerial(server.grpcPort, ca.certPem);
      return s !== before ? s : null;
    }, 'the rotated certificate', 8000, 200);
    expect(after).not.toBe(before);
    // And it still serves mTLS clients with the new certificate.
    const client = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/envoy/sa/envoy'] });
    const c = envoyClient(`localhost:${server.grpcPort}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(client.keyPem), Buffer.from(client.certPem)));
    try {
      expect((await c.check(request)).status.code).toBe(0);
    } finally {
      c.close();
    }
  });
});
