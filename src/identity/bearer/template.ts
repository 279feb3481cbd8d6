/**
 * OIDC subject templates: `spiffe://ci.example.org/repo/{repository}/workflow/{workflow}`.
 * Compiled once at config time into literal pieces and claim names; rendering substitutes each
 * claim as it is (never rewritten), so a value holding `/` fills several segments and a value
 * holding `..`, `%2F` or a space makes the result an invalid SPIFFE ID, which is a rejection.
 */
import { isValidTrustDomain, parseSpiffeId, spiffeIdError, type SpiffeId } from '../spiffe.js';

export interface SubjectTemplate {
  readonly text: string;
  /** The literal trust domain the template names. */
  readonly trustDomain: string;
  /** literals.length === claims.length + 1; the result is l0 + c0 + l1 + c1 + … + ln. */
  readonly literals: readonly string[];
  readonly claims: readonly string[];
}

export type RenderResult =
  | { readonly ok: true; readonly spiffe: SpiffeId }
  | { readonly ok: false; readonly detail: string };

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SCHEME = 'spiffe://';

/** The compiled template, or a message saying what is wrong with it. */
export function compileSubjectTemplate(text: string): SubjectTemplate | string {
  if (!text.startsWith(SCHEME)) return 'must start with "spiffe://"';
  const slash = text.indexOf('/', SCHEME.length);
  const trustDomain = slash < 0 ? text.slice(SCHEME.length) : text.slice(SCHEME.length, slash);
  if (!isValidTrustDomain(trustDomain)) {
    return `the trust domain "${trustDomain}" must be a literal trust domain name (no {claim} in it)`;
  }
  if (slash < 0) return 'must have a path after the trust domain';
  const literals: string[] = [];
  const claims: string[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('{', from);
    const close = text.indexOf('}', from);
    if (open < 0) {
      if (close >= 0) return 'has a "}" without "{"';
      literals.push(text.slice(from));
      break;
    }
    if (close >= 0 && close < open) return 'has a "}" without "{"';
    if (close < 0) return 'has a "{" without "}"';
    const name = text.slice(open + 1, close);
    if (!CLAIM_NAME.test(name)) return `"{${name}}" is not a claim name`;
    literals.push(text.slice(from, open));
    claims.push(name);
    from = close + 1;
  }
  if (claims.length === 0) return 'names no {claim}: every token would map to the same SPIFFE ID';
  const template: SubjectTemplate = Object.freeze({
    text,
    trustDomain,
    literals: Object.freeze(literals),
    claims: Object.freeze(claims),
  });
  // With plain values the result must already be a valid ID, or no token could ever pass.
  const sample: Record<string, unknown> = {};
  for (const c of claims) sample[c] = 'x';
  const r = renderSubject(template, sample);
  if (!r.ok) return `does not make a valid SPIFFE ID even with plain values: ${r.detail}`;
  return template;
}

/** Substitutes the claims; the result must be a valid SPIFFE ID. */
export function renderSubject(t: SubjectTemplate, payload: Readonly<Record<string, unknown>>): RenderResult {
  let out = t.literals[0]!;
  for (let i = 0; i < t.claims.length; i++) {
    const name = t.claims[i]!;
    const v = Object.prototype.hasOwnProperty.call(payload, name) ? payload[name] : undefined;
    if (typeof v !== 'string') {
      return { ok: false, detail: `claim "${name}" for the subject template is ${v === undefined ? 'missing' : 'not a string'}` };
    }
    out += v + t.literals[i + 1]!;
  }
  const spiffe = parseSpiffeId(out);
  if (spiffe === null) {
    return { ok: false, detail: `subject template gives an invalid SPIFFE ID (${spiffeIdError(out)})` };
  }
  return { ok: true, spiffe };
}
