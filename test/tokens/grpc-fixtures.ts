/** A TaskTokens server and clients over real mTLS sockets, for the service and CLI tests. */
import * as grpc from '@grpc/grpc-js';
import { compilePolicy } from '../../src/policy/compile.js';
import { parsePolicyTexts } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compiled.js';
import { loadTaskTokensPackage } from '../../src/tokens/proto.js';
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from '../helpers/certs.js';

export const WORKER = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
export const STRANGER = 'spiffe://prod.example.org/ns/shop/sa/cart';
export const LAPSED = 'spiffe://prod.example.org/ns/old/sa/legacy';
export const ADMIN = 'spiffe://prod.example.org/ops/token-admin';

/**
 * The refund worker's mandate on `target`: refund-processing (token required, 5m) at
 * `refundPath`, reporting (token optional, 10m). The integration tests use it too.
 */
export function refundWorkerMandate(target: string, refundPath: string): string {
  return `
apiVersion: mandate/v1
kind: Mandate
metadata: {name: refund-worker}
spec:
  subject: ${WORKER}
  owner: team-billing
  purpose: Issue refunds approved by support
  risk: high
  functions:
    - name: refund-processing
      maxTokenTtl: 5m
      actions:
        - {target: ${target}, methods: [POST], paths: ["${refundPath}"]}
    - name: reporting
      taskToken: optional
      maxTokenTtl: 10m
      actions:
        - {target: ${target}, methods: [GET], paths: ["/v1/reports/**"]}
`;
}

export const POLICY_YAML = `${refundWorkerMandate('ledger.internal', '/v1/refunds')}---
apiVersion: mandate/v1
kind: Mandate
metadata: {name: legacy}
spec:
  subject: ${LAPSED}
  owner: team-old
  purpose: Old batch job
  reviewBy: "2020-01-01"
  functions:
    - name: refund-processing
      actions:
        - {target: ledger.internal, methods: [GET], paths: ["/"]}
`;

export function testPolicy(): CompiledPolicy {
  const r = parsePolicyTexts([{ name: 'policy.yaml', text: POLICY_YAML }]);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join('\n'));
  return compilePolicy(r.set);
}

export interface Pki {
  readonly ca: TestCa;
  readonly server: TestLeaf;
  readonly leaves: Readonly<Record<'worker' | 'stranger' | 'lapsed' | 'admin' | 'twoUris' | 'noUri', TestLeaf>>;
}

export async function makePki(): Promise<Pki> {
  const ca = await makeCa({ trustDomain: 'prod.example.org' });
  const server = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/mandate'], dns: ['mandate.test'] });
  const [worker, stranger, lapsed, admin, twoUris, noUri] = await Promise.all([
    makeLeaf(ca, { uris: [WORKER] }),
    makeLeaf(ca, { uris: [STRANGER] }),
    makeLeaf(ca, { uris: [LAPSED] }),
    makeLeaf(ca, { uris: [ADMIN] }),
    makeLeaf(ca, { uris: [WORKER, STRANGER] }),
    makeLeaf(ca, { dns: ['worker.test'] }),
  ]);
  return { ca, server, leaves: { worker, stranger, lapsed, admin, twoUris, noUri } };
}

/**
 * Binds a grpc-js server with mTLS (client certificate required and verified against the CA),
 * or with server-only TLS when `requireClientCert` is false: grpc-js then does not ask for a
 * client certificate at all, which is how a caller without one reaches the handlers.
 */
export async function listen(
  pki: Pki,
  add: (server: grpc.Server) => void,
  requireClientCert = true,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  add(server);
  const creds = grpc.ServerCredentials.createSsl(
    Buffer.from(pki.ca.certPem),
    [{ private_key: Buffer.from(pki.server.keyPem), cert_chain: Buffer.from(pki.server.certPem) }],
    requireClientCert,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err === null ? resolve(p) : reject(err))),
  );
  return { server, port };
}

export type TaskTokensClient = grpc.Client & Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void>;

export function client(pki: Pki, port: number, leaf: TestLeaf | null): TaskTokensClient {
  const pkg = grpc.loadPackageDefinition(loadTaskTokensPackage()) as unknown as {
    mandate: { v1: { TaskTokens: new (addr: string, creds: grpc.ChannelCredentials, opts: object) => TaskTokensClient } };
  };
  const creds =
    leaf === null
      ? grpc.credentials.createSsl(Buffer.from(pki.ca.certPem))
      : grpc.credentials.createSsl(Buffer.from(pki.ca.certPem), Buffer.from(leaf.keyPem), Buffer.from(leaf.certPem));
  return new pkg.mandate.v1.TaskTokens(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'mandate.test' });
}

export function call(c: TaskTokensClient, method: string, req: unknown): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> | null }> {
  return new Promise((resolve) => {
    const fn = c[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(c, req, (err, res) => resolve({ err, res: err === null ? res : null }));
  });
}
