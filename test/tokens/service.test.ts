import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../src/tokens/issue.js';
import type { SigningKey } from '../../src/tokens/keys.js';
import { createMemoryRevocationStore, type MemoryRevocationStore } from '../../src/tokens/revocation-memory.js';
import { createRedisRevocationStore } from '../../src/tokens/revocation-redis.js';
import { createTaskTokenService, type TaskTokenService, type TaskTokenServiceDeps } from '../../src/tokens/service.js';
import { jsonToStruct } from '../../src/tokens/struct.js';
import { createTokenVerifier, type SyncTokenVerifier } from '../../src/tokens/verify.js';
import { es256Key } from './fixtures.js';
import {
  ADMIN,
  call,
  LAPSED,
  client,
  listen,
  makePki,
  STRANGER,
  testPolicy,
  WORKER,
  type Pki,
  type TaskTokensClient,
} from './grpc-fixtures.js';

const ISSUER = 'mandate-test';
let pki: Pki;
let key: SigningKey;
let verifier: SyncTokenVerifier;

interface Replica {
  service: TaskTokenService;
  server: grpc.Server;
  port: number;
  store: MemoryRevocationStore;
  issued: string[];
  revoked: number;
  close(): Promise<void>;
}

async function replica(overrides: Partial<TaskTokenServiceDeps> = {}, requireClientCert = true): Promise<Replica> {
  const store = createMemoryRevocationStore();
  const policy = testPolicy();
  const r: Partial<Replica> = { store, issued: [], revoked: 0 };
  const service = createTaskTokenService({
    getPolicy: () => policy,
    signer: createTokenSigner({ key, issuer: ISSUER }),
    revocations: store,
    admins: new Set([ADMIN]),
    now: Date.now,
    onIssued: (fn) => r.issued?.push(fn),
    onRevoked: () => (r.revoked = (r.revoked ?? 0) + 1),
    verifier,
    ...overrides,
  });
  const { server, port } = await listen(pki, (s) => s.addService(service.definition, service.implementation), requireClientCert);
  return Object.assign(r, {
    service,
    server,
    port,
    close: async () => {
      service.close();
      await store.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  }) as Replica;
}

let main: Replica;
/** Server-side TLS only: callers reach the handlers without a client certificate. */
let noClientAuth: Replica;
const clients: TaskTokensClient[] = [];
function as(who: keyof Pki['leaves'] | null, port?: number): TaskTokensClient {
  const c = client(pki, port ?? (who === null ? noClientAuth.port : main.port), who === null ? null : pki.leaves[who]);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  [pki, key] = await Promise.all([makePki(), es256Key()]);
  verifier = createTokenVerifier({ keys: [key], issuer: ISSUER });
  main = await replica();
  noClientAuth = await replica({}, false);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([main.close(), noClientAuth.close()]);
});

describe('Issue', () => {
  it('issues a token for a declared function, with the function TTL by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { err, res } = await call(as('worker'), 'Issue', {
      function: 'refund-processing',
      task_context: jsonToStruct({ ticket: 'SUP-42', amount: 12.5, tags: ['a', true, null] }),
    });
    expect(err).toBeNull();
    expect(res?.['ttl_seconds']).toBe(300);
    const v = verifier.verifySync(String(res?.['token']), Date.now());
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.claims).toMatchObject({
      iss: ISSUER,
      sub: WORKER,
      aud: 'prod.example.org',
      scope: 'refund-processing',
      req_wl: WORKER,
      txn: res?.['txn'],
      tctx: { ticket: 'SUP-42', amount: 12.5, tags: ['a', true, null] },
    });
    expect(res?.['expires_at']).toBe(v.claims.exp);
    expect(v.claims.exp - v.claims.iat).toBe(300);
    expect(v.claims.iat).toBeGreaterThanOrEqual(before);
    expect(main.issued).toContain('refund-processing');
  });

  it.each([
    ['over the limit is capped', 'refund-processing', 7200, 300],
    ['under the limit is granted', 'refund-processing', 60, 60],
    ['0 means the function maximum', 'reporting', 0, 600],
  ])('TTL: %s', async (_n, fn, asked, granted) => {
    const { err, res } = await call(as('worker'), 'Issue', { function: fn, ttl_seconds: asked });
    expect(err).toBeNull();
    expect(res?.['ttl_seconds']).toBe(granted);
    const v = verifier.verifySync(String(res?.['token']), Date.now());
    expect(v.ok && v.claims.exp - v.claims.iat).toBe(granted);
  });

  it.each<[string, keyof Pki['leaves'] | null, Record<string, unknown>, grpc.status, RegExp]>([
    ['no client certificate', null, { function: 'refund-processing' }, grpc.status.UNAUTHENTICATED, /client certificate/],
    ['a certificate with two URI SANs', 'twoUris', { function: 'refund-processing' }, grpc.status.UNAUTHENTICATED, /exactly one/],
    ['a certificate without a URI SAN', 'noUri', { function: 'refund-processing' }, grpc.status.UNAUTHENTICATED, /exactly one/],
    ['no mandate', 'stranger', { function: 'refund-processing' }, grpc.status.PERMISSION_DENIED, /no mandate binds the caller/],
    ['expired mandate', 'lapsed', { function: 'refund-processing' }, grpc.status.PERMISSION_DENIED, /past its review date/],
    ['undeclared function', 'worker', { function: 'payroll' }, grpc.status.PERMISSION_DENIED, /does not declare this function/],
    ['empty function', 'worker', { function: '' }, grpc.status.INVALID_ARGUMENT, /function must be/],
    ['malformed function', 'worker', { function: 'Refund Processing' }, grpc.status.INVALID_ARGUMENT, /function must be/],
    [
      'oversized task context',
      'worker',
      { function: 'refund-processing', task_context: jsonToStruct({ blob: 'x'.repeat(5000) }) },
      grpc.status.INVALID_ARGUMENT,
      /task_context must be/,
    ],
  ])('refuses %s', async (_n, who, req, code, message) => {
    const issuedBefore = main.issued.length;
    const { err } = await call(as(who), 'Issue', req);
    expect(err?.code).toBe(code);
    expect(err?.details).toMatch(message);
    expect(main.issued.length).toBe(issuedBefore);
  });

  it('logs the issuing mandate even when checks reuse its hot copy while the token is signed', async () => {
    const policy = testPolicy();
    const signer = createTokenSigner({ key, issuer: ISSUER });
    let signing!: () => void;
    const signingStarted = new Promise<void>((resolve) => (signing = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const logged: Record<string, unknown>[] = [];
    const r = await replica({
      getPolicy: () => policy,
      signer: { ...signer, issue: async (...args) => { signing(); await released; return signer.issue(...args); } },
      logger: { info: (obj, msg) => logged.push({ ...obj, msg }), warn: () => undefined },
    });
    try {
      const pending = call(as('worker', r.port), 'Issue', { function: 'refund-processing' });
      await signingStarted;
      // What Checks do meanwhile: 4,096 other callers fill the recent-subject table, and the
      // next lookup empties the hot arena and copies another mandate where the worker's was.
      for (let i = 0; i < 4_096; i++) policy.mandateOf(`spiffe://prod.example.org/ns/x/sa/caller-${i}`);
      expect(policy.mandateName(policy.mandateOf(LAPSED))).toBe('legacy');
      release();
      const { err } = await pending;
      expect(err).toBeNull();
      expect(logged.filter((l) => l['msg'] === 'task token issued').map((l) => l['mandate'])).toEqual(['refund-worker']);
    } finally {
      await r.close();
    }
  });

  it('answers UNAVAILABLE before a policy is loaded', async () => {
    const r = await replica({ getPolicy: () => null });
    try {
      const { err } = await call(as('worker', r.port), 'Issue', { function: 'refund-processing' });
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await r.close();
    }
  });

  it('an unexpected failure is INTERNAL with a fixed message', async () => {
    const r = await replica({
      signer: { kid: 'k', alg: 'ES256', issuer: ISSUER, issue: () => Promise.reject(new Error('secret detail /etc/keys')) },
    });
    try {
      const { err } = await call(as('worker', r.port), 'Issue', { function: 'refund-processing' });
      expect(err?.code).toBe(grpc.status.INTERNAL);
      expect(err?.details).toBe('internal error');
    } finally {
      await r.close();
    }
  });
});

async function issueTxn(port = main.port): Promise<{ txn: string; token: string }> {
  const { err, res } = await call(as('worker', port), 'Issue', { function: 'refund-processing', ttl_seconds: 120 });
  if (err !== null || res === null) throw err ?? new Error('no response');
  return { txn: String(res['txn']), token: String(res['token']) };
}

describe('Complete', () => {
  it('the subject ends its own task', async () => {
    const { txn } = await issueTxn();
    const revokedBefore = main.revoked;
    const { err } = await call(as('worker'), 'Complete', { txn });
    expect(err).toBeNull();
    expect(main.store.isRevoked(txn)).toBe(true);
    expect(main.revoked).toBe(revokedBefore + 1);
    // Idempotent, and counted once.
    expect((await call(as('worker'), 'Complete', { txn })).err).toBeNull();
    expect(main.revoked).toBe(revokedBefore + 1);
  });

  it("another workload cannot end the subject's task", async () => {
    const { txn, token } = await issueTxn();
    const { err } = await call(as('stranger'), 'Complete', { txn, token });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(main.store.isRevoked(txn)).toBe(false);
  });

  it('a task unknown here is ended only with its own token as proof', async () => {
    const { txn, token } = await issueTxn();
    const other = await replica();
    try {
      const bare = await call(as('worker', other.port), 'Complete', { txn });
      expect(bare.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      const wrong = await call(as('worker', other.port), 'Complete', { txn: 'some-other-task', token });
      expect(wrong.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      const stolen = await call(as('stranger', other.port), 'Complete', { txn, token });
      expect(stolen.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(other.store.isRevoked(txn)).toBe(false);
      const proven = await call(as('worker', other.port), 'Complete', { txn, token });
      expect(proven.err).toBeNull();
      expect(other.store.isRevoked(txn)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['no certificate', null, { txn: 'x' }, grpc.status.UNAUTHENTICATED],
    ['empty txn', 'worker', { txn: '' }, grpc.status.INVALID_ARGUMENT],
    ['txn with a space', 'worker', { txn: 'a b' }, grpc.status.INVALID_ARGUMENT],
    ['txn too long', 'worker', { txn: 'x'.repeat(129) }, grpc.status.INVALID_ARGUMENT],
  ] as const)('refuses %s', async (_n, who, req, code) => {
    expect((await call(as(who), 'Complete', req)).err?.code).toBe(code);
  });
});

describe('Revoke', () => {
  it('an admin ends any task, including one this replica never saw', async () => {
    const { txn } = await issueTxn();
    expect((await call(as('admin'), 'Revoke', { txn })).err).toBeNull();
    expect(main.store.isRevoked(txn)).toBe(true);
    expect((await call(as('admin'), 'Revoke', { txn: 'issued-elsewhere' })).err).toBeNull();
    expect(main.store.isRevoked('issued-elsewhere')).toBe(true);
  });

  it.each([
    ['the subject itself', 'worker', grpc.status.PERMISSION_DENIED],
    ['another workload', 'stranger', grpc.status.PERMISSION_DENIED],
    ['no certificate', null, grpc.status.UNAUTHENTICATED],
  ] as const)('refuses %s', async (_n, who, code) => {
    const { txn } = await issueTxn();
    const { err } = await call(as(who), 'Revoke', { txn });
    expect(err?.code).toBe(code);
    expect(main.store.isRevoked(txn)).toBe(false);
  });

  it('keeps the revocation for the remaining lifetime: of a task recorded by another replica, and at most 1 h 60 s for an unknown one', async () => {
    // The shared record as another replica's Issue leaves it (Redis: mandate:issued:<txn>).
    const store = createMemoryRevocationStore();
    const expiries = new Map<string, number>();
    const exp = Date.now() + 150_000;
    const recording = {
      ...store,
      issuedTo: async (txn: string) => (txn === 'issued-by-b' ? { sub: 'spiffe://prod.example.org/ns/billing/sa/refund-worker', expiresAtMs: exp } : null),
      revoke: (txn: string, expiresAtMs: number) => {
        expiries.set(txn, expiresAtMs);
        return store.revoke(txn, expiresAtMs);
      },
    };
    const r = await replica({ revocations: recording });
    try {
      expect((await call(as('admin', r.port), 'Revoke', { txn: 'issued-by-b' })).err).toBeNull();
      expect(expiries.get('issued-by-b')).toBe(exp);
      const before = Date.now();
      expect((await call(as('admin', r.port), 'Revoke', { txn: 'issued-by-cli' })).err).toBeNull();
      // A token of an unknown task expires at most a lifetime plus the skew on iat from now.
      expect(expiries.get('issued-by-cli')).toBeGreaterThanOrEqual(before + 3_630_000);
      expect(expiries.get('issued-by-cli')).toBeLessThanOrEqual(Date.now() + 3_630_000);
    } finally {
      await r.close();
    }
  });

  it('with the shared store down: UNAVAILABLE, yet revoked on this replica', async () => {
    const store = createRedisRevocationStore({ url: 'redis://127.0.0.1:1', maxStalenessMs: 100 });
    const r = await replica({ revocations: store });
    try {
      const { err } = await call(as('admin', r.port), 'Revoke', { txn: 'while-down' });
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(err?.details).toMatch(/could not be shared/);
      expect(store.isRevoked('while-down')).toBe(true);
    } finally {
      await r.close();
      await store.close();
    }
  });
});

describe('caller identity', () => {
  it('an mTLS server refuses a caller without a certificate at the handshake', async () => {
    const { err } = await call(as(null, main.port), 'Issue', { function: 'refund-processing' });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('is never taken from the request body', async () => {
    const { err } = await call(as('stranger'), 'Issue', { function: 'refund-processing', subject: WORKER, sub: WORKER });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    void STRANGER;
  });
});
