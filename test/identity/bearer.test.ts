import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerIdentity, parseIdentityConfig, type BearerIdentityHandle } from '../../src/identity/bearer/index.js';
import type { IdentityResult } from '../../src/identity/types.js';
import { hmacWithPublicKey, makeKey, signJwt, unsigned, type TestKey } from './jwt-helpers.js';

// Token times are checked against this frozen request clock.
const NOW_MS = Date.UTC(2026, 11, 4, 20, 0, 0);
const NOW = NOW_MS / 1000;
const TD = 'prod.example.org';
const SVID = `spiffe://${TD}/ns/billing/sa/refund-worker`;
const GH = 'https://token.actions.example.com';
const SINGLE = 'https://single.example.com';

let dir: string;
let bearer: BearerIdentityHandle;
let svidKey: TestKey;
let svidOther: TestKey;
let x509Key: TestKey;
let ghKey: TestKey;
let ghKey2: TestKey;
let singleKey: TestKey;
let impostor: TestKey;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mandate-bearer-'));
  svidKey = makeKey('svid-1');
  svidOther = makeKey('svid-2', 'RS256');
  x509Key = makeKey('x509-ca');
  ghKey = makeKey('gh-1', 'RS256');
  ghKey2 = makeKey('gh-2');
  singleKey = makeKey('only');
  impostor = makeKey('svid-1'); // same kid, different key
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({
    spiffe_sequence: 1,
    keys: [
      { ...svidKey.jwk, use: 'jwt-svid' },
      { ...svidOther.jwk, use: 'jwt-svid' },
      { ...x509Key.jwk, use: 'x509-svid' },
    ],
  }));
  writeFileSync(join(dir, 'gh.json'), JSON.stringify({ keys: [{ ...ghKey.jwk, use: 'sig' }, ghKey2.jwk] }));
  writeFileSync(join(dir, 'single.json'), JSON.stringify({ keys: [{ ...singleKey.jwk, kid: undefined }] }));
  const { value, errors } = parseIdentityConfig({
    jwtSvid: [{ trustDomain: TD, bundle: 'bundle.json', audience: 'mandate' }],
    oidc: [
      {
        issuer: GH,
        jwks: 'gh.json',
        audience: 'mandate',
        claims: { repository_owner: 'acme', environment: ['prod', 'staging'] },
        subject: 'spiffe://ci.example.org/repo/{repository}/workflow/{workflow}',
      },
      { issuer: SINGLE, jwks: join(dir, 'single.json'), audience: 'mandate', subject: 'spiffe://ci.example.org/job/{job}' },
    ],
  }, dir);
  expect(errors).toEqual([]);
  bearer = createBearerIdentity(value!, { watch: false });
  expect(await bearer.ready()).toBe(true);
});

afterAll(() => {
  bearer.close();
  rmSync(dir, { recursive: true, force: true });
});

const svidClaims = (extra: Record<string, unknown> = {}) => ({ sub: SVID, aud: ['mandate'], exp: NOW + 300, iat: NOW, ...extra });
const ghClaims = (extra: Record<string, unknown> = {}) => ({
  iss: GH,
  aud: 'mandate',
  exp: NOW + 300,
  iat: NOW,
  sub: 'repo:acme/api:environment:prod',
  repository: 'acme/api',
  repository_owner: 'acme',
  workflow: 'deploy',
  environment: 'prod',
  ...extra,
});
const svid = (header: Record<string, unknown> = {}, claims: Record<string, unknown> = {}, key?: TestKey) =>
  signJwt({ alg: 'ES256', kid: 'svid-1', typ: 'JWT', ...header }, svidClaims(claims), key ?? svidKey);
const gh = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signJwt({ alg: 'RS256', kid: 'gh-1', typ: 'JWT', ...header }, ghClaims(claims), ghKey);

async function check(authorization: string): Promise<IdentityResult> {
  return bearer.verify(authorization, NOW_MS);
}

describe('accepted bearer tokens', () => {
  it.each<[string, () => string, string, 'jwt-svid' | 'oidc']>([
    ['JWT-SVID', () => svid(), SVID, 'jwt-svid'],
    ['JWT-SVID with a string aud', () => svid({}, { aud: 'mandate' }), SVID, 'jwt-svid'],
    ['JWT-SVID with several audiences', () => svid({}, { aud: ['other', 'mandate'] }), SVID, 'jwt-svid'],
    ['JWT-SVID without typ', () => svid({ typ: undefined }), SVID, 'jwt-svid'],
    ['JWT-SVID with typ JOSE', () => svid({ typ: 'JOSE' }), SVID, 'jwt-svid'],
    ['JWT-SVID RS256 key of the bundle', () => svid({ alg: 'RS256', kid: 'svid-2' }, {}, svidOther), SVID, 'jwt-svid'],
    ['JWT-SVID expired within the 30 s skew', () => svid({}, { exp: NOW - 20 }), SVID, 'jwt-svid'],
    ['JWT-SVID nbf within the 30 s skew', () => svid({}, { nbf: NOW + 20 }), SVID, 'jwt-svid'],
    ['JWT-SVID with an iss', () => svid({}, { iss: 'https://spire.example.org' }), SVID, 'jwt-svid'],
    ['OIDC (GitHub Actions style)', () => gh(), 'spiffe://ci.example.org/repo/acme/api/workflow/deploy', 'oidc'],
    ['OIDC one-of claim value', () => gh({ environment: 'staging' }), 'spiffe://ci.example.org/repo/acme/api/workflow/deploy', 'oidc'],
    ['OIDC x5t header (GitHub sends it)', () => gh({}, { x5t: 'abc' }), 'spiffe://ci.example.org/repo/acme/api/workflow/deploy', 'oidc'],
    ['OIDC key without use', () => signJwt({ alg: 'ES256', kid: 'gh-2' }, ghClaims(), ghKey2), 'spiffe://ci.example.org/repo/acme/api/workflow/deploy', 'oidc'],
    ['OIDC without kid, single-key issuer', () => signJwt({ alg: 'ES256' }, { iss: SINGLE, aud: 'mandate', exp: NOW + 60, job: 'build' }, singleKey),
      'spiffe://ci.example.org/job/build', 'oidc'],
  ])('%s', async (_name, make, spiffeId, via) => {
    const token = make();
    const r = await check(`Bearer ${token}`);
    expect(r).toEqual({
      reason: null,
      spiffeId,
      trustDomain: spiffeId.split('/')[2],
      via,
      detail: null,
      issuer: via === 'oidc' ? (spiffeId.includes('/job/') ? SINGLE : GH) : `spiffe://${TD}`,
      tokenSha256: createHash('sha256').update(token).digest('hex').slice(0, 16),
    });
  });

  it.each([
    ['lower-case scheme', (t: string) => `bearer ${t}`],
    ['upper-case scheme', (t: string) => `BEARER ${t}`],
    ['several spaces', (t: string) => `Bearer    ${t}`],
  ])('reads the header with %s', async (_name, wrap) => {
    expect((await check(wrap(svid()))).spiffeId).toBe(SVID);
  });
});

describe('rejected bearer tokens (INVALID_IDENTITY)', () => {
  it.each<[string, () => string, 'jwt-svid' | 'oidc', RegExp]>([
    ['alg none', () => unsigned({ alg: 'none', kid: 'svid-1' }, svidClaims()), 'jwt-svid', /alg "none"/],
    ['alg none, OIDC', () => unsigned({ alg: 'none' }, ghClaims()), 'oidc', /alg "none"/],
    ['HS256 signed with the public key', () => hmacWithPublicKey({ alg: 'HS256', kid: 'svid-1' }, svidClaims(), svidKey), 'jwt-svid', /alg "HS256"/],
    ['EdDSA', () => svid({ alg: 'EdDSA' }), 'jwt-svid', /alg "EdDSA"/],
    ['missing alg', () => svid({ alg: undefined }), 'jwt-svid', /alg null/],
    ['unknown kid', () => svid({ kid: 'nope' }), 'jwt-svid', /no key with kid "nope"/],
    ['kid of an x509-svid key', () => svid({ kid: 'x509-ca' }, {}, x509Key), 'jwt-svid', /no key with kid "x509-ca"/],
    ['missing kid on a JWT-SVID', () => svid({ kid: undefined }), 'jwt-svid', /kid is required/],
    ['empty kid', () => svid({ kid: '' }), 'jwt-svid', /kid must be/],
    ['numeric kid', () => svid({ kid: 7 }), 'jwt-svid', /kid must be/],
    ['missing kid, OIDC issuer with two keys', () => gh({}, { kid: undefined }), 'oidc', /no kid and the key set has 2 keys/],
    ['jku header', () => svid({ jku: 'https://evil.example.com/jwks' }), 'jwt-svid', /"jku"/],
    ['x5u header', () => svid({ x5u: 'https://evil.example.com/cert' }), 'jwt-svid', /"x5u"/],
    ['jwk header', () => svid({ jwk: svidKey.jwk }), 'jwt-svid', /"jwk"/],
    ['x5c header', () => svid({ x5c: ['MIIB'] }), 'jwt-svid', /"x5c"/],
    ['crit header', () => svid({ crit: ['exp'] }), 'jwt-svid', /"crit"/],
    ['crit header on OIDC', () => gh({}, { crit: ['b64'], b64: false }), 'oidc', /"crit"/],
    ['typ at+jwt', () => svid({ typ: 'at+jwt' }), 'jwt-svid', /typ/],
    ['typ in lower case', () => svid({ typ: 'jwt' }), 'jwt-svid', /typ/],
    ['alg does not fit the key type', () => svid({ alg: 'RS256' }, {}, svidOther), 'jwt-svid', /no key with kid "svid-1" fits alg RS256/],
    ['signature by another key with the same kid', () => svid({}, {}, impostor), 'jwt-svid', /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    ['tampered payload', () => { const [h, , s] = svid().split('.'); return `${h}.${Buffer.from(JSON.stringify(svidClaims({ sub: `${SVID}x` }))).toString('base64url')}.${s}`; }, 'jwt-svid', /SIGNATURE/],
    ['wrong aud', () => svid({}, { aud: ['other'] }), 'jwt-svid', /"aud"/],
    ['missing aud', () => svid({}, { aud: undefined }), 'jwt-svid', /"aud"/],
    ['expired', () => svid({}, { exp: NOW - 31 }), 'jwt-svid', /ERR_JWT_EXPIRED/],
    ['missing exp', () => svid({}, { exp: undefined }), 'jwt-svid', /"exp"/],
    ['string exp', () => svid({}, { exp: String(NOW + 60) }), 'jwt-svid', /"exp"/],
    ['nbf in the future', () => svid({}, { nbf: NOW + 31 }), 'jwt-svid', /"nbf"/],
    ['sub with a dot-dot segment', () => svid({}, { sub: `spiffe://${TD}/ns/../admin` }), 'jwt-svid', /sub is not a valid SPIFFE ID/],
    ['sub with upper-case trust domain path trick', () => svid({}, { sub: `spiffe://${TD}/a/` }), 'jwt-svid', /trailing/],
    ['OIDC wrong aud', () => gh({ aud: 'someone-else' }), 'oidc', /"aud"/],
    ['OIDC expired', () => gh({ exp: NOW - 3600 }), 'oidc', /ERR_JWT_EXPIRED/],
    ['OIDC claim with a value not allowed', () => gh({ environment: 'dev' }), 'oidc', /claim "environment" has a value that is not allowed/],
    ['OIDC required claim missing', () => gh({ repository_owner: undefined }), 'oidc', /"repository_owner" is missing/],
    ['OIDC required claim not a string', () => gh({ environment: ['prod'] }), 'oidc', /"environment" is not a string/],
    ['OIDC template claim missing', () => gh({ workflow: undefined }), 'oidc', /claim "workflow" .* missing/],
    ['OIDC template claim not a string', () => gh({ workflow: 42 }), 'oidc', /claim "workflow" .* not a string/],
    ['OIDC claim producing ..', () => gh({ repository: '..' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC claim producing a dot-dot path', () => gh({ repository: 'acme/../admin' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC claim producing an empty segment', () => gh({ repository: 'acme/' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC claim with percent-encoding', () => gh({ repository: 'acme%2Fapi' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC claim with a space', () => gh({ workflow: 'deploy prod' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC empty claim', () => gh({ workflow: '' }), 'oidc', /invalid SPIFFE ID/],
    ['OIDC signed by a JWT-SVID key', () => signJwt({ alg: 'ES256', kid: 'svid-1' }, ghClaims(), svidKey), 'oidc', /no key with kid "svid-1"/],
  ])('%s', async (_name, make, via, detail) => {
    const r = await check(`Bearer ${make()}`);
    expect(r.reason).toBe('INVALID_IDENTITY');
    expect(r.via).toBe(via);
    expect(r.spiffeId).toBeNull();
    expect(r.issuer).toBe(via === 'oidc' ? GH : `spiffe://${TD}`);
    expect(r.tokenSha256).toMatch(/^[0-9a-f]{16}$/);
    expect(r.detail).toMatch(detail);
  });

  it('refuses a 100 KiB token before parsing it', async () => {
    const r = await check(`Bearer ${'a'.repeat(50_000)}.${'b'.repeat(50_000)}.${'c'.repeat(2_400)}`);
    expect(r).toMatchObject({ reason: 'INVALID_IDENTITY', detail: 'bearer token larger than 16 KiB', tokenSha256: null });
  });
});

describe('not a bearer identity (NO_IDENTITY)', () => {
  it.each<[string, () => string]>([
    ['empty', () => ''],
    ['Basic credentials', () => 'Basic dXNlcjpwYXNz'],
    ['scheme only', () => 'Bearer'],
    ['scheme and space only', () => 'Bearer '],
    ['no space', () => `Bearer${svid()}`],
    ['tab instead of space', () => `Bearer\t${svid()}`],
    ['leading space', () => ` Bearer ${svid()}`],
    ['trailing space', () => `Bearer ${svid()} `],
    ['two tokens', () => `Bearer ${svid()} ${svid()}`],
    ['comma-joined duplicate headers', () => `Bearer ${svid()},Bearer ${svid()}`],
    ['two segments', () => 'Bearer abc.def'],
    ['four segments', () => `Bearer ${svid()}.x`],
    ['JWE-like five segments', () => 'Bearer a.b.c.d.e'],
    ['standard base64 characters', () => `Bearer ${svid().replace(/-/g, '+')}+/=`],
    ['header not JSON', () => `Bearer ${Buffer.from('nope').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`],
    ['payload an array', () => `Bearer ${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.c2ln`],
    ['unconfigured issuer', () => signJwt({ alg: 'ES256', kid: 'svid-1' }, { ...ghClaims(), iss: 'https://evil.example.com' }, svidKey)],
    ['JWT-SVID of an unconfigured trust domain', () => svid({}, { sub: 'spiffe://evil.example.com/ns/a/sa/b' })],
    ['JWT-SVID sub not a SPIFFE ID', () => svid({}, { sub: 'refund-worker' })],
    ['huge non-bearer header', () => `Basic ${'a'.repeat(100_000)}`],
  ])('%s', async (_name, make) => {
    const r = await check(make());
    expect(r.reason).toBe('NO_IDENTITY');
    expect(r.spiffeId).toBeNull();
    expect(r.via).toBeNull();
  });
});

describe('verify never throws', () => {
  it('answers arbitrary authorization values and JWT-shaped junk with a result', async () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    const json = fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url'));
    const value = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(json, json, seg).map(([h, p, sig]) => `Bearer ${h}.${p}.${sig}`),
      fc.tuple(fc.record({ alg: fc.constantFrom('ES256', 'RS256', 'none', 'HS256'), kid: fc.constantFrom('svid-1', 'gh-1', 'x') }), fc.record({
        iss: fc.constantFrom(GH, SINGLE, 'x'), sub: fc.constantFrom(SVID, `spiffe://${TD}/..`, 'x'), aud: fc.constantFrom('mandate', 'x'),
        exp: fc.integer(), repository: fc.string({ maxLength: 10 }), workflow: fc.string({ maxLength: 10 }),
      })).map(([h, p]) => `Bearer ${unsigned(h, p)}sig`),
    );
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const r = await check(v);
        expect(['NO_IDENTITY', 'INVALID_IDENTITY']).toContain(r.reason);
      }),
      { numRuns: 300 },
    );
  });

  it('answers hostile values with a result', async () => {
    for (const v of ['Bearer \u0000.\u0000.\u0000', 'Bearer e30.e30.', 'Bearer eyJhbGciOiJFUzI1NiJ9.bnVsbA.c2ln', `Bearer ${'A'.repeat(16_000)}.e30.x`]) {
      const r = await check(v);
      expect(['NO_IDENTITY', 'INVALID_IDENTITY']).toContain(r.reason);
    }
  });
});
