/**
 * encodeCheckResponse against the reference: proto-loader's encoding of toCheckResponse(d),
 * byte for byte, and the same object once decoded by proto-loader (what Envoy reads).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REASON_CODES, type DenyReason, type ReasonCode } from '../../src/errors.js';
import type { Decision } from '../../src/decision/types.js';
import {
  encodeCheckResponse,
  encodesFromPieces,
  referenceEncodeCheckResponse,
  serializeCheckResponse,
} from '../../src/envoy/check-response-codec.js';
import { loadExtAuthzDefinition } from '../../src/envoy/protos.js';
import { toCheckResponse } from '../../src/envoy/response.js';

const check = (loadExtAuthzDefinition()['envoy.service.auth.v3.Authorization'] as Record<string, any>)['Check'];

const BASE: Decision = {
  decisionId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  decision: 'allow',
  reason: 'ALLOWED',
  dryRun: false,
  wouldDeny: null,
  source: 'spiffe://prod.example.org/ns/team-1/sa/svc-1',
  identityVia: 'principal',
  issuer: null,
  target: 'api-23.internal:8443',
  method: 'POST',
  path: '/v1/payments/89582/refund',
  function: 'payout-schedule',
  functionVia: 'header',
  mandate: 'svc-1',
  owner: 'team-1',
  purpose: 'Generated',
  risk: 'medium',
  actionIndex: 0,
  txn: null,
  tokenSha256: null,
  policyRevision: 'r1',
  detail: null,
};

const DENY_REASONS = REASON_CODES.filter((r): r is DenyReason => r !== 'ALLOWED');
const LONG = 'm'.repeat(300); // lengths past one varint byte at every level
const HUGE = 'x'.repeat(70_000); // past two varint bytes

function expectSameAsReference(d: Decision, fromPieces = true): void {
  const bytes = encodeCheckResponse(d);
  const reference = referenceEncodeCheckResponse(d);
  expect(bytes.toString('hex')).toBe(reference.toString('hex'));
  expect(check.responseDeserialize(bytes)).toStrictEqual(check.responseDeserialize(reference));
  expect(encodesFromPieces(d)).toBe(fromPieces);
}

const ROWS: [string, Decision][] = [
  ['allow', BASE],
  ['allow without mandate or function', { ...BASE, mandate: null, function: null }],
  ['allow without a function', { ...BASE, function: null }],
  ['allow with long values', { ...BASE, mandate: LONG, function: LONG, decisionId: LONG }],
  ['allow with a 70,000-byte function', { ...BASE, function: HUGE }],
  ['allow with multi-byte characters', { ...BASE, mandate: 'mändåte-☃', function: 'fünction-😀' }],
  ['allow with an empty decision id', { ...BASE, decisionId: '' }],
  ['allow, dry run without a would-deny', { ...BASE, dryRun: true }],
  ...DENY_REASONS.map((r): [string, Decision] => [`dry run that would deny ${r}`, { ...BASE, dryRun: true, reason: r, wouldDeny: r }]),
  ['dry run with null mandate and function', { ...BASE, dryRun: true, reason: 'NO_MANDATE', wouldDeny: 'NO_MANDATE', mandate: null, function: null }],
  ['a would-deny without dry run (header only)', { ...BASE, wouldDeny: 'ACTION_NOT_PERMITTED' }],
  ...REASON_CODES.map((r): [string, Decision] => [`deny ${r}`, { ...BASE, decision: 'deny', reason: r, actionIndex: -1 }]),
  ['deny without mandate or function', { ...BASE, decision: 'deny', reason: 'NO_IDENTITY', mandate: null, function: null }],
  ['deny with long values', { ...BASE, decision: 'deny', reason: 'FUNCTION_NOT_DECLARED', mandate: LONG, function: LONG, decisionId: LONG }],
  ['deny with a 70,000-byte decision id', { ...BASE, decision: 'deny', reason: 'INVALID_PATH', decisionId: HUGE }],
];

describe('an allow removes every mandate header it does not set', () => {
  // A caller's forged x-mandate-name must not reach the upstream on a dry-run allow that
  // has no mandate (SPEC 5 leaves unknown headers out; docs/security.md: no smuggling).
  const OWN = ['x-mandate-name', 'x-mandate-function', 'x-mandate-dry-run', 'x-mandate-reason'];
  it.each([
    ['a plain allow', BASE, ['x-mandate-dry-run', 'x-mandate-reason']],
    ['a dry-run allow without identity (global dry run)', { ...BASE, dryRun: true, reason: 'NO_IDENTITY', wouldDeny: 'NO_IDENTITY', mandate: null, function: null }, ['x-mandate-name', 'x-mandate-function', 'x-mandate-reason']],
    ['a dry-run allow without a function', { ...BASE, dryRun: true, reason: 'TOKEN_INVALID', wouldDeny: 'TOKEN_INVALID', function: null }, ['x-mandate-function', 'x-mandate-reason']],
    ['an allow without mandate or function', { ...BASE, mandate: null, function: null }, ['x-mandate-name', 'x-mandate-function', 'x-mandate-dry-run', 'x-mandate-reason']],
  ] as [string, Decision, string[]][])('%s', (_n, d, removed) => {
    const r = toCheckResponse(d) as { ok_response: { headers: { header: { key: string } }[]; headers_to_remove: string[] } };
    expect(r.ok_response.headers_to_remove).toEqual(removed);
    // Every own header is either set by mandate or removed.
    const set = r.ok_response.headers.map((h) => h.header.key);
    expect([...set.filter((k) => OWN.includes(k)), ...removed].sort()).toEqual([...OWN].sort());
    expectSameAsReference(d);
  });
});

describe('encodeCheckResponse equals proto-loader encoding toCheckResponse', () => {
  it.each(ROWS)('%s', (_name, d) => {
    expectSameAsReference(d);
  });

  it.each([
    ['a lone high surrogate in the function', { ...BASE, function: 'f\uD800' }],
    ['a lone low surrogate in a long mandate', { ...BASE, mandate: '\uDC00'.repeat(50) }],
    ['a lone surrogate in a denial id', { ...BASE, decision: 'deny', reason: 'NO_MANDATE', decisionId: 'id\uDBFF' }],
  ] as [string, Decision][])('takes the reference path for %s (protobufjs writes it its own way)', (_name, d) => {
    expectSameAsReference(d, false);
  });

  it('throws where toCheckResponse throws (a reason outside the catalogue)', () => {
    const d = { ...BASE, decision: 'deny', reason: 'NOT_A_REASON' as ReasonCode } as Decision;
    expect(() => toCheckResponse(d)).toThrow(TypeError);
    expect(() => encodeCheckResponse(d)).toThrow(TypeError);
  });

  it('generated decisions', () => {
    const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 50 }));
    const decision = fc.record({
      decision: fc.constantFrom('allow' as const, 'deny' as const),
      reason: fc.constantFrom(...REASON_CODES),
      dryRun: fc.boolean(),
      wouldDeny: fc.option(fc.constantFrom(...DENY_REASONS)),
      mandate: fc.option(text),
      function: fc.option(text),
      decisionId: fc.oneof(fc.uuid(), text),
    });
    fc.assert(
      fc.property(decision, (parts) => {
        const d: Decision = { ...BASE, ...parts };
        expect(encodeCheckResponse(d).equals(referenceEncodeCheckResponse(d))).toBe(true);
      }),
      { numRuns: 1000, seed: Number(process.env['FC_SEED'] ?? 5) },
    );
  });
});

describe('serializeCheckResponse (registered as the Check responseSerialize)', () => {
  it('passes pre-encoded bytes through untouched', () => {
    const bytes = encodeCheckResponse(BASE);
    expect(serializeCheckResponse(bytes)).toBe(bytes);
  });

  it.each([
    ['an allow', BASE],
    ['a deny', { ...BASE, decision: 'deny', reason: 'TOKEN_REVOKED' } as Decision],
  ])('still encodes a response object with proto-loader: %s', (_name, d) => {
    expect(serializeCheckResponse(toCheckResponse(d)).equals(referenceEncodeCheckResponse(d))).toBe(true);
  });
});
