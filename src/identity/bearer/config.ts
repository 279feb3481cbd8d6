/**
 * The `identity:` block of the config file (SPEC section 3): validated once, every problem
 * reported as one line, the result frozen. Relative paths are resolved against the config
 * file's directory; unknown keys are errors.
 */
import { isAbsolute, resolve } from 'node:path';
import { isValidTrustDomain } from '../spiffe.js';
import { parseDurationMs } from '../../duration.js';
import { compileSubjectTemplate, type SubjectTemplate } from './template.js';

export type KeySetLocation =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string };

export interface JwtSvidIssuerConfig {
  readonly trustDomain: string;
  readonly bundle: KeySetLocation;
  readonly audience: string;
  /** How long the last good key set keeps serving while reloads fail. */
  readonly maxStalenessMs: number;
}

export interface OidcIssuerConfig {
  readonly issuer: string;
  readonly jwks: KeySetLocation;
  readonly audience: string;
  /** Required claim values: the claim must be a string equal to one of them. */
  readonly claims: Readonly<Record<string, readonly string[]>>;
  readonly subject: SubjectTemplate;
  readonly maxStalenessMs: number;
}

export interface IdentityConfig {
  readonly jwtSvid: readonly JwtSvidIssuerConfig[];
  readonly oidc: readonly OidcIssuerConfig[];
}

const DEFAULT_MAX_STALENESS_MS = 3_600_000;
const MIN_MAX_STALENESS_MS = 60_000;
const MAX_MAX_STALENESS_MS = 7 * 24 * 3_600_000;

const TOP_KEYS = new Set(['jwtSvid', 'oidc']);
const JWT_SVID_KEYS = new Set(['trustDomain', 'bundle', 'audience', 'maxStaleness']);
const OIDC_KEYS = new Set(['issuer', 'jwks', 'audience', 'claims', 'subject', 'maxStaleness']);

const EMPTY_IDENTITY_CONFIG: IdentityConfig = Object.freeze({
  jwtSvid: Object.freeze([]),
  oidc: Object.freeze([]),
});

/**
 * Validates the raw `identity:` value (undefined or null means none configured).
 * `value` is null exactly when `errors` is not empty.
 */
export function parseIdentityConfig(
  raw: unknown,
  baseDir: string,
): { value: IdentityConfig | null; errors: string[] } {
  const errors: string[] = [];
  if (raw === undefined || raw === null) return { value: EMPTY_IDENTITY_CONFIG, errors };
  if (!isRecord(raw)) return { value: null, errors: ['identity: must be a mapping with jwtSvid and/or oidc'] };
  unknownKeys(raw, TOP_KEYS, 'identity', errors);

  const jwtSvid: JwtSvidIssuerConfig[] = [];
  const seenDomains = new Set<string>();
  for (const [i, entry] of listOf(raw['jwtSvid'], 'identity.jwtSvid', errors)) {
    const at = `identity.jwtSvid[${i}]`;
    if (!isRecord(entry)) {
      errors.push(`${at}: must be a mapping with trustDomain, bundle and audience`);
      continue;
    }
    unknownKeys(entry, JWT_SVID_KEYS, at, errors);
    const trustDomain = requiredString(entry, 'trustDomain', at, errors);
    if (trustDomain !== null) {
      if (!isValidTrustDomain(trustDomain)) {
        errors.push(`${at}.trustDomain: "${trustDomain}" is not a trust domain name ([a-z0-9._-], no scheme or port)`);
      } else if (seenDomains.has(trustDomain)) {
        errors.push(`${at}.trustDomain: "${trustDomain}" is configured twice`);
      }
      seenDomains.add(trustDomain);
    }
    const bundle = location(entry, 'bundle', at, baseDir, errors);
    const audience = requiredString(entry, 'audience', at, errors);
    const maxStalenessMs = staleness(entry, at, errors);
    if (trustDomain !== null && bundle !== null && audience !== null && maxStalenessMs !== null) {
      jwtSvid.push(Object.freeze({ trustDomain, bundle, audience, maxStalenessMs }));
    }
  }

  const oidc: OidcIssuerConfig[] = [];
  const seenIssuers = new Set<string>();
  for (const [i, entry] of listOf(raw['oidc'], 'identity.oidc', errors)) {
    const at = `identity.oidc[${i}]`;
    if (!isRecord(entry)) {
      errors.push(`${at}: must be a mapping with issuer, jwks, audience and subject`);
      continue;
    }
    unknownKeys(entry, OIDC_KEYS, at, errors);
    const issuer = requiredString(entry, 'issuer', at, errors);
    if (issuer !== null) {
      if (seenIssuers.has(issuer)) errors.push(`${at}.issuer: "${issuer}" is configured twice`);
      seenIssuers.add(issuer);
    }
    const jwks = location(entry, 'jwks', at, baseDir, errors);
    const audience = requiredString(entry, 'audience', at, errors);
    const claims = requiredClaims(entry['claims'], `${at}.claims`, errors);
    const subjectText = requiredString(entry, 'subject', at, errors);
    let subject: SubjectTemplate | null = null;
    if (subjectText !== null) {
      const compiled = compileSubjectTemplate(subjectText);
      if (typeof compiled === 'string') errors.push(`${at}.subject: ${compiled}`);
      else subject = compiled;
    }
    const maxStalenessMs = staleness(entry, at, errors);
    if (issuer !== null && jwks !== null && audience !== null && claims !== null && subject !== null && maxStalenessMs !== null) {
      oidc.push(Object.freeze({ issuer, jwks, audience, claims, subject, maxStalenessMs }));
    }
  }

  if (errors.length > 0) return { value: null, errors };
  return { value: Object.freeze({ jwtSvid: Object.freeze(jwtSvid), oidc: Object.freeze(oidc) }), errors };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(obj: Record<string, unknown>, known: ReadonlySet<string>, at: string, errors: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) errors.push(`${at}.${k}: unknown key (expected one of ${[...known].join(', ')})`);
  }
}

function listOf(v: unknown, at: string, errors: string[]): Array<[number, unknown]> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push(`${at}: must be a list`);
    return [];
  }
  return v.map((e, i) => [i, e]);
}

function requiredString(obj: Record<string, unknown>, key: string, at: string, errors: string[]): string | null {
  const v = obj[key];
  if (v === undefined || v === null) {
    errors.push(`${at}.${key}: required`);
    return null;
  }
  if (typeof v !== 'string' || v.length === 0) {
    errors.push(`${at}.${key}: must be a non-empty string`);
    return null;
  }
  return v;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function location(
  obj: Record<string, unknown>,
  key: string,
  at: string,
  baseDir: string,
  errors: string[],
): KeySetLocation | null {
  const v = requiredString(obj, key, at, errors);
  if (v === null) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      errors.push(`${at}.${key}: "${v}" is not a valid URL`);
      return null;
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      return Object.freeze({ kind: 'url', url: url.href });
    }
    errors.push(`${at}.${key}: "${v}" must be an https URL (plain http only on loopback) or a file path`);
    return null;
  }
  return Object.freeze({ kind: 'file', path: isAbsolute(v) ? v : resolve(baseDir, v) });
}

function requiredClaims(v: unknown, at: string, errors: string[]): Readonly<Record<string, readonly string[]>> | null {
  const out: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  if (v === undefined || v === null) return Object.freeze(out);
  if (!isRecord(v)) {
    errors.push(`${at}: must be a mapping of claim name to a value or a list of values`);
    return null;
  }
  let ok = true;
  for (const [name, want] of Object.entries(v)) {
    if (typeof want === 'string') {
      out[name] = Object.freeze([want]);
    } else if (Array.isArray(want) && want.length > 0 && want.every((w) => typeof w === 'string')) {
      out[name] = Object.freeze([...(want as string[])]);
    } else {
      errors.push(`${at}.${name}: must be a string or a non-empty list of strings`);
      ok = false;
    }
  }
  return ok ? Object.freeze(out) : null;
}

function staleness(obj: Record<string, unknown>, at: string, errors: string[]): number | null {
  const v = obj['maxStaleness'];
  if (v === undefined || v === null) return DEFAULT_MAX_STALENESS_MS;
  const ms = typeof v === 'string' ? parseDurationMs(v) : null;
  if (ms === null || ms < MIN_MAX_STALENESS_MS || ms > MAX_MAX_STALENESS_MS) {
    errors.push(`${at}.maxStaleness: must be a duration such as 30m or 1h, between 1m and 168h`);
    return null;
  }
  return ms;
}
