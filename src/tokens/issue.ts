/**
 * Minting task tokens (SPEC section 8) with jose. Used by the TaskTokens service and by
 * `mandate token issue`; both validate their input first, so a rejection here is a bug.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from './keys.js';
import { FUNCTION_NAME, MAX_TASK_CONTEXT_BYTES, MAX_TOKEN_TTL_SECONDS, TASK_ID, TOKEN_TYPE } from './limits.js';
import { spiffeTrustDomain } from '../identity/spiffe.js';
import type { IssuedToken, IssueInput, TaskTokenClaims, TokenSigner } from './types.js';

export interface SignerOptions {
  readonly key: SigningKey;
  readonly issuer: string;
}

export function createTokenSigner(opts: SignerOptions): TokenSigner {
  const { key, issuer } = opts;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('token issuer must be a non-empty string');
  const header = Object.freeze({ alg: key.alg, typ: TOKEN_TYPE, kid: key.kid });

  async function issue(input: IssueInput, nowMs: number): Promise<IssuedToken> {
    const aud = spiffeTrustDomain(input.sub);
    if (aud === null) throw new TypeError('sub must be a valid SPIFFE ID');
    if (typeof input.scope !== 'string' || !FUNCTION_NAME.test(input.scope)) throw new TypeError('scope must be a function name');
    const ttl = input.ttlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      throw new TypeError(`ttlSeconds must be an integer in 1..${MAX_TOKEN_TTL_SECONDS}`);
    }
    const txn = input.txn ?? randomUUID();
    if (!TASK_ID.test(txn)) throw new TypeError('txn must be 1-128 printable ASCII characters');
    const reqWl = input.reqWl ?? input.sub;
    if (spiffeTrustDomain(reqWl) === null) throw new TypeError('reqWl must be a valid SPIFFE ID');
    const tctx = input.tctx ?? null;
    if (tctx !== null && !isTaskContext(tctx)) throw new TypeError(`tctx must be a JSON object of at most ${MAX_TASK_CONTEXT_BYTES} bytes`);

    const iat = Math.floor(nowMs / 1000);
    const claims: TaskTokenClaims = {
      iss: issuer,
      aud,
      sub: input.sub,
      scope: input.scope,
      txn,
      jti: randomBytes(16).toString('base64url'),
      iat,
      exp: iat + ttl,
      tctx,
      req_wl: reqWl,
    };
    const payload: Record<string, unknown> = {
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      txn: claims.txn,
      scope: claims.scope,
      req_wl: claims.req_wl,
    };
    if (tctx !== null) payload['tctx'] = tctx;
    const token = await new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
    return { token, claims };
  }

  return Object.freeze({ kid: key.kid, alg: key.alg, issuer, issue });
}

/** A plain JSON object whose serialization fits MAX_TASK_CONTEXT_BYTES. */
export function isTaskContext(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return false;
  }
  return Buffer.byteLength(json, 'utf8') <= MAX_TASK_CONTEXT_BYTES;
}
