/**
 * Task-token signing keys (SPEC section 8): private key files in PEM (PKCS#8, SEC1 EC) or
 * JWK form, ES256 (P-256) or EdDSA (Ed25519) only. The first key signs, all verify, which
 * is how rotation works: add the new key first, keep the old one until its tokens expire.
 * `kid` is the RFC 7638 thumbprint of the public key unless a JWK file names its own, so
 * the CLI and the server agree on it for the same file.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint } from 'jose';
import type { TokenAlg } from './types.js';

export interface PublicJwk {
  readonly kty: 'EC' | 'OKP';
  readonly crv: 'P-256' | 'Ed25519';
  readonly x: string;
  /** EC keys only. */
  readonly y?: string;
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly use: 'sig';
}

/** The body of GET /.well-known/jwks.json. */
export interface Jwks {
  readonly keys: readonly PublicJwk[];
}

/** What the verifier needs of a key. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly publicKey: KeyObject;
}

export interface SigningKey extends VerificationKey {
  readonly privateKey: KeyObject;
  readonly jwk: PublicJwk;
  /** File the key came from, or 'ephemeral'. */
  readonly source: string;
}

export interface KeyRing {
  /** The key that signs new tokens: the first one configured. */
  readonly signing: SigningKey;
  /** All keys, signing key first; every one verifies. */
  readonly keys: readonly SigningKey[];
  /** True when no key was configured and one was generated: the server must log a warning. */
  readonly ephemeral: boolean;
  readonly jwks: Jwks;
}

export type KeyRingResult =
  | { readonly ok: true; readonly ring: KeyRing }
  | { readonly ok: false; readonly errors: readonly string[] };

export type ParsedKey =
  | { readonly ok: true; readonly key: VerificationKey; readonly privateKey: KeyObject | null; readonly jwk: PublicJwk }
  | { readonly ok: false; readonly error: string };

/**
 * Loads the configured key files; with none, generates an ephemeral ES256 key. Reports
 * every bad file at once, one line each, for the config loader to print (exit 2).
 */
export async function loadKeyRing(paths: readonly string[]): Promise<KeyRingResult> {
  if (paths.length === 0) return { ok: true, ring: await ephemeralKeyRing() };
  const errors: string[] = [];
  const keys: SigningKey[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      errors.push(`token key ${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    const parsed = await parseKeyText(text, { requirePrivate: true });
    if (!parsed.ok) {
      errors.push(`token key ${path}: ${parsed.error}`);
      continue;
    }
    const clash = keys.find((k) => k.kid === parsed.key.kid);
    if (clash !== undefined) {
      errors.push(`token key ${path}: kid "${parsed.key.kid}" is already used by ${clash.source}`);
      continue;
    }
    keys.push(Object.freeze({ ...parsed.key, privateKey: parsed.privateKey as KeyObject, jwk: parsed.jwk, source: path }));
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, ring: ringOf(keys, false) };
}

export async function ephemeralKeyRing(): Promise<KeyRing> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const parsed = await describeKey(privateKey, createPublicKey(privateKey), null);
  if (!parsed.ok) throw new Error(`ephemeral key: ${parsed.error}`); // cannot happen: P-256 is supported
  return ringOf([Object.freeze({ ...parsed.key, privateKey, jwk: parsed.jwk, source: 'ephemeral' })], true);
}

/** A key ring from keys already parsed (tests, the CLI). */
export function ringOf(keys: readonly SigningKey[], ephemeral: boolean): KeyRing {
  const first = keys[0];
  if (first === undefined) throw new Error('a key ring needs at least one key');
  return Object.freeze({
    signing: first,
    keys: Object.freeze([...keys]),
    ephemeral,
    jwks: Object.freeze({ keys: Object.freeze(keys.map((k) => k.jwk)) }),
  });
}

/**
 * Parses one key file's text: a PEM block or a single JWK. With `requirePrivate` false a
 * public key is accepted too (`mandate token verify --key`). Never throws.
 */
export async function parseKeyText(text: string, opts: { requirePrivate: boolean }): Promise<ParsedKey> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseJwkText(trimmed, opts.requirePrivate);
  if (trimmed.startsWith('-----BEGIN')) return parsePem(trimmed, opts.requirePrivate);
  return { ok: false, error: 'neither a PEM key nor a JWK (expected "-----BEGIN" or "{")' };
}

async function parsePem(pem: string, requirePrivate: boolean): Promise<ParsedKey> {
  if (pem.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    return { ok: false, error: 'encrypted private keys are not supported' };
  }
  const isPublic = /-----BEGIN PUBLIC KEY-----/.test(pem) && !/PRIVATE KEY-----/.test(pem);
  if (isPublic) {
    if (requirePrivate) return { ok: false, error: 'is a public key; a private signing key is needed' };
    let pub: KeyObject;
    try {
      pub = createPublicKey({ key: pem, format: 'pem' });
    } catch {
      return { ok: false, error: 'the public key PEM does not parse' };
    }
    return describeKey(null, pub, null);
  }
  // OpenSSL's `ecparam -genkey` writes an EC PARAMETERS block before the key: keep only the key.
  const block = /-----BEGIN (EC )?PRIVATE KEY-----[\s\S]*?-----END (EC )?PRIVATE KEY-----/.exec(pem);
  if (block === null) return { ok: false, error: 'no "PRIVATE KEY" or "EC PRIVATE KEY" PEM block' };
  let priv: KeyObject;
  try {
    priv = createPrivateKey({ key: block[0], format: 'pem' });
  } catch {
    return { ok: false, error: 'the private key PEM does not parse' };
  }
  return describeKey(priv, createPublicKey(priv), null);
}

async function parseJwkText(text: string, requirePrivate: boolean): Promise<ParsedKey> {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return { ok: false, error: 'a JWK must be a JSON object' };
  const o = jwk as Record<string, unknown>;
  if (Array.isArray(o['keys'])) return { ok: false, error: 'holds a key set; give one JWK per file' };
  if (o['kid'] !== undefined && (typeof o['kid'] !== 'string' || o['kid'] === '')) {
    return { ok: false, error: '"kid" must be a non-empty string' };
  }
  if (o['use'] !== undefined && o['use'] !== 'sig') return { ok: false, error: `"use" must be "sig" when present` };
  const hasD = typeof o['d'] === 'string';
  if (requirePrivate && !hasD) return { ok: false, error: 'is a public JWK ("d" missing); a private signing key is needed' };
  let priv: KeyObject | null = null;
  let pub: KeyObject;
  try {
    if (hasD) {
      priv = createPrivateKey({ key: o as JsonWebKey, format: 'jwk' });
      pub = createPublicKey(priv);
    } else {
      pub = createPublicKey({ key: o as JsonWebKey, format: 'jwk' });
    }
  } catch {
    return { ok: false, error: 'the JWK does not describe a usable key' };
  }
  const described = await describeKey(priv, pub, typeof o['kid'] === 'string' ? o['kid'] : null);
  if (described.ok && o['alg'] !== undefined && o['alg'] !== described.key.alg) {
    return { ok: false, error: `"alg" ${JSON.stringify(o['alg'])} does not fit a ${described.jwk.crv} key (expected ${described.key.alg})` };
  }
  return described;
}

/** Names the algorithm, builds the public JWK and the kid. Rejects anything but P-256 and Ed25519. */
async function describeKey(priv: KeyObject | null, pub: KeyObject, ownKid: string | null): Promise<ParsedKey> {
  const type = pub.asymmetricKeyType;
  let alg: TokenAlg;
  if (type === 'ec') {
    const curve = pub.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1') return { ok: false, error: `EC curve ${curve ?? 'unknown'} is not supported; use P-256 (ES256)` };
    alg = 'ES256';
  } else if (type === 'ed25519') {
    alg = 'EdDSA';
  } else {
    return { ok: false, error: `${type ?? 'unknown'} keys are not supported; use EC P-256 (ES256) or Ed25519 (EdDSA)` };
  }
  const exported = pub.export({ format: 'jwk' });
  const base =
    alg === 'ES256'
      ? { kty: 'EC' as const, crv: 'P-256' as const, x: String(exported.x), y: String(exported.y) }
      : { kty: 'OKP' as const, crv: 'Ed25519' as const, x: String(exported.x) };
  const kid = ownKid ?? (await calculateJwkThumbprint(base, 'sha256'));
  const jwk: PublicJwk = Object.freeze({ ...base, kid, alg, use: 'sig' as const });
  return { ok: true, key: Object.freeze({ kid, alg, publicKey: pub }), privateKey: priv, jwk };
}

/**
 * Verification keys from a JWKS document (`mandate token verify --jwks`). Keys without a
 * kid, or of a type tokens never use, are skipped: a shared JWKS may hold other keys.
 */
export function keysFromJwks(doc: unknown): { ok: true; keys: readonly VerificationKey[] } | { ok: false; error: string } {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    return { ok: false, error: 'not a JWKS document (no "keys" array)' };
  }
  const keys: VerificationKey[] = [];
  for (const entry of (doc as { keys: unknown[] }).keys) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    if (typeof e['kid'] !== 'string' || e['kid'] === '' || e['d'] !== undefined) continue;
    if (e['use'] !== undefined && e['use'] !== 'sig') continue;
    let alg: TokenAlg;
    if (e['kty'] === 'EC' && e['crv'] === 'P-256') alg = 'ES256';
    else if (e['kty'] === 'OKP' && e['crv'] === 'Ed25519') alg = 'EdDSA';
    else continue;
    if (e['alg'] !== undefined && e['alg'] !== alg) continue;
    try {
      const publicKey = createPublicKey({ key: e as JsonWebKey, format: 'jwk' });
      keys.push(Object.freeze({ kid: e['kid'], alg, publicKey }));
    } catch {
      continue;
    }
  }
  if (keys.length === 0) return { ok: false, error: 'the JWKS holds no usable ES256 or EdDSA key with a kid' };
  return { ok: true, keys };
}
