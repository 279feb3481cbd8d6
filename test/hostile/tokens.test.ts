/**
 * Task-token attacks (SPEC sections 5 checks 6-11, and 8) against a server that signs with
 * a key file the test generated (`--token-key`): algorithm confusion, forged and foreign
 * keys, forbidden header parameters, claims tampered after signing, lifetimes, and tokens
 * of other workloads (chaining). Tokens are minted with the project's own signer where a
 * well-formed one is needed, and by hand where the attack is in the shape.
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadKeyRing, type SigningKey } from '../../src/tokens/keys.js';
import { createTokenSigner } from '../../src/tokens/issue.js';
import { ADMIN, PAYMENTS, REFUND, WORKER, cases, runRow, startTarget, type HostileParts, type Row, type Target } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mandate-hostile-tokens-'));
function keyFile(name: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = join(dir, name);
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  return file;
}
const serverKeyFile = keyFile('server.pem');
async function ring(file: string): Promise<SigningKey> {
  const r = await loadKeyRing([file]);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.ring.signing;
}
const key = await ring(serverKeyFile);
const foreign = await ring(keyFile('foreign.pem'));
const signer = createTokenSigner({ key, issuer: 'mandate' });
const now = Date.now();
const sec = Math.floor(now / 1000);

const issue = async (sub: string, scope: string, ttlSeconds = 300, at = now, s = signer) => (await s.issue({ sub, scope, ttlSeconds }, at)).token;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: 'mandate', sub: WORKER, aud: 'prod.example.org', iat: sec, exp: sec + 300, jti: 'j-1', txn: 't-1', scope: 'refund-approval', req_wl: WORKER, ...extra,
});
const header = (extra: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'txntoken+jwt', kid: key.kid, ...extra });
/**
 * Signed with the server's real key (or `k`), with whatever header and claims the row
 * wants; by hand with node:crypto, since a JOSE library refuses to produce most of these.
 */
const forge = async (h: Record<string, unknown>, c: Record<string, unknown>, k: KeyObject = key.privateKey): Promise<string> => {
  const input = `${b64(h)}.${b64(c)}`;
  const data = Buffer.from(input);
  const sig =
    k.asymmetricKeyType === 'ec'
      ? sign('sha256', data, { key: k, dsaEncoding: 'ieee-p1363' })
      : k.asymmetricKeyType === 'ed25519'
        ? sign(null, data, k)
        : sign('sha256', data, k);
  return `${input}.${sig.toString('base64url')}`;
};

const valid = await issue(WORKER, 'refund-approval');
const [vh, vp, vs] = valid.split('.') as [string, string, string];
const hmacWith = (secret: string | Buffer) => {
  const signingInput = `${b64({ alg: 'HS256', typ: 'txntoken+jwt', kid: key.kid })}.${b64(claims())}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
};
const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const APPROVAL: HostileParts = { principal: WORKER, destination: PAYMENTS, method: 'POST', path: '/v1/approvals', function: 'refund-approval' };
const tok = (token: string, extra: HostileParts = {}): HostileParts => ({ ...APPROVAL, headers: { 'txn-token': token }, ...extra });

const rows: Row[] = [
  ['a valid token for the caller', tok(valid), 'ALLOWED'],
  ['a valid token naming the function on its own (scope)', tok(valid, { function: undefined }), 'ALLOWED'],
  ['a valid token on a token-optional function of the same scope', tok(await issue(WORKER, 'refund-processing'), { ...REFUND }), 'ALLOWED'],
  ['scope differs from the header', tok(valid, { ...REFUND }), 'TOKEN_FUNCTION_MISMATCH'],
  ['scope differs from the route', tok(valid, { function: undefined, routeFunction: 'refund-processing' }), 'TOKEN_FUNCTION_MISMATCH'],
  ['a token of another workload (chaining)', tok(await issue(ADMIN, 'refund-approval')), 'TOKEN_SUBJECT_MISMATCH'],
  ['a token of a workload in an untrusted domain', tok(await issue('spiffe://evil.example.org/ns/billing/sa/refund-worker', 'refund-approval')), 'TOKEN_INVALID'],
  ['a token for an undeclared function still has to name a declared one', tok(await issue(WORKER, 'payouts'), { function: 'payouts' }), 'FUNCTION_NOT_DECLARED'],
  ['a valid token does not rescue a bad path', tok(valid, { path: '/v1/%2e%2e/approvals' }), 'INVALID_PATH'],
  ['a valid token does not rescue an action outside the function', tok(valid, { method: 'DELETE' }), 'ACTION_NOT_PERMITTED'],
  ['alg none, empty signature', tok(`${b64(header({ alg: 'none' }))}.${b64(claims())}.`), 'TOKEN_INVALID'],
  ['alg none with the real signature kept', tok(`${b64(header({ alg: 'none' }))}.${vp}.${vs}`), 'TOKEN_INVALID'],
  ['alg NONE', tok(`${b64(header({ alg: 'NONE' }))}.${b64(claims())}.`), 'TOKEN_INVALID'],
  ['HS256 keyed with the public key PEM (key confusion)', tok(hmacWith(publicPem)), 'TOKEN_INVALID'],
  ['HS256 keyed with "secret"', tok(hmacWith('secret')), 'TOKEN_INVALID'],
  ['RS256 from an attacker key under the real kid', tok(await forge(header({ alg: 'RS256' }), claims(), rsa)), 'TOKEN_INVALID'],
  ['ES256 from an attacker key under the real kid', tok(await forge(header(), claims(), foreign.privateKey)), 'TOKEN_INVALID'],
  ['ES256 from an attacker key under its own kid', tok(await issue(WORKER, 'refund-approval', 300, now, createTokenSigner({ key: foreign, issuer: 'mandate' }))), 'TOKEN_INVALID'],
  ['EdDSA claimed for an ES256 kid', tok(await forge(header({ alg: 'EdDSA' }), claims(), generateKeyPairSync('ed25519').privateKey)), 'TOKEN_INVALID'],
  ['no kid', tok(await forge({ alg: 'ES256', typ: 'txntoken+jwt' }, claims())), 'TOKEN_INVALID'],
  ['typ JWT instead of txntoken+jwt', tok(await forge(header({ typ: 'JWT' }), claims())), 'TOKEN_INVALID'],
  ['no typ', tok(await forge({ alg: 'ES256', kid: key.kid }, claims())), 'TOKEN_INVALID'],
  ['jku header', tok(await forge(header({ jku: 'https://evil.example/jwks' }), claims())), 'TOKEN_INVALID'],
  ['x5u header', tok(await forge(header({ x5u: 'https://evil.example/cert' }), claims())), 'TOKEN_INVALID'],
  ['embedded jwk header', tok(await forge(header({ jwk: foreign.jwk }), claims())), 'TOKEN_INVALID'],
  ['x5c header', tok(await forge(header({ x5c: ['MIIB'] }), claims())), 'TOKEN_INVALID'],
  ['crit header', tok(await forge(header({ crit: ['exp'], exp: 1 }), claims())), 'TOKEN_INVALID'],
  ['wrong issuer', tok(await issue(WORKER, 'refund-approval', 300, now, createTokenSigner({ key, issuer: 'evil' }))), 'TOKEN_INVALID'],
  ['aud of another trust domain', tok(await forge(header(), claims({ aud: 'staging.example.org' }))), 'TOKEN_INVALID'],
  ['aud as an array', tok(await forge(header(), claims({ aud: ['prod.example.org'] }))), 'TOKEN_INVALID'],
  ['sub as an array', tok(await forge(header(), claims({ sub: [WORKER] }))), 'TOKEN_INVALID'],
  ['exp as a string', tok(await forge(header(), claims({ exp: String(sec + 300) }))), 'TOKEN_INVALID'],
  ['no exp', tok(await forge(header(), claims({ exp: undefined }))), 'TOKEN_INVALID'],
  ['no txn', tok(await forge(header(), claims({ txn: undefined }))), 'TOKEN_INVALID'],
  ['scope with a comma', tok(await forge(header(), claims({ scope: 'refund-approval,refund-processing' }))), 'TOKEN_INVALID'],
  ['expired two hours ago', tok(await issue(WORKER, 'refund-approval', 300, now - 7_200_000)), 'TOKEN_EXPIRED'],
  ['issued ten minutes in the future', tok(await issue(WORKER, 'refund-approval', 300, now + 600_000)), 'TOKEN_INVALID'],
  ['lifetime over the function maxTokenTtl (1 h > 5 m)', tok(await issue(WORKER, 'refund-approval', 3600)), 'TOKEN_INVALID'],
  ['lifetime over 1 h', tok(await forge(header(), claims({ exp: sec + 7200 }))), 'TOKEN_INVALID'],
  ['payload tampered after signing', tok(`${vh}.${b64({ ...JSON.parse(Buffer.from(vp, 'base64url').toString()), sub: ADMIN })}.${vs}`), 'TOKEN_INVALID'],
  ['signature stripped', tok(`${vh}.${vp}.`), 'TOKEN_INVALID'],
  ['signature truncated', tok(`${vh}.${vp}.${vs.slice(0, -4)}`), 'TOKEN_INVALID'],
  ['four parts', tok(`${valid}.${vs}`), 'TOKEN_INVALID'],
  ['two dots only', tok('..'), 'TOKEN_INVALID'],
  ['garbage', tok('not-a-jwt'), 'TOKEN_INVALID'],
  ['padding characters', tok(`${vh}=.${vp}.${vs}`), 'TOKEN_INVALID'],
  ['surrounding spaces', tok(` ${valid} `), 'TOKEN_INVALID'],
  ['Bearer prefix in the token header', tok(`Bearer ${valid}`), 'TOKEN_INVALID'],
  ['two tokens comma-joined (repeated header)', tok(`${valid},${valid}`), 'TOKEN_INVALID'],
  ['9 KiB token', tok(`${vh}.${'A'.repeat(9 * 1024)}.${vs}`), 'TOKEN_INVALID'],
  ['an invalid token on a function that does not need one is still checked', tok('not-a-jwt', { ...REFUND }), 'TOKEN_INVALID'],
  ['the token in the authorization header is not a task token', { ...APPROVAL, headers: { authorization: `Bearer ${valid}` } }, 'TOKEN_REQUIRED'],
];

describe('hostile task tokens (--token-key)', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(['--token-key', serverKeyFile]);
  });
  afterAll(async () => t?.close());

  it.each(cases(rows))('token: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
});
