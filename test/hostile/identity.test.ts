/**
 * Identity attacks of SPEC section 4 against the running server over gRPC: spoofed
 * identity headers, malformed and look-alike SPIFFE IDs, and every way a peer certificate
 * can be unusable. XFCC is attacked both when it is not trusted (never an identity) and
 * when it is (only the last element, consistent with the principal).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { envoyEncodePem, makeCa, makeLeaf, KeyUsage } from '../helpers/certs.js';
import { OTHER, REFUND, WORKER, cases, runRow, startTarget, type Row, type Target } from './harness.js';

const HOUR = 3_600_000;
const now = Date.now();
const ca = await makeCa({ trustDomain: 'prod.example.org' });
const good = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER] })).certPem);
const twoUris = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER, OTHER] })).certPem);
const caCert = envoyEncodePem(ca.certPem);
const caFlagLeaf = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER], ca: true })).certPem);
const certSigner = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER], keyUsage: KeyUsage.digitalSignature | KeyUsage.keyCertSign })).certPem);
const expired = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER], notBefore: new Date(now - 3 * HOUR), notAfter: new Date(now - HOUR) })).certPem);
const notYet = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER], notBefore: new Date(now + HOUR), notAfter: new Date(now + 3 * HOUR) })).certPem);
const mismatched = envoyEncodePem((await makeLeaf(ca, { uris: [OTHER] })).certPem);
const dnsOnly = envoyEncodePem((await makeLeaf(ca, { dns: ['refund-worker.prod.example.org'] })).certPem);
const httpsUri = envoyEncodePem((await makeLeaf(ca, { uris: ['https://prod.example.org/ns/billing/sa/refund-worker'] })).certPem);
const upperUri = envoyEncodePem((await makeLeaf(ca, { uris: ['spiffe://PROD.example.org/ns/billing/sa/refund-worker'] })).certPem);
const untrustedUri = envoyEncodePem((await makeLeaf(ca, { uris: ['spiffe://evil.example.org/ns/billing/sa/refund-worker'] })).certPem);
const chain = envoyEncodePem((await makeLeaf(ca, { uris: [WORKER] })).fullChainPem);
const goodPem = (await makeLeaf(ca, { uris: [WORKER] })).certPem;
const truncated = envoyEncodePem(goodPem.slice(0, 200) + '\n-----END CERTIFICATE-----\n');
const flipped = envoyEncodePem(goodPem.replace(/(-----\n)(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A')));
const oversized = envoyEncodePem(goodPem + 'x'.repeat(70 * 1024));
const noPrincipal = { ...REFUND, principal: '' };

const spoofing: Row[] = [
  ['baseline: a valid principal is allowed', REFUND, 'ALLOWED'],
  ['spoofed XFCC alone (not trusted) is no identity', { ...noPrincipal, headers: { 'x-forwarded-client-cert': `By=spiffe://prod.example.org/ns/payments/sa/payments-api;URI=${WORKER}` } }, 'NO_IDENTITY'],
  ['spoofed x-envoy-downstream-service-cluster is no identity', { ...noPrincipal, headers: { 'x-envoy-downstream-service-cluster': WORKER } }, 'NO_IDENTITY'],
  ['spoofed source.service is no identity', { ...noPrincipal, sourceService: WORKER }, 'NO_IDENTITY'],
  ['spoofed x-forwarded-for / x-spiffe-id headers are no identity', { ...noPrincipal, headers: { 'x-spiffe-id': WORKER, 'x-forwarded-for': '10.0.0.1', 'x-client-principal': WORKER } }, 'NO_IDENTITY'],
  ['an untrusted XFCC naming someone else does not change a valid principal', { ...REFUND, headers: { 'x-forwarded-client-cert': `URI=${OTHER}` } }, 'ALLOWED'],
  ['a garbage untrusted XFCC is not even parsed', { ...REFUND, headers: { 'x-forwarded-client-cert': '"";;;==,,\\' } }, 'ALLOWED'],
  ['source.service naming an admin does not change the principal', { ...REFUND, principal: OTHER, sourceService: WORKER }, 'NO_MANDATE'],
  ['an authorization bearer with no bearer issuer configured is no identity', { ...noPrincipal, headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJzcGlmZmU6Ly9wcm9kLmV4YW1wbGUub3JnL25zL2JpbGxpbmcvc2EvcmVmdW5kLXdvcmtlciJ9.' } }, 'NO_IDENTITY'],
];

const principals: Row[] = [
  ['DNS SAN principal', { ...REFUND, principal: 'refund-worker.prod.example.org' }, 'INVALID_IDENTITY'],
  ['Subject-string principal', { ...REFUND, principal: 'CN=refund-worker,O=prod' }, 'INVALID_IDENTITY'],
  ["Envoy's invalid-UTF-8 marker", { ...REFUND, principal: '!' }, 'INVALID_IDENTITY'],
  ['upper-case trust domain', { ...REFUND, principal: 'spiffe://Prod.example.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['upper-case scheme', { ...REFUND, principal: 'SPIFFE://prod.example.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['one-slash scheme', { ...REFUND, principal: 'spiffe:/prod.example.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['trailing slash', { ...REFUND, principal: WORKER + '/' }, 'INVALID_IDENTITY'],
  ['empty segment', { ...REFUND, principal: 'spiffe://prod.example.org/ns//billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['dot-dot segment', { ...REFUND, principal: 'spiffe://prod.example.org/ns/other/../billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['dot segment', { ...REFUND, principal: 'spiffe://prod.example.org/ns/./billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['percent-encoded character', { ...REFUND, principal: 'spiffe://prod.example.org/ns/billing/sa/refund%2Dworker' }, 'INVALID_IDENTITY'],
  ['percent-encoded slash', { ...REFUND, principal: 'spiffe://prod.example.org/ns%2Fbilling/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['port in trust domain', { ...REFUND, principal: 'spiffe://prod.example.org:443/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['userinfo in trust domain', { ...REFUND, principal: 'spiffe://admin@prod.example.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['query', { ...REFUND, principal: WORKER + '?admin=1' }, 'INVALID_IDENTITY'],
  ['fragment', { ...REFUND, principal: WORKER + '#x' }, 'INVALID_IDENTITY'],
  ['trailing space', { ...REFUND, principal: WORKER + ' ' }, 'INVALID_IDENTITY'],
  ['leading space', { ...REFUND, principal: ' ' + WORKER }, 'INVALID_IDENTITY'],
  ['NUL inside', { ...REFUND, principal: WORKER + '\u0000' }, 'INVALID_IDENTITY'],
  ['Cyrillic look-alike in the trust domain', { ...REFUND, principal: 'spiffe://prod.\u0435xample.org/ns/billing/sa/refund-worker' }, 'INVALID_IDENTITY'],
  ['Kelvin-sign look-alike in the path', { ...REFUND, principal: 'spiffe://prod.example.org/ns/billing/sa/refund-wor\u212aer' }, 'INVALID_IDENTITY'],
  ['full-width solidus in the path', { ...REFUND, principal: 'spiffe://prod.example.org/ns/billing\uff0fsa/refund-worker' }, 'INVALID_IDENTITY'],
  ['trust domain only', { ...REFUND, principal: 'spiffe://prod.example.org' }, 'INVALID_IDENTITY'],
  ['2049 bytes', { ...REFUND, principal: 'spiffe://prod.example.org/' + 'a'.repeat(2049 - 'spiffe://prod.example.org/'.length) }, 'INVALID_IDENTITY'],
  ['untrusted trust domain', { ...REFUND, principal: 'spiffe://evil.example.org/ns/billing/sa/refund-worker' }, 'UNTRUSTED_DOMAIN'],
  ['trusted domain as a prefix of an evil one', { ...REFUND, principal: 'spiffe://prod.example.org.evil.com/ns/billing/sa/refund-worker' }, 'UNTRUSTED_DOMAIN'],
  ['parent of a trusted domain', { ...REFUND, principal: 'spiffe://example.org/ns/billing/sa/refund-worker' }, 'UNTRUSTED_DOMAIN'],
  ['trusted domain with a trailing dot', { ...REFUND, principal: 'spiffe://prod.example.org./ns/billing/sa/refund-worker' }, 'UNTRUSTED_DOMAIN'],
  ['unknown subject in a trusted domain', { ...REFUND, principal: OTHER }, 'NO_MANDATE'],
  ['subject differing only in case', { ...REFUND, principal: 'spiffe://prod.example.org/ns/billing/sa/Refund-worker' }, 'NO_MANDATE'],
  ['subject with an extra segment', { ...REFUND, principal: WORKER + '/x' }, 'NO_MANDATE'],
  ['same path in another trusted domain is another subject', { ...REFUND, principal: 'spiffe://staging.example.org/ns/billing/sa/refund-worker' }, 'ACTION_NOT_PERMITTED'],
];

const certificates: Row[] = [
  ['valid certificate matching the principal', { ...REFUND, certificate: good }, 'ALLOWED'],
  ['valid certificate without a principal', { ...noPrincipal, certificate: good }, 'ALLOWED'],
  ['certificate with two URI SANs', { ...REFUND, certificate: twoUris }, 'INVALID_IDENTITY'],
  ['certificate with two URI SANs and no principal', { ...noPrincipal, certificate: twoUris }, 'INVALID_IDENTITY'],
  ['the CA certificate itself', { ...noPrincipal, certificate: caCert }, 'INVALID_IDENTITY'],
  ['a leaf with cA=true', { ...REFUND, certificate: caFlagLeaf }, 'INVALID_IDENTITY'],
  ['a leaf whose key usage allows keyCertSign', { ...REFUND, certificate: certSigner }, 'INVALID_IDENTITY'],
  ['an expired certificate', { ...REFUND, certificate: expired }, 'INVALID_IDENTITY'],
  ['a certificate not yet valid', { ...REFUND, certificate: notYet }, 'INVALID_IDENTITY'],
  ['a certificate naming someone else than the principal', { ...REFUND, certificate: mismatched }, 'INVALID_IDENTITY'],
  ['a certificate with only a DNS SAN', { ...noPrincipal, certificate: dnsOnly }, 'INVALID_IDENTITY'],
  ['a certificate whose URI SAN is https://', { ...noPrincipal, certificate: httpsUri }, 'INVALID_IDENTITY'],
  ['a certificate whose URI SAN has an upper-case trust domain', { ...noPrincipal, certificate: upperUri }, 'INVALID_IDENTITY'],
  ['a valid certificate in an untrusted domain', { ...noPrincipal, certificate: untrustedUri }, 'UNTRUSTED_DOMAIN'],
  ['leaf and CA in one field', { ...REFUND, certificate: chain }, 'INVALID_IDENTITY'],
  ['truncated PEM', { ...REFUND, certificate: truncated }, 'INVALID_IDENTITY'],
  ['PEM with a flipped base64 character', { ...REFUND, certificate: flipped }, 'INVALID_IDENTITY'],
  ['malformed URL encoding', { ...REFUND, certificate: '%ZZ' + good }, 'INVALID_IDENTITY'],
  ['lone percent sign', { ...REFUND, certificate: '%' }, 'INVALID_IDENTITY'],
  ['not PEM at all', { ...REFUND, certificate: 'hello' }, 'INVALID_IDENTITY'],
  ['PEM armour with garbage inside', { ...REFUND, certificate: envoyEncodePem('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n') }, 'INVALID_IDENTITY'],
  ['a private key instead of a certificate', { ...REFUND, certificate: envoyEncodePem(ca.keyPem) }, 'INVALID_IDENTITY'],
  ['oversized PEM (70 KiB)', { ...REFUND, certificate: oversized }, 'INVALID_IDENTITY'],
  ['an unusable certificate is never a fallback to the principal', { ...REFUND, certificate: 'garbage' }, 'INVALID_IDENTITY'],
];

describe('hostile identities, XFCC not trusted', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget();
  });
  afterAll(async () => t?.close());

  it.each(cases(spoofing))('spoofing: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
  it.each(cases(principals))('principal: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
  it.each(cases(certificates))('certificate: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
});

const xfcc = (v: string) => ({ 'x-forwarded-client-cert': v });
const trustedXfcc: Row[] = [
  ['last element URI is the identity', { ...noPrincipal, headers: xfcc(`By=${OTHER};URI=${WORKER}`) }, 'ALLOWED'],
  ['a caller-supplied first element is ignored', { ...noPrincipal, headers: xfcc(`URI=${WORKER},By=x;URI=${OTHER}`) }, 'NO_MANDATE'],
  ['a caller cannot append after the sidecar (its element is first)', { ...noPrincipal, headers: xfcc(`URI=${OTHER},URI=${WORKER}`) }, 'ALLOWED'],
  ['XFCC that disagrees with the principal', { ...REFUND, headers: xfcc(`URI=${OTHER}`) }, 'INVALID_IDENTITY'],
  ['XFCC that agrees with the principal', { ...REFUND, headers: xfcc(`URI=${WORKER}`) }, 'ALLOWED'],
  ['two URI values in the last element', { ...noPrincipal, headers: xfcc(`URI=${WORKER};URI=${OTHER}`) }, 'INVALID_IDENTITY'],
  ['unterminated quote', { ...noPrincipal, headers: xfcc(`Subject="CN=a;URI=${WORKER}`) }, 'INVALID_IDENTITY'],
  ['quote hiding an element boundary', { ...noPrincipal, headers: xfcc(`Subject="x,URI=${WORKER}";URI=${OTHER}`) }, 'NO_MANDATE'],
  ['URI that is not a SPIFFE ID', { ...noPrincipal, headers: xfcc('URI=https://prod.example.org/x') }, 'INVALID_IDENTITY'],
  ['URI with an upper-case trust domain', { ...noPrincipal, headers: xfcc('URI=spiffe://PROD.example.org/ns/billing/sa/refund-worker') }, 'INVALID_IDENTITY'],
  ['last element without URI is no identity', { ...noPrincipal, headers: xfcc(`URI=${WORKER},By=spiffe://x/y;Hash=abc`) }, 'NO_IDENTITY'],
  ['empty header value', { ...noPrincipal, headers: xfcc(',') }, 'INVALID_IDENTITY'],
  ['oversized XFCC (70 KiB)', { ...noPrincipal, headers: xfcc(`Hash=${'a'.repeat(70 * 1024)};URI=${WORKER}`) }, 'INVALID_IDENTITY'],
  ['URI in an untrusted domain', { ...noPrincipal, headers: xfcc('URI=spiffe://evil.example.org/ns/billing/sa/refund-worker') }, 'UNTRUSTED_DOMAIN'],
  ['x-envoy-downstream-service-cluster still never counts', { ...noPrincipal, headers: { 'x-envoy-downstream-service-cluster': WORKER } }, 'NO_IDENTITY'],
];

describe('hostile identities, XFCC trusted (--trust-xfcc)', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(['--trust-xfcc']);
  });
  afterAll(async () => t?.close());

  it.each(cases(trustedXfcc))('xfcc: %s → %s', async (_n, reason, parts) => runRow(t.client, parts, reason));
});
