import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { ephemeralKeyRing, keysFromJwks, loadKeyRing, parseKeyText } from '../../src/tokens/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'mandate-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ed = generateKeyPairSync('ed25519').privateKey;
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

describe('key files', () => {
  it.each([
    ['EC PKCS#8 PEM', () => ec.export({ format: 'pem', type: 'pkcs8' }).toString(), 'ES256'],
    ['EC SEC1 PEM', () => ec.export({ format: 'pem', type: 'sec1' }).toString(), 'ES256'],
    [
      'EC SEC1 PEM after an EC PARAMETERS block (openssl ecparam -genkey)',
      () => `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${ec.export({ format: 'pem', type: 'sec1' }).toString()}`,
      'ES256',
    ],
    ['EC private JWK', () => JSON.stringify(ec.export({ format: 'jwk' })), 'ES256'],
    ['Ed25519 PKCS#8 PEM', () => ed.export({ format: 'pem', type: 'pkcs8' }).toString(), 'EdDSA'],
    ['Ed25519 private JWK', () => JSON.stringify(ed.export({ format: 'jwk' })), 'EdDSA'],
  ])('%s loads with the RFC 7638 thumbprint as kid', async (name, text, alg) => {
    const path = write(`${name.replace(/\W+/g, '_')}.key`, text());
    const result = await loadKeyRing([path]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const key = result.ring.signing;
    expect(key.alg).toBe(alg);
    const pub = key.publicKey.export({ format: 'jwk' });
    const expectedKid = await calculateJwkThumbprint(
      alg === 'ES256' ? { kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y } : { kty: 'OKP', crv: 'Ed25519', x: pub.x },
    );
    expect(key.kid).toBe(expectedKid);
    expect(result.ring.ephemeral).toBe(false);
    expect(result.ring.jwks.keys[0]).toEqual(
      alg === 'ES256'
        ? { kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y, kid: expectedKid, alg: 'ES256', use: 'sig' }
        : { kty: 'OKP', crv: 'Ed25519', x: pub.x, kid: expectedKid, alg: 'EdDSA', use: 'sig' },
    );
    expect(JSON.stringify(result.ring.jwks)).not.toContain('"d"');
  });

  it('PEM and JWK files of the same key give the same kid', async () => {
    const a = await loadKeyRing([write('same.pem', ec.export({ format: 'pem', type: 'pkcs8' }).toString())]);
    const b = await loadKeyRing([write('same.jwk', JSON.stringify(ec.export({ format: 'jwk' })))]);
    expect(a.ok && b.ok && a.ring.signing.kid === b.ring.signing.kid).toBe(true);
  });

  it('a JWK file that sets its own kid keeps it', async () => {
    const r = await loadKeyRing([write('own.jwk', JSON.stringify({ ...ed.export({ format: 'jwk' }), kid: '2026-12' }))]);
    expect(r.ok && r.ring.signing.kid).toBe('2026-12');
    expect(r.ok && r.ring.jwks.keys[0]?.kid).toBe('2026-12');
  });

  it('the first key signs, all are published', async () => {
    const p1 = write('first.pem', ed.export({ format: 'pem', type: 'pkcs8' }).toString());
    const p2 = write('second.pem', ec.export({ format: 'pem', type: 'pkcs8' }).toString());
    const r = await loadKeyRing([p1, p2]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.ring.signing.alg).toBe('EdDSA');
    expect(r.ring.keys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256']);
    expect(r.ring.jwks.keys).toHaveLength(2);
  });

  it('no key configured: an ephemeral ES256 key, flagged', async () => {
    const r = await loadKeyRing([]);
    expect(r.ok && r.ring.ephemeral).toBe(true);
    expect(r.ok && r.ring.signing.alg).toBe('ES256');
    const again = await ephemeralKeyRing();
    expect(r.ok && r.ring.signing.kid).not.toBe(again.signing.kid);
  });

  it.each([
    ['missing file', null, /cannot read file \(ENOENT\)/],
    ['empty file', '', /neither a PEM key nor a JWK/],
    ['random text', 'hello', /neither a PEM key nor a JWK/],
    ['P-384 key', p384.export({ format: 'pem', type: 'pkcs8' }).toString(), /EC curve secp384r1 is not supported/],
    ['RSA key', rsa.export({ format: 'pem', type: 'pkcs8' }).toString(), /rsa keys are not supported/],
    ['public key PEM', createPublicKey(ec).export({ format: 'pem', type: 'spki' }).toString(), /public key/],
    [
      'encrypted PKCS#8',
      ec.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }).toString(),
      /encrypted private keys are not supported/,
    ],
    ['broken PEM body', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /does not parse/],
    ['JSON that is not an object', '[1]', /neither|JSON object/],
    ['bad JSON', '{"kty":', /not valid JSON/],
    ['public JWK', JSON.stringify({ ...ec.export({ format: 'jwk' }), d: undefined }), /public JWK/],
    ['JWKS instead of a JWK', JSON.stringify({ keys: [ec.export({ format: 'jwk' })] }), /key set/],
    ['JWK with a wrong alg', JSON.stringify({ ...ec.export({ format: 'jwk' }), alg: 'EdDSA' }), /"alg" "EdDSA" does not fit/],
    ['JWK with use enc', JSON.stringify({ ...ec.export({ format: 'jwk' }), use: 'enc' }), /"use" must be "sig"/],
    ['JWK with an empty kid', JSON.stringify({ ...ec.export({ format: 'jwk' }), kid: '' }), /"kid" must be a non-empty string/],
    ['JWK with broken coordinates', JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' }), /not describe a usable key/],
  ])('%s is a clear error', async (name, text, message) => {
    const path = text === null ? join(dir, 'does-not-exist.pem') : write(`bad-${name.replace(/\W+/g, '_')}`, text);
    const r = await loadKeyRing([path]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(new RegExp(`^token key ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(r.errors[0]).toMatch(message);
  });

  it('reports every bad file at once, and duplicate keys', async () => {
    const good = write('dup-a.pem', ec.export({ format: 'pem', type: 'pkcs8' }).toString());
    const dup = write('dup-b.jwk', JSON.stringify(ec.export({ format: 'jwk' })));
    const r = await loadKeyRing([good, join(dir, 'nope'), dup, write('junk', 'x')]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(3);
    expect(r.errors[1]).toMatch(/is already used by .*dup-a\.pem/);
  });

  it('accepts public keys when asked to (token verify --key)', async () => {
    const parsed = await parseKeyText(createPublicKey(ec).export({ format: 'pem', type: 'spki' }).toString(), { requirePrivate: false });
    expect(parsed.ok && parsed.privateKey).toBeNull();
  });
});

describe('keysFromJwks', () => {
  it('takes usable keys and skips the rest', async () => {
    const ring = await loadKeyRing([write('jwks-src.pem', ec.export({ format: 'pem', type: 'pkcs8' }).toString())]);
    if (!ring.ok) throw new Error('setup');
    const rsaPub = rsa.export({ format: 'jwk' });
    const doc = { keys: [{ ...rsaPub, d: undefined, kid: 'rsa' }, { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }, ring.ring.jwks.keys[0]] };
    const r = keysFromJwks(JSON.parse(JSON.stringify(doc)));
    expect(r.ok && r.keys.map((k) => k.kid)).toEqual([ring.ring.signing.kid]);
  });

  it.each([
    ['not an object', 'x'],
    ['no keys array', {}],
    ['only unusable keys', { keys: [{ kty: 'oct', k: 'AA', kid: 'h' }] }],
  ])('%s is an error', (_n, doc) => {
    expect(keysFromJwks(doc).ok).toBe(false);
  });
});
