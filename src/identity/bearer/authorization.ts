/**
 * The authorization header as SPEC section 4 item 4 reads it: `Bearer` in any case, one or
 * more spaces, one compact JWT, nothing else. Anything else is no identity (the header may
 * well carry credentials meant for the upstream application).
 */
import { decodeJsonSegment } from '../jws.js';

/** Tokens longer than this are refused before any parsing. */
const MAX_BEARER_TOKEN_CHARS = 16 * 1024;

export type BearerToken =
  | { readonly kind: 'none' }
  | { readonly kind: 'oversized' }
  | {
      readonly kind: 'token';
      readonly token: string;
      /** Decoded protected header and payload; not yet verified. */
      readonly header: Readonly<Record<string, unknown>>;
      readonly payload: Readonly<Record<string, unknown>>;
    };

const NONE: BearerToken = Object.freeze({ kind: 'none' });
const OVERSIZED: BearerToken = Object.freeze({ kind: 'oversized' });

// Header and payload segments must be non-empty; the signature may be empty so that an
// `alg: none` token is read, and then rejected as a token, not ignored as "no identity".
const BEARER = /^bearer +([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i;
const BEARER_PREFIX = /^bearer +/i;

export function readBearer(authorization: string): BearerToken {
  if (authorization.length > MAX_BEARER_TOKEN_CHARS + 64) {
    return BEARER_PREFIX.test(authorization.slice(0, 64)) ? OVERSIZED : NONE;
  }
  const m = BEARER.exec(authorization);
  if (m === null) return NONE;
  const [, h, p, s] = m as unknown as [string, string, string, string];
  if (h.length + p.length + s.length + 2 > MAX_BEARER_TOKEN_CHARS) return OVERSIZED;
  const header = decodeJsonSegment(h);
  const payload = decodeJsonSegment(p);
  if (header === null || payload === null) return NONE;
  return { kind: 'token', token: `${h}.${p}.${s}`, header, payload };
}
