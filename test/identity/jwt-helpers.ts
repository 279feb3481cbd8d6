/** Hand-rolled JWT signing for tests, so hostile headers (crit, jku, alg none…) can be built. */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface TestKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
  readonly privateKey: KeyObject;
  /** Public JWK with kid (no use). */
  readonly jwk: Record<string, unknown>;
  readonly publicPem: string;
}

export function makeKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): TestKey {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey,
    jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid },
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
  };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Signs with `key` under `header` as given (kid/alg are not added automatically). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: TestKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = key.alg === 'ES256'
    ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

/** The classic key-confusion token: HS256 with the public key as the HMAC secret. */
export function hmacWithPublicKey(header: Record<string, unknown>, payload: Record<string, unknown>, key: TestKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key.publicPem).update(input).digest('base64url')}`;
}

export function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64(header)}.${b64(payload)}.`;
}
