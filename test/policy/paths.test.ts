import { describe, expect, it } from 'vitest';
import { checkRequestPath, compilePathTemplate, matchPathTemplateIn, pathWithoutQuery } from '../../src/policy/paths.js';
import { pathSegments } from './fixtures.js';

describe('checkRequestPath', () => {
  it.each([
    ['root', '/', ['']],
    ['one segment', '/a', ['a']],
    ['two segments', '/a/b', ['a', 'b']],
    ['trailing slash kept as empty last segment', '/a/b/', ['a', 'b', '']],
    ['query cut', '/a/b?x=1', ['a', 'b']],
    ['query with slashes and dots not inspected', '/a?next=//../%2F;', ['a']],
    ['fragment cut', '/a#frag', ['a']],
    ['fragment before query', '/a#f?q', ['a']],
    ['fragment after the query is not inspected', '/a?q#/../ b', ['a']],
    ['a fragment with slashes is matched as the path before it', '/a/b#x/y', ['a', 'b']],
    ['root with query', '/?q', ['']],
    ['trailing slash then query', '/a/?q', ['a', '']],
    ['other percent-encodings pass', '/a%20b/%41', ['a%20b', '%41']],
    ['percent at end', '/a%', ['a%']],
    ['%2 then query', '/a%2?F', ['a%2']],
    ['dots inside a segment', '/a.b/..c/.d/e..', ['a.b', '..c', '.d', 'e..']],
    ['three dots is a name', '/.../x', ['...', 'x']],
    ['tilde and punctuation', '/~user/!$&\'()*+,=:@', ['~user', "!$&'()*+,=:@"]],
    ['braces are literal request text', '/{id}', ['{id}']],
  ])('%s: %s', (_name, raw, want) => {
    expect(pathSegments(raw)).toEqual(want);
  });

  it.each([
    ['empty', ''],
    ['relative', 'a/b'],
    ['only query', '?x'],
    ['only fragment', '#x'],
    // SPEC checks "the part before `?`": a fragment before the query is checked too.
    ['dot-dot segment in a fragment', '/files/x#frag/../..'],
    ['space in a fragment', '/files/a#b c'],
    ['empty segment in a fragment', '/a#x//y'],
    ['encoded slash in a fragment', '/a#%2F'],
    ['absolute URL', 'http://h/a'],
    ['asterisk form', '*'],
    ['double slash at start', '//a'],
    ['double slash inside', '/a//b'],
    ['double slash at end', '/a//'],
    ['dot segment', '/a/./b'],
    ['dot-dot segment', '/a/../b'],
    ['trailing dot', '/a/.'],
    ['trailing dot-dot', '/a/..'],
    ['dot-dot then slash', '/../'],
    ['backslash', '/a\\b'],
    ['semicolon', '/a;b=c/d'],
    ['semicolon at end', '/a;'],
    ['%2F', '/a%2Fb'],
    ['%2f', '/a%2fb'],
    ['%5C', '/a%5Cb'],
    ['%5c', '/a%5cb'],
    ['%2E', '/a/%2E%2E/b'],
    ['%2e', '/a/%2e'],
    ['%2e inside a name', '/a%2ejson'],
    ['space', '/a b'],
    ['tab', '/a\tb'],
    ['NUL', '/a\u0000'],
    ['newline', '/a\n'],
    ['DEL 0x7F', '/a\u007f'],
    ['non-ASCII Latin-1', '/caf\u00e9'],
    ['non-ASCII look-alike slash', '/a\u2215b'],
    ['fullwidth dot-dot', '/\uff0e\uff0e/x'],
    ['emoji', '/\u{1f600}'],
  ])('rejects %s', (_name, raw) => {
    expect(pathSegments(raw)).toBeNull();
  });

  it('accepts exactly the printable ASCII characters but backslash and ";" inside a segment', () => {
    // Every code unit up to U+02FF, and a few beyond, between two letters of one segment;
    // `/`, `?`, `#` and `%` keep their structural meaning and are left to the cases above.
    const structural = new Set(['/', '?', '#', '%']);
    const codes = [...Array.from({ length: 0x300 }, (_, c) => c), 0x2215, 0xfeff, 0xff0e, 0xd83d];
    for (const c of codes) {
      const ch = String.fromCharCode(c);
      if (structural.has(ch)) continue;
      const accepted = c >= 0x21 && c <= 0x7e && ch !== '\\' && ch !== ';';
      expect([c, checkRequestPath(`/a${ch}b`) === 4]).toEqual([c, accepted]);
    }
  });

  it('cuts query and fragment for the log', () => {
    expect(pathWithoutQuery('/a/b?c#d')).toBe('/a/b');
    expect(pathWithoutQuery('/a#d?c')).toBe('/a');
    expect(pathWithoutQuery('/a')).toBe('/a');
  });
});

describe('path templates', () => {
  it.each([
    ['literal', '/v1/payments', '/v1/payments', true],
    ['literal differs', '/v1/payments', '/v1/payment', false],
    ['literal is case-sensitive', '/v1/payments', '/V1/payments', false],
    ['literal does not match a longer path', '/v1/payments', '/v1/payments/1', false],
    ['literal does not match trailing slash', '/a', '/a/', false],
    ['trailing slash template matches trailing slash', '/a/', '/a/', true],
    ['trailing slash template does not match without', '/a/', '/a', false],
    ['root matches root', '/', '/', true],
    ['root does not match /a', '/', '/a', false],
    ['param matches one segment', '/v1/payments/{id}/refund', '/v1/payments/42/refund', true],
    ['param does not match two segments', '/v1/payments/{id}/refund', '/v1/payments/4/2/refund', false],
    ['param does not match empty (trailing slash)', '/a/{x}', '/a/', false],
    ['param does not match missing', '/a/{x}', '/a', false],
    ['param matches encoded text as is', '/a/{x}', '/a/%41', true],
    ['** matches zero segments', '/a/**', '/a', true],
    ['** matches trailing slash', '/a/**', '/a/', true],
    ['** matches one', '/a/**', '/a/b', true],
    ['** matches several', '/a/**', '/a/b/c/', true],
    ['** needs its prefix', '/a/**', '/b/c', false],
    ['** prefix is a whole segment', '/a/**', '/ab', false],
    ['/** matches root', '/**', '/', true],
    ['/** matches anything', '/**', '/x/y', true],
    ['param then **', '/t/{id}/**', '/t/1', true],
    ['param then ** needs the param', '/t/{id}/**', '/t/', false],
    ['query is ignored', '/a/{x}', '/a/b?c=d', true],
    ['literal star in request is not a wildcard match', '/a/b', '/a/*', false],
  ])('%s: %s vs %s', (_name, template, raw, want) => {
    const r = compilePathTemplate(template);
    expect(r.error).toBeNull();
    const end = checkRequestPath(raw);
    expect(end).toBeGreaterThan(0);
    expect(matchPathTemplateIn(r.template!, raw, end)).toBe(want);
  });

  it.each([
    ['empty', '', 'is empty'],
    ['relative', 'a/b', 'must start with "/"'],
    ['empty segment', '/a//b', 'empty segment'],
    ['dot segment', '/a/./b', '"." segment'],
    ['dot-dot segment', '/a/..', '".." segment'],
    ['** not last', '/a/**/b', '"**" before its last segment'],
    ['** then trailing slash', '/a/**/', '"**" before its last segment'],
    ['single star', '/a/*', '"*" is only allowed'],
    ['star inside a segment', '/a/b*', '"*" is only allowed'],
    ['triple star', '/a/***', '"*" is only allowed'],
    ['param part of a segment', '/a/x{id}', 'whole segment'],
    ['unclosed param', '/a/{id', 'whole segment'],
    ['empty param name', '/a/{}', 'whole segment'],
    ['param name starting with digit', '/a/{1x}', 'whole segment'],
    ['param name with dash', '/a/{a-b}', 'whole segment'],
    ['duplicate param', '/a/{x}/{x}', 'appears twice'],
    ['query', '/a?x=1', '"?" or "#"'],
    ['fragment', '/a#x', '"?" or "#"'],
    ['semicolon', '/a;v=1', '";"'],
    ['backslash', '/a\\b', 'backslash'],
    ['encoded slash', '/a%2Fb', 'percent-encoded'],
    ['encoded dot lower case', '/a/%2e', 'percent-encoded'],
    ['space', '/a b', 'outside 0x21-0x7E'],
    ['non-ASCII', '/caf\u00e9', 'outside 0x21-0x7E'],
  ])('rejects %s', (_name, template, why) => {
    const r = compilePathTemplate(template);
    expect(r.template).toBeNull();
    expect(r.error).toContain(why);
  });

  it('keeps parameter names and the glob flag', () => {
    const r = compilePathTemplate('/t/{tenant}/x/{id_2}/**');
    expect(r.template).toMatchObject({ glob: true, params: ['tenant', 'id_2'], segments: ['t', 'tenant', 'x', 'id_2'] });
  });
});
