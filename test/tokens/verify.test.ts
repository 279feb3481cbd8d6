import { createHash, createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../src/tokens/issue.js';
import type { SigningKey } from '../../src/tokens/keys.js';
import { createTokenVerifier, type SyncTokenVerifier } from '../../src/tokens/verify.js';
import {
  b64,
  claims,
  ed25519Key,
  es256Key,
  forge,
  headerFor,
  ISSUER,
  NOW,
  NOW_MS,
  OTHER,
  SUB,
} from './fixtures.js';

let es: SigningKey;
let ed: SigningKey;
let verifier: SyncTokenVerifier;

beforeAll(async () => {
  es = await es256Key();
  ed = await ed25519Key();
  verifier = createTokenVerifier({ keys: [es, ed], issuer: ISSUER, cacheSize: 0 });
});

describe('happy paths', () => {
  it.each([
    ['ES256', () => es],
    ['EdDSA', () => ed],
  ])('%s token issued by the signer verifies with all claims', async (alg, key) => {
    const signer = createTokenSigner({ key: key(), issuer: ISSUER });
    const { token, claims: issued } = await signer.issue(
      { sub: SUB, scope: 'refund-processing', ttlSeconds: 300, tctx: { ticket: 'SUP-1' } },
      NOW_MS,
    );
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg, typ: 'txntoken+jwt', kid: key().kid });
    const verdict = await verifier.verify(token, NOW_MS + 1000);
    expect(verdict).toEqual({
      ok: true,
      claims: { ...issued },
      sha256: createHash('sha256').update(token).digest('hex').slice(0, 16),
    });
    expect(issued).toMatchObject({
      iss: ISSUER,
      aud: 'prod.example.org',
      sub: SUB,
      scope: 'refund-processing',
      iat: NOW,
      exp: NOW + 300,
      req_wl: SUB,
      tctx: { ticket: 'SUP-1' },
    });
    expect(issued.txn).toMatch(/^[0-9a-f-]{36}$/);
    expect(issued.jti).not.toBe(issued.txn);
  });

  it('accepts a token without tctx and reports tctx null', () => {
    const v = verifier.verifySync(forge(es, headerFor(es), claims()), NOW_MS);
    expect(v.ok && v.claims.tctx).toBeNull();
  });

  it('accepts iat up to 30 s in the future and exp up to 30 s in the past (skew)', () => {
    expect(verifier.verifySync(forge(es, headerFor(es), claims({ iat: NOW + 30, exp: NOW + 60 })), NOW_MS).ok).toBe(true);
    expect(verifier.verifySync(forge(es, headerFor(es), claims({ iat: NOW - 100, exp: NOW - 29 })), NOW_MS).ok).toBe(true);
  });

  it('accepts a lifetime of exactly one hour', () => {
    expect(verifier.verifySync(forge(es, headerFor(es), claims({ iat: NOW, exp: NOW + 3600 })), NOW_MS).ok).toBe(true);
  });
});

type Build = () => string;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

describe('rejections', () => {
  const rows: Array<[string, Build, 'TOKEN_INVALID' | 'TOKEN_EXPIRED', RegExp]> = [
    ['expired', () => forge(es, headerFor(es), claims({ iat: NOW - 400, exp: NOW - 31 })), 'TOKEN_EXPIRED', /exp has passed/],
    ['expired exactly at exp + skew', () => forge(es, headerFor(es), claims({ iat: NOW - 400, exp: NOW - 30 })), 'TOKEN_EXPIRED', /exp/],
    ['iat in the future (not yet valid)', () => forge(es, headerFor(es), claims({ iat: NOW + 31, exp: NOW + 300 })), 'TOKEN_INVALID', /iat is in the future/],
    ['lifetime over 1 h', () => forge(es, headerFor(es), claims({ iat: NOW, exp: NOW + 3601 })), 'TOKEN_INVALID', /exceeds 3600/],
    ['expired and over 1 h: invalid wins', () => forge(es, headerFor(es), claims({ iat: NOW - 9000, exp: NOW - 100 })), 'TOKEN_INVALID', /exceeds/],
    ['exp before iat', () => forge(es, headerFor(es), claims({ iat: NOW, exp: NOW - 1 })), 'TOKEN_INVALID', /exp is not after iat/],
    ['exp missing', () => forge(es, headerFor(es), claims({ exp: undefined })), 'TOKEN_INVALID', /exp is missing/],
    ['exp as string', () => forge(es, headerFor(es), claims({ exp: String(NOW + 10) })), 'TOKEN_INVALID', /exp is missing/],
    ['wrong typ', () => forge(es, headerFor(es, { typ: 'JWT' }), claims()), 'TOKEN_INVALID', /typ/],
    ['typ missing', () => forge(es, headerFor(es, { typ: undefined }), claims()), 'TOKEN_INVALID', /typ/],
    ['wrong issuer', () => forge(es, headerFor(es), claims({ iss: 'someone-else' })), 'TOKEN_INVALID', /iss/],
    ['wrong audience', () => forge(es, headerFor(es), claims({ aud: 'staging.example.org' })), 'TOKEN_INVALID', /aud is not the trust domain/],
    ['aud as array', () => forge(es, headerFor(es), claims({ aud: ['prod.example.org'] })), 'TOKEN_INVALID', /aud must be a string/],
    ['sub not a SPIFFE ID', () => forge(es, headerFor(es), claims({ sub: 'refund-worker' })), 'TOKEN_INVALID', /sub is not a valid SPIFFE ID/],
    ['sub with upper-case trust domain', () => forge(es, headerFor(es), claims({ sub: 'spiffe://Prod.example.org/a', aud: 'Prod.example.org' })), 'TOKEN_INVALID', /sub/],
    ['scope missing', () => forge(es, headerFor(es), claims({ scope: undefined })), 'TOKEN_INVALID', /scope/],
    ['txn missing', () => forge(es, headerFor(es), claims({ txn: undefined })), 'TOKEN_INVALID', /txn/],
    ['jti missing', () => forge(es, headerFor(es), claims({ jti: undefined })), 'TOKEN_INVALID', /jti/],
    ['req_wl missing', () => forge(es, headerFor(es), claims({ req_wl: undefined })), 'TOKEN_INVALID', /req_wl/],
    ['tctx an array', () => forge(es, headerFor(es), claims({ tctx: ['x'] })), 'TOKEN_INVALID', /tctx/],
    ['unknown kid', () => forge(es, headerFor(es, { kid: 'nope' }), claims()), 'TOKEN_INVALID', /kid is not a configured key/],
    ['missing kid', () => forge(es, headerFor(es, { kid: undefined }), claims()), 'TOKEN_INVALID', /kid is missing/],
    ['kid of the other key (alg mismatch)', () => forge(es, headerFor(es, { kid: ed.kid }), claims()), 'TOKEN_INVALID', /alg does not match/],
    ['EdDSA-signed token claiming the ES256 kid', () => forge(ed, headerFor(ed, { kid: es.kid, alg: 'ES256' }), claims()), 'TOKEN_INVALID', /signature/],
    ['alg none', () => `${b64({ alg: 'none', typ: 'txntoken+jwt', kid: es.kid })}.${b64(claims())}.`, 'TOKEN_INVALID', /three parts|base64url|alg/],
    ['alg none with a dummy signature', () => `${b64({ alg: 'none', typ: 'txntoken+jwt', kid: es.kid })}.${b64(claims())}.AAAA`, 'TOKEN_INVALID', /alg "none" is not allowed/],
    [
      'HS256 signed with the public key bytes',
      () => {
        const input = `${b64({ alg: 'HS256', typ: 'txntoken+jwt', kid: es.kid })}.${b64(claims())}`;
        const secret = es.publicKey.export({ format: 'pem', type: 'spki' });
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
      'TOKEN_INVALID',
      /alg "HS256" is not allowed/,
    ],
    [
      'RS256',
      () => {
        const input = `${b64({ alg: 'RS256', typ: 'txntoken+jwt', kid: es.kid })}.${b64(claims())}`;
        return `${input}.${cryptoSign('sha256', Buffer.from(input), rsa).toString('base64url')}`;
      },
      'TOKEN_INVALID',
      /alg "RS256" is not allowed/,
    ],
    ['jku header', () => forge(es, headerFor(es, { jku: 'https://evil.example/jwks' }), claims()), 'TOKEN_INVALID', /jku/],
    ['x5u header', () => forge(es, headerFor(es, { x5u: 'https://evil.example/c.pem' }), claims()), 'TOKEN_INVALID', /x5u/],
    ['jwk header', () => forge(es, headerFor(es, { jwk: es.jwk }), claims()), 'TOKEN_INVALID', /jwk/],
    ['x5c header', () => forge(es, headerFor(es, { x5c: ['MIIB'] }), claims()), 'TOKEN_INVALID', /x5c/],
    ['crit header', () => forge(es, headerFor(es, { crit: ['exp'] }), claims()), 'TOKEN_INVALID', /crit/],
    [
      'tampered payload',
      () => {
        const [h, , s] = forge(es, headerFor(es), claims()).split('.');
        return `${h}.${b64(claims({ scope: 'admin' }))}.${s}`;
      },
      'TOKEN_INVALID',
      /signature does not verify/,
    ],
    [
      'tampered signature',
      () => {
        const t = forge(es, headerFor(es), claims());
        const sig = Buffer.from(t.split('.')[2] ?? '', 'base64url');
        sig[10] = (sig[10] ?? 0) ^ 1;
        return `${t.slice(0, t.lastIndexOf('.'))}.${sig.toString('base64url')}`;
      },
      'TOKEN_INVALID',
      /signature does not verify/,
    ],
    ['DER-encoded ES256 signature', () => {
      const input = `${b64(headerFor(es))}.${b64(claims())}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), es.privateKey).toString('base64url')}`;
    }, 'TOKEN_INVALID', /signature/],
    ['truncated token', () => forge(es, headerFor(es), claims()).slice(0, -20), 'TOKEN_INVALID', /signature/],
    ['two parts', () => forge(es, headerFor(es), claims()).split('.').slice(0, 2).join('.'), 'TOKEN_INVALID', /three parts/],
    ['four parts', () => `${forge(es, headerFor(es), claims())}.AAAA`, 'TOKEN_INVALID', /three parts/],
    ['empty string', () => '', 'TOKEN_INVALID', /three parts/],
    ['100 KiB token', () => `${b64(headerFor(es))}.${'A'.repeat(100 * 1024)}.AAAA`, 'TOKEN_INVALID', /longer than 8192/],
    ['garbage base64', () => '!!!.@@@.###', 'TOKEN_INVALID', /base64url/],
    ['padded base64', () => `${b64(headerFor(es))}=.${b64(claims())}.AAAA`, 'TOKEN_INVALID', /base64url/],
    ['non-JSON header', () => `${b64('not json')}.${b64(claims())}.AAAA`, 'TOKEN_INVALID', /header is not a JSON object/],
    ['JSON array header', () => `${b64([1, 2])}.${b64(claims())}.AAAA`, 'TOKEN_INVALID', /header is not a JSON object/],
    ['non-JSON payload, valid signature', () => forge(es, headerFor(es), 'not json'), 'TOKEN_INVALID', /payload is not a JSON object/],
    ['token of another workload with the wrong aud', () => forge(es, headerFor(es), claims({ sub: OTHER, aud: 'other.org' })), 'TOKEN_INVALID', /aud/],
  ];

  it.each(rows)('%s', (_name, build, reason, detail) => {
    const token = build();
    const v = verifier.verifySync(token, NOW_MS);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.reason).toBe(reason);
    expect(v.detail).toMatch(detail);
    expect(v.sha256).toBe(createHash('sha256').update(token).digest('hex').slice(0, 16));
  });

  it('reports the txn of a signed but expired token, none of an unsigned one', () => {
    const expired = verifier.verifySync(forge(es, headerFor(es), claims({ iat: NOW - 400, exp: NOW - 100 })), NOW_MS);
    expect(expired).toMatchObject({ ok: false, reason: 'TOKEN_EXPIRED', txn: 'txn-1' });
    const forged = verifier.verifySync(`${b64(headerFor(es))}.${b64(claims())}.${'A'.repeat(86)}`, NOW_MS);
    expect(forged).toMatchObject({ ok: false, reason: 'TOKEN_INVALID', txn: null });
  });

  it('never throws on non-string input', () => {
    expect(verifier.verifySync(undefined as unknown as string, NOW_MS)).toMatchObject({ ok: false, reason: 'TOKEN_INVALID' });
  });
});

describe('verified-token memo', () => {
  it('re-checks the clock on a remembered token', async () => {
    const cached = createTokenVerifier({ keys: [es], issuer: ISSUER });
    const token = forge(es, headerFor(es), claims({ iat: NOW, exp: NOW + 60 }));
    expect(cached.verifySync(token, NOW_MS).ok).toBe(true);
    expect(cached.verifySync(token, NOW_MS + 1000).ok).toBe(true);
    expect(cached.verifySync(token, NOW_MS + 91_000)).toMatchObject({ ok: false, reason: 'TOKEN_EXPIRED' });
    expect(cached.verifySync(token, NOW_MS - 31_000)).toMatchObject({ ok: false, reason: 'TOKEN_INVALID', detail: 'iat is in the future' });
  });

  it('stays bounded and keeps verifying after evictions', () => {
    const small = createTokenVerifier({ keys: [es], issuer: ISSUER, cacheSize: 2 });
    const tokens = ['a', 'b', 'c'].map((txn) => forge(es, headerFor(es), claims({ txn })));
    for (const t of [...tokens, ...tokens]) expect(small.verifySync(t, NOW_MS).ok).toBe(true);
  });
});

describe('key rotation', () => {
  it('a token from the old key still verifies once the new key signs', async () => {
    const oldKey = await es256Key();
    const newKey = await ed25519Key();
    const before = await createTokenSigner({ key: oldKey, issuer: ISSUER }).issue({ sub: SUB, scope: 'f', ttlSeconds: 60 }, NOW_MS);
    // Rotation: the new key goes first (it signs), the old one stays (it verifies).
    const rotated = createTokenVerifier({ keys: [newKey, oldKey], issuer: ISSUER });
    const after = await createTokenSigner({ key: newKey, issuer: ISSUER }).issue({ sub: SUB, scope: 'f', ttlSeconds: 60 }, NOW_MS);
    expect(rotated.verifySync(before.token, NOW_MS).ok).toBe(true);
    expect(rotated.verifySync(after.token, NOW_MS).ok).toBe(true);
    // Once the old key is dropped its tokens stop verifying.
    const dropped = createTokenVerifier({ keys: [newKey], issuer: ISSUER });
    expect(dropped.verifySync(before.token, NOW_MS)).toMatchObject({ ok: false, detail: 'kid is not a configured key' });
  });

  it('refuses duplicate kids at setup', async () => {
    expect(() => createTokenVerifier({ keys: [es, es], issuer: ISSUER })).toThrow(/duplicate/);
  });
});

describe('hostile input, generated', () => {
  it('arbitrary strings never verify and never throw', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const v = verifier.verifySync(s, NOW_MS);
        return !v.ok && v.reason === 'TOKEN_INVALID' && /^[0-9a-f]{16}$/.test(v.sha256);
      }),
      { numRuns: 300 },
    );
  });

  it('changing any one character of a valid token makes it fail', async () => {
    const fc = (await import('fast-check')).default;
    const token = forge(es, headerFor(es), claims());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.nat({ max: alphabet.length - 1 }), (i, j) => {
        const c = alphabet[j] as string;
        if (token[i] === c) return true;
        const mutated = token.slice(0, i) + c + token.slice(i + 1);
        // The last base64url char of a part may carry unused bits: a change there can decode to
        // the same bytes, which is the same token as far as the signature is concerned.
        const v = verifier.verifySync(mutated, NOW_MS);
        if (!v.ok) return true;
        return Buffer.from(mutated.split('.')[2] ?? '', 'base64url').equals(Buffer.from(token.split('.')[2] ?? '', 'base64url'))
          && mutated.split('.').slice(0, 2).join('.') === token.split('.').slice(0, 2).join('.');
      }),
      { numRuns: 400 },
    );
  });
});
