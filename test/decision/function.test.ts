import { describe, expect, it } from 'vitest';
import { resolveFunction } from '../../src/decision/function.js';

// Every combination of the three sources (SPEC section 6), plus the header tricks.
const rows: [string, string | null, string | null, string | null, string | null, string | null, string | null][] = [
  // name, header, route, scope, reason, function, via
  ['nothing', null, null, null, 'MISSING_FUNCTION', null, null],
  ['empty header only', '', null, null, 'MISSING_FUNCTION', null, null],
  ['empty route only', null, '', null, 'MISSING_FUNCTION', null, null],
  ['header only', 'refunds', null, null, null, 'refunds', 'header'],
  ['route only', null, 'refunds', null, null, 'refunds', 'route'],
  ['token only', null, null, 'refunds', null, 'refunds', 'token'],
  ['header = route', 'refunds', 'refunds', null, null, 'refunds', 'header+route'],
  ['header != route', 'refunds', 'payouts', null, 'FUNCTION_CONFLICT', null, 'header+route'],
  ['header = token', 'refunds', null, 'refunds', null, 'refunds', 'header+token'],
  ['header != token', 'refunds', null, 'payouts', 'TOKEN_FUNCTION_MISMATCH', 'refunds', 'header+token'],
  ['route = token', null, 'refunds', 'refunds', null, 'refunds', 'token+route'],
  ['route != token', null, 'refunds', 'payouts', 'TOKEN_FUNCTION_MISMATCH', 'refunds', 'token+route'],
  ['all three agree', 'refunds', 'refunds', 'refunds', null, 'refunds', 'header+token+route'],
  ['header = route, token differs', 'refunds', 'refunds', 'payouts', 'TOKEN_FUNCTION_MISMATCH', 'refunds', 'header+token+route'],
  ['header != route, token = header', 'refunds', 'payouts', 'refunds', 'FUNCTION_CONFLICT', null, 'header+token+route'],
  ['comma-joined different', 'a,b', null, null, 'FUNCTION_CONFLICT', null, 'header'],
  ['comma-joined repeated', 'a,a', null, null, 'FUNCTION_CONFLICT', null, 'header'],
  ['trailing comma', 'a,', null, null, 'FUNCTION_CONFLICT', null, 'header'],
  ['lone comma', ',', null, null, 'FUNCTION_CONFLICT', null, 'header'],
  ['comma with matching route', 'a,a', 'a', null, 'FUNCTION_CONFLICT', null, 'header+route'],
  ['case differs from route', 'Refunds', 'refunds', null, 'FUNCTION_CONFLICT', null, 'header+route'],
  ['unicode look-alike vs route', 'refundѕ', 'refunds', null, 'FUNCTION_CONFLICT', null, 'header+route'],
  ['whitespace is not trimmed', ' refunds', 'refunds', null, 'FUNCTION_CONFLICT', null, 'header+route'],
  ['empty header, route set', '', 'refunds', null, null, 'refunds', 'route'],
];

describe('resolveFunction', () => {
  it.each(rows)('%s', (_name, header, route, scope, reason, fn, via) => {
    const r = resolveFunction(header, route, scope);
    expect(r.reason).toBe(reason);
    expect(r.name).toBe(fn);
    expect(r.via).toBe(via);
  });
});
