/** Keys and token builders shared by the token tests. */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { parseKeyText, ringOf, type SigningKey } from '../../src/tokens/keys.js';

export const ISSUER = 'mandate';
export const SUB = 'spiffe://prod.example.org/ns/billing/sa/refund-worker';
export const OTHER = 'spiffe://prod.example.org/ns/shop/sa/cart';
export const NOW_MS = Date.UTC(2026, 11, 4, 12, 0, 0);
export const NOW = NOW_MS / 1000;

export function pemOf(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export async function signingKeyFrom(privateKey: KeyObject, source = 'test'): Promise<SigningKey> {
  const parsed = await parseKeyText(pemOf(privateKey), { requirePrivate: true });
  if (!parsed.ok) throw new Error(parsed.error);
  return { ...parsed.key, privateKey, jwk: parsed.jwk, source };
}

export async function es256Key(): Promise<SigningKey> {
  return signingKeyFrom(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

export async function ed25519Key(): Promise<SigningKey> {
  return signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: SUB,
    aud: 'prod.example.org',
    iat: NOW - 10,
    exp: NOW + 290,
    jti: 'jti-1',
    txn: 'txn-1',
    scope: 'refund-processing',
    req_wl: SUB,
    ...overrides,
  };
}

/** Signs any header and payload by hand, so tests can build tokens jose would refuse to make. */
export function forge(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown> | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig =
    key.alg === 'ES256'
      ? cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : cryptoSign(null, Buffer.from(input), key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

export function headerFor(key: SigningKey, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: 'txntoken+jwt', kid: key.kid, ...overrides };
}

export { ringOf };
