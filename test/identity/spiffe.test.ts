import { describe, expect, it } from 'vitest';
import { isValidTrustDomain, parseSpiffeId, spiffeIdError } from '../../src/identity/spiffe.js';

const TD = 'spiffe://prod.example.org';
// Exactly 2048 bytes: scheme + trust domain + '/' + padding.
const AT_LIMIT = `${TD}/${'a'.repeat(2048 - TD.length - 1)}`;
const OVER_LIMIT = `${AT_LIMIT}b`;

describe('parseSpiffeId accepts', () => {
  it.each([
    ['simple', 'spiffe://example.org/workload', 'example.org', '/workload'],
    ['istio style', 'spiffe://cluster.local/ns/default/sa/api', 'cluster.local', '/ns/default/sa/api'],
    ['all trust-domain chars', 'spiffe://a-b_c.0-9/x', 'a-b_c.0-9', '/x'],
    ['all segment chars', 'spiffe://td/AZaz09._-', 'td', '/AZaz09._-'],
    ['upper case in path', 'spiffe://td/Service/API', 'td', '/Service/API'],
    ['segment of three dots', 'spiffe://td/...', 'td', '/...'],
    ['segment starting with dot', 'spiffe://td/.hidden', 'td', '/.hidden'],
    ['segment ..a', 'spiffe://td/..a', 'td', '/..a'],
    ['exactly 2048 bytes', AT_LIMIT, 'prod.example.org', AT_LIMIT.slice(TD.length)],
    ['255-byte trust domain', `spiffe://${'t'.repeat(255)}/x`, 't'.repeat(255), '/x'],
  ])('%s', (_name, input, trustDomain, path) => {
    expect(spiffeIdError(input)).toBeNull();
    expect(parseSpiffeId(input)).toEqual({ id: input, trustDomain, path });
  });
});

describe('parseSpiffeId rejects', () => {
  it.each([
    ['empty', ''],
    ['scheme only', 'spiffe://'],
    ['trust domain only', 'spiffe://example.org'],
    ['trust domain with trailing slash', 'spiffe://example.org/'],
    ['upper-case scheme', 'SPIFFE://example.org/a'],
    ['mixed-case scheme', 'Spiffe://example.org/a'],
    ['single slash scheme', 'spiffe:/example.org/a'],
    ['no slashes', 'spiffe:example.org/a'],
    ['three slashes', 'spiffe:///a'],
    ['other scheme', 'https://example.org/a'],
    ['leading space', ' spiffe://example.org/a'],
    ['trailing space', 'spiffe://example.org/a '],
    ['trailing newline', 'spiffe://example.org/a\n'],
    ['space in path', 'spiffe://example.org/a b'],
    ['tab in path', 'spiffe://example.org/a\tb'],
    ['NUL in path', 'spiffe://example.org/a\u0000b'],
    ['NUL in trust domain', 'spiffe://exam\u0000ple.org/a'],
    ['upper-case trust domain', 'spiffe://Example.org/a'],
    ['port', 'spiffe://example.org:8443/a'],
    ['userinfo', 'spiffe://user@example.org/a'],
    ['userinfo with password', 'spiffe://user:pw@example.org/a'],
    ['percent in trust domain', 'spiffe://ex%61mple.org/a'],
    ['percent-encoded char in path', 'spiffe://example.org/%61'],
    ['percent-encoded slash', 'spiffe://example.org/a%2Fb'],
    ['percent-encoded dot segment', 'spiffe://example.org/%2E%2E/a'],
    ['query', 'spiffe://example.org/a?x=1'],
    ['empty query', 'spiffe://example.org/a?'],
    ['fragment', 'spiffe://example.org/a#frag'],
    ['query in trust domain', 'spiffe://example.org?x/a'],
    ['trailing slash', 'spiffe://example.org/a/'],
    ['empty segment', 'spiffe://example.org/a//b'],
    ['leading empty segment', 'spiffe://example.org//a'],
    ['dot segment', 'spiffe://example.org/a/./b'],
    ['dot-dot segment', 'spiffe://example.org/a/../b'],
    ['final dot segment', 'spiffe://example.org/a/.'],
    ['final dot-dot segment', 'spiffe://example.org/a/..'],
    ['only dot-dot', 'spiffe://example.org/..'],
    ['backslash in path', 'spiffe://example.org/a\\b'],
    ['backslash as separator', 'spiffe:\\\\example.org\\a'],
    ['unicode in path', 'spiffe://example.org/caf\u00e9'],
    ['unicode in trust domain', 'spiffe://ex\u00e4mple.org/a'],
    ['fullwidth solidus', 'spiffe://example.org/a\uff0fb'],
    ['emoji', 'spiffe://example.org/\u{1f600}'],
    ['over 2048 bytes', OVER_LIMIT],
    ['2048 chars but over in bytes', `${AT_LIMIT.slice(0, -1)}\u00e9`],
    ['256-byte trust domain', `spiffe://${'t'.repeat(256)}/x`],
    ['plus in path', 'spiffe://example.org/a+b'],
    ['colon in path', 'spiffe://example.org/a:b'],
    ['at sign in path', 'spiffe://example.org/a@b'],
    ['tilde in path', 'spiffe://example.org/~a'],
    ['semicolon in path', 'spiffe://example.org/a;b'],
    ['IPv6 literal', 'spiffe://[::1]/a'],
    ['underscore-free but bracket', 'spiffe://example.org/a[0]'],
  ])('%s', (_name, input) => {
    expect(parseSpiffeId(input)).toBeNull();
    expect(typeof spiffeIdError(input)).toBe('string');
  });

  it('checks length before anything else', () => {
    // An over-long value with a bad scheme reports the length, not the scheme.
    expect(spiffeIdError(`HTTP://${'a'.repeat(3000)}`)).toBe('longer than 2048 bytes');
  });

  it('never throws on non-string input', () => {
    expect(parseSpiffeId(undefined as unknown as string)).toBeNull();
    expect(spiffeIdError(42 as unknown as string)).toBe('not a string');
  });
});

describe('isValidTrustDomain', () => {
  it.each([
    ['plain', 'prod.example.org', true],
    ['upper case', 'Prod.example.org', false],
    ['port', 'example.org:1', false],
    ['empty', '', false],
    ['slash', 'a/b', false],
  ])('%s', (_name, td, ok) => {
    expect(isValidTrustDomain(td)).toBe(ok);
  });
});
