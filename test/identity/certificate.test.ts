import { X509Certificate } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CERTIFICATE_CACHE_CHARS,
  CERTIFICATE_CACHE_SIZE,
  certificateCacheSize,
  certificateIdentity,
  clearCertificateCache,
  uriSans,
} from '../../src/identity/certificate.js';
import { envoyEncodePem, KeyUsage, makeCa, makeLeaf, type TestCa } from '../helpers/certs.js';

const ID = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
const HOUR = 3_600_000;
const NOW = Date.now();

let ca: TestCa;
const leaves: Record<string, string> = {};

beforeAll(async () => {
  ca = await makeCa({ trustDomain: 'prod.example.org' });
  const make = async (name: string, opts: Parameters<typeof makeLeaf>[1]) => {
    leaves[name] = envoyEncodePem((await makeLeaf(ca, opts)).certPem);
  };
  await Promise.all([
    make('valid', { uris: [ID] }),
    make('valid rsa', { uris: [ID], keyAlgorithm: 'rsa-2048' }),
    make('valid with dns too', { uris: [ID], dns: ['refund.example.org'] }),
    make('two URI SANs', { uris: [ID, 'spiffe://prod.example.org/other'] }),
    make('no URI SAN', { dns: ['refund.example.org'] }),
    make('no SAN at all', {}),
    make('CA flag', { uris: [ID], ca: true }),
    make('CA flag with keyCertSign', { uris: [ID], ca: true, keyUsage: KeyUsage.keyCertSign | KeyUsage.digitalSignature }),
    make('keyCertSign without CA flag', { uris: [ID], keyUsage: KeyUsage.keyCertSign | KeyUsage.digitalSignature }),
    make('cRLSign', { uris: [ID], keyUsage: KeyUsage.cRLSign | KeyUsage.digitalSignature }),
    make('no basicConstraints', { uris: [ID], omitBasicConstraints: true }),
    make('expired', { uris: [ID], notBefore: new Date(NOW - 3 * HOUR), notAfter: new Date(NOW - HOUR) }),
    make('not yet valid', { uris: [ID], notBefore: new Date(NOW + HOUR), notAfter: new Date(NOW + 2 * HOUR) }),
    make('URI SAN not SPIFFE', { uris: ['https://prod.example.org/a'] }),
    make('URI SAN with trailing slash', { uris: [`${ID}/`] }),
    make('comma-smuggled second URI', { uris: [`${ID}, URI:spiffe://prod.example.org/evil`] }),
    make('quote-smuggled URI', { uris: [`${ID}", URI:"spiffe://prod.example.org/evil`] }),
    make('DNS smuggling a URI', { dns: [`a, URI:${ID}`] }),
  ]);
});

beforeEach(() => clearCertificateCache());

describe('certificateIdentity accepts', () => {
  it.each([['valid'], ['valid rsa'], ['valid with dns too'], ['no basicConstraints']])('%s', (name) => {
    const r = certificateIdentity(leaves[name]!, NOW);
    expect(r).toEqual({ ok: true, spiffe: { id: ID, trustDomain: 'prod.example.org', path: '/ns/billing/sa/refund-worker' } });
  });

  it('encodes exactly as Envoy does (no raw newline, space, plus, slash or equals)', () => {
    expect(leaves['valid']).not.toMatch(/[\n +/=]/);
    expect(leaves['valid']).toContain('-----BEGIN%20CERTIFICATE-----%0A');
  });

  it('accepts a plain (unencoded) PEM too, since decoding it is the identity', async () => {
    const pem = (await makeLeaf(ca, { uris: [ID] })).certPem.replace(/\+/g, '%2B');
    expect(certificateIdentity(pem, NOW).ok).toBe(true);
  });
});

describe('certificateIdentity rejects', () => {
  const big = `-----BEGIN%20CERTIFICATE-----%0A${'A'.repeat(70_000)}`;
  it.each([
    ['two URI SANs', 'certificate has 2 URI SANs, expected exactly one'],
    ['no URI SAN', 'certificate has 0 URI SANs, expected exactly one'],
    ['no SAN at all', 'certificate has 0 URI SANs, expected exactly one'],
    ['CA flag', 'certificate is a CA certificate'],
    ['CA flag with keyCertSign', 'certificate is a CA certificate'],
    ['keyCertSign without CA flag', 'certificate key usage allows signing certificates'],
    ['cRLSign', 'certificate key usage allows signing certificates'],
    ['expired', 'certificate expired'],
    ['not yet valid', 'certificate not yet valid'],
    ['URI SAN not SPIFFE', 'certificate URI SAN is not a valid SPIFFE ID: scheme is not exactly "spiffe://"'],
    ['URI SAN with trailing slash', 'certificate URI SAN is not a valid SPIFFE ID: trailing "/"'],
    ['comma-smuggled second URI', /^certificate URI SAN is not a valid SPIFFE ID/],
    ['quote-smuggled URI', /^certificate URI SAN is not a valid SPIFFE ID/],
    ['DNS smuggling a URI', 'certificate has 0 URI SANs, expected exactly one'],
  ])('%s', (name, detail) => {
    const r = certificateIdentity(leaves[name]!, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail).toMatch(detail instanceof RegExp ? detail : new RegExp(`^${escape(detail)}$`));
  });

  it.each([
    ['malformed PEM body', '-----BEGIN%20CERTIFICATE-----%0AnotBase64!!%0A-----END%20CERTIFICATE-----%0A', 'certificate does not parse'],
    ['truncated PEM', () => leaves['valid']!.slice(0, 200), 'certificate does not parse'],
    ['garbage', 'hello world', 'certificate is not a PEM certificate'],
    ['bad URL encoding', '-----BEGIN%20CERTIFICATE-----%0A%E0%A4%A', 'certificate is not valid URL encoding'],
    ['lone percent', '%', 'certificate is not valid URL encoding'],
    ['oversized', big, 'certificate larger than 64 KiB'],
    ['two certificates', () => leaves['valid']! + leaves['valid']!, 'certificate field holds more than one certificate'],
    ['CA certificate itself', () => envoyEncodePem(ca.certPem), 'certificate is a CA certificate'],
  ])('%s', (_name, input, detail) => {
    const text = typeof input === 'function' ? input() : input;
    const r = certificateIdentity(text, NOW);
    expect(r).toEqual({ ok: false, detail });
  });
});

describe('parse cache', () => {
  it('re-checks validity against now on every call', () => {
    const pem = leaves['valid']!;
    const notAfter = Date.parse(new X509Certificate(decodeURIComponent(pem)).validTo);
    expect(certificateIdentity(pem, NOW).ok).toBe(true);
    expect(certificateCacheSize()).toBe(1);
    expect(certificateIdentity(pem, notAfter + 1)).toEqual({ ok: false, detail: 'certificate expired' });
    // An expired entry leaves the cache.
    expect(certificateCacheSize()).toBe(0);
    expect(certificateIdentity(pem, NOW).ok).toBe(true);
  });

  it('caches failures too and stays bounded', () => {
    for (let i = 0; i < CERTIFICATE_CACHE_SIZE + 50; i++) certificateIdentity(`garbage-${i}`, NOW);
    expect(certificateCacheSize()).toBe(CERTIFICATE_CACHE_SIZE);
  });

  it('bounds the cached text, not only the entry count', () => {
    const big = 'x'.repeat(60 * 1024);
    for (let i = 0; i < 200; i++) certificateIdentity(`${i}${big}`, NOW);
    expect(certificateCacheSize()).toBe(Math.floor(CERTIFICATE_CACHE_CHARS / (big.length + 3)));
    expect(certificateCacheSize()).toBeLessThan(200);
  });

  it('returns the same answer from the cache as from a fresh parse', () => {
    const a = certificateIdentity(leaves['two URI SANs']!, NOW);
    const b = certificateIdentity(leaves['two URI SANs']!, NOW);
    expect(b).toEqual(a);
  });
});

describe('uriSans (Node subjectAltName text)', () => {
  it.each([
    ['empty', '', []],
    ['one URI', 'URI:spiffe://a/b', ['spiffe://a/b']],
    ['URI and DNS', 'DNS:x.example, URI:spiffe://a/b', ['spiffe://a/b']],
    ['two URIs', 'URI:spiffe://a/b, URI:spiffe://a/c', ['spiffe://a/b', 'spiffe://a/c']],
    ['quoted value with comma', 'URI:"spiffe://a/b, URI:spiffe://evil/x"', ['spiffe://a/b, URI:spiffe://evil/x']],
    ['prefix inside quotes', '"URI:spiffe://a/b, x", DNS:y', ['spiffe://a/b, x']],
    ['escaped quote', 'URI:"a\\"b"', ['a"b']],
    ['quoted DNS hiding a URI', 'DNS:"a, URI:spiffe://evil/x"', []],
  ])('%s', (_name, text, uris) => {
    expect(uriSans(text)).toEqual(uris);
  });

  it.each([
    ['unterminated quote', 'URI:"spiffe://a/b'],
    ['no colon', 'garbage'],
    ['trailing separator', 'URI:spiffe://a/b, '],
    ['text after quote', 'URI:"a"b'],
  ])('refuses %s', (_name, text) => {
    expect(uriSans(text)).toBeNull();
  });

  it('agrees with Node on a hostile certificate', () => {
    const text = new X509Certificate(decodeURIComponent(leaves['comma-smuggled second URI']!)).subjectAltName;
    expect(uriSans(text)).toEqual([`${ID}, URI:spiffe://prod.example.org/evil`]);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
