import { describe, expect, it } from 'vitest';
import { normalizeHost } from '../../src/policy/hosts.js';

describe('normalizeHost', () => {
  it.each([
    ['plain', 'ledger.internal', 'ledger.internal', null],
    ['upper case folded', 'Ledger.INTERNAL', 'ledger.internal', null],
    ['one trailing dot removed', 'ledger.internal.', 'ledger.internal', null],
    ['trailing dot before port', 'ledger.internal.:8443', 'ledger.internal', 8443],
    ['port', 'ledger.internal:8443', 'ledger.internal', 8443],
    ['port 1', 'a:1', 'a', 1],
    ['port 65535', 'a:65535', 'a', 65535],
    ['leading zeros in port', 'a:00080', 'a', 80],
    ['single label', 'localhost', 'localhost', null],
    ['IPv4', '10.0.0.1:80', '10.0.0.1', 80],
    ['underscore and dash', 'my_svc-1.ns', 'my_svc-1.ns', null],
    ['IPv6', '[::1]', '[::1]', null],
    ['IPv6 with port', '[::1]:8080', '[::1]', 8080],
    ['IPv6 upper case', '[FE80::AB]:443', '[fe80::ab]', 443],
    ['IPv4-mapped IPv6', '[::ffff:10.0.0.1]', '[::ffff:10.0.0.1]', null],
  ])('%s: %s', (_name, raw, host, port) => {
    expect(normalizeHost(raw)).toEqual({ host, port });
  });

  it.each([
    ['empty', ''],
    ['only a dot', '.'],
    ['two trailing dots', 'ledger.internal..'],
    ['double dot inside', 'a..b'],
    ['leading dot', '.a'],
    ['empty port', 'a:'],
    ['port 0', 'a:0'],
    ['port too large', 'a:65536'],
    ['port too long', 'a:123456'],
    ['signed port', 'a:+80'],
    ['non-numeric port', 'a:http'],
    ['two colons', 'a:1:2'],
    ['bare IPv6', '::1'],
    ['unclosed IPv6', '[::1'],
    ['IPv6 garbage after bracket', '[::1]x'],
    ['IPv6 empty port', '[::1]:'],
    ['IPv6 non-hex', '[::g]'],
    ['IPv6 without colon', '[1234]'],
    ['space', 'a b'],
    ['leading space', ' a'],
    ['userinfo', 'user@host'],
    ['path', 'host/path'],
    ['scheme', 'http://host'],
    ['wildcard', '*.example.org'],
    ['Kelvin sign folds to k in toLowerCase', 'ban\u212a.example'],
    ['non-ASCII', 'b\u00fccher.example'],
    ['label too long', `${'a'.repeat(64)}.example`],
    ['control character', 'a\u0000b'],
  ])('rejects %s', (_name, raw) => {
    expect(normalizeHost(raw)).toBeNull();
  });

  it('accepts a 63-character label', () => {
    expect(normalizeHost(`${'a'.repeat(63)}.example`)?.host).toBe(`${'a'.repeat(63)}.example`);
  });
});
