import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/io.js';
import { runTokenCommand } from '../../src/cli/token.js';
import { loadKeyRing, type KeyRing } from '../../src/tokens/keys.js';
import { createTokenSigner } from '../../src/tokens/issue.js';
import { createMemoryRevocationStore } from '../../src/tokens/revocation-memory.js';
import { createTaskTokenService } from '../../src/tokens/service.js';
import { claims, forge, headerFor } from './fixtures.js';
import { ADMIN, listen, makePki, testPolicy, type Pki } from './grpc-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mandate-cli-'));
const SUBJECT = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const edKey = generateKeyPairSync('ed25519').privateKey;
const files = {
  pem: join(dir, 'signing.pem'),
  jwk: join(dir, 'signing.jwk'),
  ed: join(dir, 'ed.pem'),
  jwks: join(dir, 'jwks.json'),
};
writeFileSync(files.pem, ecKey.export({ format: 'pem', type: 'sec1' }));
writeFileSync(files.jwk, JSON.stringify(ecKey.export({ format: 'jwk' })));
writeFileSync(files.ed, edKey.export({ format: 'pem', type: 'pkcs8' }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
    cwd: dir,
    readStdin: () => Promise.resolve(''),
  };
  const code = await runTokenCommand(args, io);
  return { code, out, err };
}

let ring: KeyRing;
let http: Server;
let jwksUrl = '';
beforeAll(async () => {
  const r = await loadKeyRing([files.pem, files.ed]);
  if (!r.ok) throw new Error(r.errors.join());
  ring = r.ring;
  writeFileSync(files.jwks, JSON.stringify(ring.jwks));
  http = createServer((req, res) => {
    res.writeHead(req.url === '/.well-known/jwks.json' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ring.jwks));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const addr = http.address();
  jwksUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('issue and verify', () => {
  it('round trip: a PEM-issued token verifies with the JWK file, the JWKS URL and the JWKS file', async () => {
    const issued = await run('issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'refund-processing',
      '--ttl', '2m', '--task-context', '{"ticket":"SUP-7"}');
    expect(issued.err).toBe('');
    expect(issued.code).toBe(0);
    expect(issued.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = issued.out.trim();
    for (const source of [['--key', 'signing.jwk'], ['--key', files.pem], ['--jwks', jwksUrl], ['--jwks', 'jwks.json']]) {
      const v = await run('verify', ...source, token);
      expect(v.err).toBe('');
      expect(v.code).toBe(0);
      const c = JSON.parse(v.out) as Record<string, unknown>;
      expect(c).toMatchObject({ iss: 'mandate', sub: SUBJECT, aud: 'prod.example.org', scope: 'refund-processing', req_wl: SUBJECT, tctx: { ticket: 'SUP-7' } });
      expect(Number(c['exp']) - Number(c['iat'])).toBe(120);
    }
  });

  it('default TTL is 5 minutes; --issuer is honoured on both sides', async () => {
    const issued = await run('issue', '--key', files.ed, '--subject', SUBJECT, '--function', 'f', '--issuer=ops-cli');
    expect(issued.code).toBe(0);
    const ok = await run('verify', '--key', files.ed, '--issuer', 'ops-cli', issued.out.trim());
    expect(ok.code).toBe(0);
    const c = JSON.parse(ok.out) as { exp: number; iat: number; iss: string };
    expect([c.exp - c.iat, c.iss]).toEqual([300, 'ops-cli']);
    const wrongIssuer = await run('verify', '--key', files.ed, issued.out.trim());
    expect([wrongIssuer.code, wrongIssuer.out, wrongIssuer.err]).toEqual([1, '', 'TOKEN_INVALID: iss is not the configured issuer\n']);
  });

  it('exit 1 with the reason when a token does not verify', async () => {
    const key = ring.keys[0]!;
    const expired = forge(key, headerFor(key), claims({ iat: 1000, exp: 1300 }));
    expect(await run('verify', '--key', files.pem, expired)).toEqual({ code: 1, out: '', err: 'TOKEN_EXPIRED: exp has passed\n' });
    const garbage = await run('verify', '--jwks', jwksUrl, 'a.b.c');
    expect(garbage.code).toBe(1);
    expect(garbage.err).toMatch(/^TOKEN_INVALID: /);
    const otherKey = await run('verify', '--key', files.ed, forge(key, headerFor(key), claims()));
    expect(otherKey.err).toBe('TOKEN_INVALID: kid is not a configured key\n');
  });

  it.each([
    ['no subcommand', []],
    ['unknown subcommand', ['mint']],
    ['ttl over 1h', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--ttl', '61m']],
    ['ttl not a duration', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--ttl', '5']],
    ['ttl below a second', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--ttl', '500ms']],
    ['missing --key', ['issue', '--subject', SUBJECT, '--function', 'f']],
    ['missing key file', ['issue', '--key', 'nope.pem', '--subject', SUBJECT, '--function', 'f']],
    ['bad subject', ['issue', '--key', 'signing.pem', '--subject', 'spiffe://Prod/x', '--function', 'f']],
    ['bad function', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'Not A Name']],
    ['task context not an object', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--task-context', '[1]']],
    ['task context not JSON', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--task-context', '{']],
    ['unknown option', ['issue', '--key', 'signing.pem', '--subject', SUBJECT, '--function', 'f', '--audience', 'x']],
    ['flag without value', ['issue', '--key']],
    ['verify with both --key and --jwks', ['verify', '--key', 'signing.pem', '--jwks', jwksUrl, 'a.b.c']],
    ['verify without a key', ['verify', 'a.b.c']],
    ['verify without a token', ['verify', '--key', 'signing.pem']],
    ['verify with an unreachable JWKS', ['verify', '--jwks', 'http://127.0.0.1:1/jwks.json', 'a.b.c']],
    ['revoke without TLS files', ['revoke', '--server', '127.0.0.1:1', '--txn', 't']],
    ['revoke with a bad server address', ['revoke', '--server', 'nowhere', '--txn', 't']],
  ])('bad usage: %s -> one line on stderr, exit 2', async (_n, args) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    if (args.length > 0) expect(r.err).toMatch(/^mandate token \w+: [^\n]+\n$/);
    else expect(r.err).toMatch(/usage/);
  });
});

describe('revoke over mTLS', () => {
  let pki: Pki;
  let server: grpc.Server;
  let port = 0;
  const store = createMemoryRevocationStore();

  function tlsFiles(who: 'admin' | 'worker'): string[] {
    const leaf = pki.leaves[who];
    writeFileSync(join(dir, `${who}.crt`), leaf.certPem);
    writeFileSync(join(dir, `${who}.key`), leaf.keyPem);
    writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
    return ['--tls-cert', `${who}.crt`, '--tls-key', `${who}.key`, '--tls-ca', 'ca.crt'];
  }

  beforeAll(async () => {
    pki = await makePki();
    const service = createTaskTokenService({
      getPolicy: () => testPolicy(),
      signer: createTokenSigner({ key: ring.signing, issuer: 'mandate' }),
      revocations: store,
      admins: new Set([ADMIN]),
      now: Date.now,
      onIssued: () => undefined,
      onRevoked: () => undefined,
    });
    ({ server, port } = await listen(pki, (s) => s.addService(service.definition, service.implementation)));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await store.close();
  });

  it('an admin identity revokes a task (server checked by SPIFFE ID), without a TLS warning for the IP address', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void warnings.push(`${w.code ?? ''} ${w.message}`);
    process.on('warning', onWarning);
    try {
      const r = await run('revoke', '--server', `127.0.0.1:${port}`, '--txn', 'task-9', '--server-id', 'spiffe://prod.example.org/mandate', ...tlsFiles('admin'));
      expect(r).toEqual({ code: 0, out: 'revoked task-9\n', err: '' });
      expect(store.isRevoked('task-9')).toBe(true);
      // Node's DEP0123 (an IP address as TLS ServerName) is emitted on the next tick.
      await new Promise((r2) => setImmediate(r2));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('DEP0123'))).toEqual([]);
  });

  it('a non-admin identity is refused: exit 1 with the status', async () => {
    const r = await run('revoke', '--server', `127.0.0.1:${port}`, '--txn', 'task-10', '--server-name', 'mandate.test', ...tlsFiles('worker'));
    expect(r).toEqual({ code: 1, out: '', err: 'mandate token revoke: PERMISSION_DENIED: the caller is not a token admin\n' });
    expect(store.isRevoked('task-10')).toBe(false);
  });

  it('a server that is not the expected SPIFFE ID is not trusted', async () => {
    const r = await run('revoke', '--server', `127.0.0.1:${port}`, '--txn', 'task-11', '--server-id', 'spiffe://prod.example.org/imposter', ...tlsFiles('admin'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mandate token revoke: UNAVAILABLE: /);
    expect(store.isRevoked('task-11')).toBe(false);
  });
});
