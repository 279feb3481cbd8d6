import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveIdentity } from '../../src/identity/resolve.js';
import type { BearerIdentity, IdentityInput, IdentityOptions, IdentityResult } from '../../src/identity/types.js';
import { envoyEncodePem, makeCa, makeLeaf } from '../helpers/certs.js';

const ME = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const OTHER = 'spiffe://prod.example.org/ns/billing/sa/other';
const FOREIGN = 'spiffe://evil.example.com/ns/x/sa/y';
const TRUSTED: ReadonlySet<string> = new Set(['prod.example.org']);
const NOW = Date.now();

const PLAIN: IdentityOptions = { trustXfcc: false, bearer: null };
const XFCC: IdentityOptions = { trustXfcc: true, bearer: null };

let cert: Record<string, string> = {};

beforeAll(async () => {
  const ca = await makeCa();
  const [me, other, two, foreign] = await Promise.all([
    makeLeaf(ca, { uris: [ME] }),
    makeLeaf(ca, { uris: [OTHER] }),
    makeLeaf(ca, { uris: [ME, OTHER] }),
    makeLeaf(ca, { uris: [FOREIGN] }),
  ]);
  cert = {
    me: envoyEncodePem(me.certPem),
    other: envoyEncodePem(other.certPem),
    two: envoyEncodePem(two.certPem),
    foreign: envoyEncodePem(foreign.certPem),
  };
});

function input(p: Partial<IdentityInput>): IdentityInput {
  return { principal: '', certificate: '', xfcc: null, authorization: null, ...p };
}

type Expect = Pick<IdentityResult, 'reason' | 'spiffeId' | 'via'> & { detail?: string };

describe('resolveIdentity (mTLS sources, synchronous)', () => {
  it.each<[string, () => IdentityInput, IdentityOptions, Expect]>([
    ['principal only', () => input({ principal: ME }), PLAIN, { reason: null, spiffeId: ME, via: 'principal' }],
    ['certificate only', () => input({ certificate: cert.me! }), PLAIN, { reason: null, spiffeId: ME, via: 'certificate' }],
    ['principal and matching certificate', () => input({ principal: ME, certificate: cert.me! }), PLAIN,
      { reason: null, spiffeId: ME, via: 'certificate' }],
    ['principal and mismatched certificate', () => input({ principal: ME, certificate: cert.other! }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'certificate', detail: 'certificate URI SAN differs from the principal' }],
    ['certificate with two URI SANs, no fallback to principal', () => input({ principal: ME, certificate: cert.two! }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'certificate' }],
    ['garbage certificate, no fallback', () => input({ principal: ME, certificate: 'garbage' }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'certificate' }],
    ['DNS SAN as principal', () => input({ principal: 'refund.example.org' }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'principal' }],
    ['Subject string as principal', () => input({ principal: 'CN=refund,O=Example' }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'principal' }],
    ['non-canonical principal', () => input({ principal: `${ME}/` }), PLAIN,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'principal' }],
    ['untrusted trust domain', () => input({ principal: FOREIGN }), PLAIN,
      { reason: 'UNTRUSTED_DOMAIN', spiffeId: FOREIGN, via: 'principal' }],
    ['untrusted certificate domain', () => input({ certificate: cert.foreign! }), PLAIN,
      { reason: 'UNTRUSTED_DOMAIN', spiffeId: FOREIGN, via: 'certificate' }],
    ['nothing', () => input({}), PLAIN, { reason: 'NO_IDENTITY', spiffeId: null, via: null }],
    ['untrusted XFCC is ignored', () => input({ xfcc: `URI=${ME}` }), PLAIN, { reason: 'NO_IDENTITY', spiffeId: null, via: null }],
    ['untrusted malformed XFCC is ignored', () => input({ principal: ME, xfcc: 'garbage' }), PLAIN,
      { reason: null, spiffeId: ME, via: 'principal' }],
    ['trusted XFCC alone', () => input({ xfcc: `By=spiffe://td/x;URI=${ME}` }), XFCC, { reason: null, spiffeId: ME, via: 'xfcc' }],
    ['trusted XFCC, spoofed earlier element', () => input({ xfcc: `URI=${OTHER},URI=${ME}` }), XFCC,
      { reason: null, spiffeId: ME, via: 'xfcc' }],
    ['trusted XFCC equal to principal', () => input({ principal: ME, xfcc: `URI=${ME}` }), XFCC,
      { reason: null, spiffeId: ME, via: 'principal' }],
    ['trusted XFCC differing from principal', () => input({ principal: ME, xfcc: `URI=${OTHER}` }), XFCC,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'xfcc' }],
    ['trusted XFCC differing from certificate', () => input({ certificate: cert.me!, xfcc: `URI=${OTHER}` }), XFCC,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'xfcc' }],
    ['trusted malformed XFCC', () => input({ xfcc: 'URI="unterminated' }), XFCC,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'xfcc' }],
    ['trusted XFCC with invalid URI', () => input({ xfcc: 'URI=spiffe://Prod.example.org/a' }), XFCC,
      { reason: 'INVALID_IDENTITY', spiffeId: null, via: 'xfcc' }],
    ['trusted XFCC without URI', () => input({ xfcc: 'Hash=abc' }), XFCC, { reason: 'NO_IDENTITY', spiffeId: null, via: null }],
    ['trusted XFCC, untrusted domain', () => input({ xfcc: `URI=${FOREIGN}` }), XFCC,
      { reason: 'UNTRUSTED_DOMAIN', spiffeId: FOREIGN, via: 'xfcc' }],
    ['authorization without bearer config', () => input({ authorization: 'Bearer a.b.c' }), PLAIN,
      { reason: 'NO_IDENTITY', spiffeId: null, via: null }],
  ])('%s', (_name, make, opts, want) => {
    const r = resolveIdentity(make(), opts, TRUSTED, NOW);
    expect(r).not.toBeInstanceOf(Promise);
    const got = r as IdentityResult;
    expect({ reason: got.reason, spiffeId: got.spiffeId, via: got.via }).toEqual({
      reason: want.reason, spiffeId: want.spiffeId, via: want.via,
    });
    if (want.detail !== undefined) expect(got.detail).toBe(want.detail);
    if (got.reason === null) expect(got.detail).toBeNull();
    else expect(typeof got.detail).toBe('string');
    // Stable shape: every field assigned.
    expect(Object.keys(got).sort()).toEqual(['detail', 'issuer', 'reason', 'spiffeId', 'tokenSha256', 'trustDomain', 'via']);
  });
});

describe('resolveIdentity bearer path', () => {
  function fakeBearer(r: Partial<IdentityResult>): BearerIdentity & { calls: number } {
    const b = {
      calls: 0,
      async verify(): Promise<IdentityResult> {
        b.calls++;
        return { reason: null, spiffeId: null, trustDomain: null, via: 'oidc', detail: null, issuer: 'iss', tokenSha256: 'abcd', ...r };
      },
      stats: () => [],
      close: () => {},
    };
    return b;
  }

  it('is taken only when mTLS gave nothing', async () => {
    const bearer = fakeBearer({ spiffeId: OTHER, trustDomain: 'prod.example.org' });
    const withPrincipal = resolveIdentity(input({ principal: ME, authorization: 'Bearer x' }), { trustXfcc: false, bearer }, TRUSTED, NOW);
    expect(withPrincipal).not.toBeInstanceOf(Promise);
    expect(bearer.calls).toBe(0);
    const viaBearer = await resolveIdentity(input({ authorization: 'Bearer x' }), { trustXfcc: false, bearer }, TRUSTED, NOW);
    expect(bearer.calls).toBe(1);
    expect(viaBearer).toMatchObject({ reason: null, spiffeId: OTHER, via: 'oidc', issuer: 'iss', tokenSha256: 'abcd' });
  });

  it('is not taken after an unusable certificate', () => {
    const bearer = fakeBearer({ spiffeId: OTHER, trustDomain: 'prod.example.org' });
    const r = resolveIdentity(input({ certificate: 'garbage', authorization: 'Bearer x' }), { trustXfcc: false, bearer }, TRUSTED, NOW);
    expect(r).toMatchObject({ reason: 'INVALID_IDENTITY', via: 'certificate' });
    expect(bearer.calls).toBe(0);
  });

  it('applies the trust-domain check to a bearer identity', async () => {
    const bearer = fakeBearer({ spiffeId: FOREIGN, trustDomain: 'evil.example.com', via: 'jwt-svid' });
    const r = await resolveIdentity(input({ authorization: 'Bearer x' }), { trustXfcc: false, bearer }, TRUSTED, NOW);
    expect(r).toMatchObject({ reason: 'UNTRUSTED_DOMAIN', spiffeId: FOREIGN, via: 'jwt-svid', tokenSha256: 'abcd' });
  });

  it('rejects an OIDC mapping outside the trusted trust domains as INVALID_IDENTITY', async () => {
    const bearer = fakeBearer({ spiffeId: 'spiffe://ci.example.org/repo/a/workflow/b', trustDomain: 'ci.example.org', via: 'oidc' });
    const r = await resolveIdentity(input({ authorization: 'Bearer x' }), { trustXfcc: false, bearer }, TRUSTED, NOW);
    expect(r).toEqual({
      reason: 'INVALID_IDENTITY', spiffeId: null, trustDomain: null, via: 'oidc',
      detail: 'subject template gives spiffe://ci.example.org/repo/a/workflow/b, outside the trusted trust domains',
      issuer: 'iss', tokenSha256: 'abcd',
    });
  });

  it('passes a bearer rejection through and never rejects the promise', async () => {
    const rejecting = fakeBearer({ reason: 'INVALID_IDENTITY', detail: 'bad aud', via: 'jwt-svid' });
    expect(await resolveIdentity(input({ authorization: 'Bearer x' }), { trustXfcc: false, bearer: rejecting }, TRUSTED, NOW))
      .toMatchObject({ reason: 'INVALID_IDENTITY', detail: 'bad aud', via: 'jwt-svid' });
    const throwing: BearerIdentity = { verify: () => Promise.reject(new Error('boom')), stats: () => [], close: () => {} };
    const r = await resolveIdentity(input({ authorization: 'Bearer x' }), { trustXfcc: false, bearer: throwing }, TRUSTED, NOW);
    expect(r).toMatchObject({ reason: 'INVALID_IDENTITY', detail: 'bearer verification failed unexpectedly' });
  });
});

describe('resolveIdentity on arbitrary input', () => {
  it('never throws and always answers with a reason from the identity vocabulary', () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.constant(''));
    fc.assert(
      fc.property(text, text, fc.option(text, { nil: null }), fc.boolean(), (principal, certificate, xfcc, trustXfcc) => {
        const r = resolveIdentity(input({ principal, certificate, xfcc }), { trustXfcc, bearer: null }, TRUSTED, NOW) as IdentityResult;
        expect([null, 'NO_IDENTITY', 'INVALID_IDENTITY', 'UNTRUSTED_DOMAIN']).toContain(r.reason);
        if (r.reason === null) expect(TRUSTED.has(r.trustDomain!)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
