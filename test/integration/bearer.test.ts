/**
 * Bearer identities end to end: a JWT-SVID and a CI runner's OIDC token in the
 * authorization header of a Check, verified against key sets configured in the config
 * file (a JWKS file for the SPIFFE bundle, a JWKS served over HTTP on loopback for OIDC).
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, envoyClient, responseHeaders, type EnvoyClient } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const BATCH = 'spiffe://prod.example.org/ns/batch/sa/exporter';
const CI = 'spiffe://ci.example.org/repo/acme/api/workflow/deploy';

const POLICY = `apiVersion: mandate/v1
kind: Mandate
metadata: {name: exporter}
spec:
  subject: ${BATCH}
  owner: team-batch
  purpose: Export statements outside the mesh
  functions:
    - name: export
      actions:
        - target: reports.internal
          methods: [GET]
          paths: ["/v1/reports/**"]
---
apiVersion: mandate/v1
kind: Mandate
metadata: {name: ci-deploy}
spec:
  subject: ${CI}
  owner: team-platform
  purpose: Deploy releases from the main branch
  functions:
    - name: deploy
      actions:
        - target: deploy.internal
          methods: [POST]
          paths: ["/v1/deployments"]
`;

let server: TestServer;
let client: EnvoyClient;
let jwks: Server;
let logFile: string;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let svidKey: PrivateKey;
let oidcKey: PrivateKey;
let issuer: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-bearer-'));
  const svid = await generateKeyPair('ES256');
  const oidc = await generateKeyPair('RS256');
  svidKey = svid.privateKey;
  oidcKey = oidc.privateKey;
  writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify({ keys: [{ ...(await exportJWK(svid.publicKey)), kid: 'svid-1', use: 'jwt-svid', alg: 'ES256' }] }));
  const oidcJwks = JSON.stringify({ keys: [{ ...(await exportJWK(oidc.publicKey)), kid: 'ci-1', use: 'sig', alg: 'RS256' }] });
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(oidcJwks);
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const port = (jwks.address() as { port: number }).port;
  issuer = `http://127.0.0.1:${port}`;
  writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  writeFileSync(
    path.join(dir, 'mandate.yaml'),
    `policies: [policy.yaml]
identity:
  jwtSvid:
    - trustDomain: prod.example.org
      bundle: bundle.json
      audience: mandate
  oidc:
    - issuer: ${issuer}
      jwks: ${issuer}/jwks
      audience: mandate
      claims: {repository_owner: acme}
      subject: "spiffe://ci.example.org/repo/{repository}/workflow/{workflow}"
`,
  );
  logFile = path.join(dir, 'decisions.log');
  server = await startTestServer(['--config', path.join(dir, 'mandate.yaml'), '--log-file', logFile, '--log-level', 'info']);
  client = envoyClient(server.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await server?.drain(2000);
  jwks?.close();
});

async function svid(sub: string, aud = 'mandate'): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'svid-1', typ: 'JWT' }).setSubject(sub).setAudience(aud).setIssuedAt().setExpirationTime('5m').sign(svidKey);
}

async function ciToken(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'ci-1' }).setIssuer(issuer).setSubject('repo:acme/api:ref:refs/heads/main').setAudience('mandate').setIssuedAt().setExpirationTime('5m').sign(oidcKey);
}

function logLine(id: string): Promise<Record<string, unknown>> {
  return waitFor(() => {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes(id));
    return line === undefined ? null : (JSON.parse(line) as Record<string, unknown>);
  }, `decision ${id}`);
}

describe('bearer JWT identities over gRPC', () => {
  it('allows a JWT-SVID caller that has no mTLS identity', async () => {
    const r = await client.check(checkRequest({ host: 'reports.internal', method: 'GET', path: '/v1/reports/2026', function: 'export', headers: { authorization: `Bearer ${await svid(BATCH)}` } }));
    expect(r.status.code).toBe(0);
    const line = await logLine(responseHeaders(r)['x-mandate-decision-id'] as string);
    expect(line).toMatchObject({ source: BATCH, identity_via: 'jwt-svid', mandate: 'exporter', reason: 'ALLOWED' });
    expect(JSON.stringify(line)).not.toContain('eyJ');
  });

  it('maps a CI runner OIDC token to its workflow SPIFFE ID', async () => {
    const token = await ciToken({ repository: 'acme/api', workflow: 'deploy', repository_owner: 'acme' });
    const r = await client.check(checkRequest({ host: 'deploy.internal', method: 'POST', path: '/v1/deployments', function: 'deploy', headers: { authorization: `bearer   ${token}` } }));
    expect(r.status.code).toBe(0);
    const line = await logLine(responseHeaders(r)['x-mandate-decision-id'] as string);
    expect(line).toMatchObject({ source: CI, identity_via: 'oidc', mandate: 'ci-deploy' });
  });

  it.each([
    ['wrong audience', async () => `Bearer ${await svid(BATCH, 'someone-else')}`, 'INVALID_IDENTITY'],
    ['OIDC claim outside the required values', async () => `Bearer ${await ciToken({ repository: 'evil/api', workflow: 'deploy', repository_owner: 'evil' })}`, 'INVALID_IDENTITY'],
    ['OIDC claim that would inject a dot segment', async () => `Bearer ${await ciToken({ repository: 'acme/..', workflow: 'deploy', repository_owner: 'acme' })}`, 'INVALID_IDENTITY'],
    ['not a bearer token', async () => 'Basic dXNlcjpwYXNz', 'NO_IDENTITY'],
  ])('denies %s', async (_n, header, reason) => {
    const r = await client.check(checkRequest({ host: 'reports.internal', method: 'GET', path: '/v1/reports/1', function: 'export', headers: { authorization: await header() } }));
    expect(responseHeaders(r)['x-mandate-reason']).toBe(reason);
  });

  it('ignores an end-user bearer token when the connection carries a SPIFFE principal', async () => {
    const r = await client.check(checkRequest({ principal: 'spiffe://prod.example.org/ns/other/sa/x', host: 'reports.internal', function: 'export', headers: { authorization: `Bearer ${await svid(BATCH)}` } }));
    expect(responseHeaders(r)['x-mandate-reason']).toBe('NO_MANDATE');
  });
});
