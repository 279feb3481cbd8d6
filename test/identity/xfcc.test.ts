import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xfccLastUri } from '../../src/identity/xfcc.js';

const ME = 'spiffe://prod.example.org/ns/a/sa/caller';
const EVIL = 'spiffe://prod.example.org/ns/admin/sa/root';
const HASH = 'Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688';

describe('xfccLastUri reads the last element', () => {
  it.each([
    ['single Envoy element', `By=spiffe://prod.example.org/ns/b/sa/server;${HASH};Subject="";URI=${ME}`, ME],
    ['Istio element with quoted subject', `By=spiffe://cluster.local/ns/b/sa/s;${HASH};Subject="CN=x,O=y";URI=${ME}`, ME],
    ['last element wins', `URI=${EVIL},By=spiffe://td/x;URI=${ME}`, ME],
    ['spoofed earlier element with quotes', `URI="${EVIL}";Subject="a,b;URI=${EVIL}",${HASH};URI=${ME}`, ME],
    ['comma inside quotes is not a boundary', `${HASH};Subject="CN=a,URI=${EVIL}";URI=${ME}`, ME],
    ['escaped quote inside a value', `Subject="a\\"b,URI=${EVIL}";URI=${ME}`, ME],
    ['quoted URI value', `URI="${ME}"`, ME],
    ['key in other case', `uri=${ME}`, ME],
    ['key in mixed case', `${HASH};Uri=${ME}`, ME],
    ['space after element comma', `URI=${EVIL}, URI=${ME}`, ME],
    ['duplicate headers joined by Envoy', `By=x;URI=${EVIL},By=y;URI=${ME}`, ME],
    ['Cert value with percent-encoded PEM', `Cert="-----BEGIN%20CERTIFICATE-----%0AMIIB%3D%3D";URI=${ME}`, ME],
  ])('%s', (_name, header, uri) => {
    expect(xfccLastUri(header)).toEqual({ ok: true, uri });
  });

  it.each([
    ['last element without URI', `URI=${ME},${HASH};DNS=example.org`],
    ['only By', 'By=spiffe://td/x'],
  ])('%s gives no identity', (_name, header) => {
    expect(xfccLastUri(header)).toEqual({ ok: true, uri: null });
  });
});

describe('xfccLastUri refuses malformed headers', () => {
  it.each([
    ['empty', ''],
    ['trailing comma', `URI=${ME},`],
    ['trailing semicolon', `URI=${ME};`],
    ['empty element', `URI=${EVIL},,URI=${ME}`],
    ['pair without equals', `URI=${ME};garbage`],
    ['bare value', ME],
    ['empty key', `=${ME}`],
    ['unterminated quote', `Subject="abc;URI=${ME}`],
    ['text after quoted value', `Subject="a"b;URI=${ME}`],
    ['quote inside unquoted value', `URI=spiffe://td/a"b`],
    ['equals inside unquoted value', `URI=spiffe://td/a=b`],
    ['two URIs in the last element', `URI=${ME};URI=${EVIL}`],
    ['space inside key', `U RI=${ME}`],
    ['oversized', `URI=${ME};Subject="${'x'.repeat(70_000)}"`],
    ['dangling backslash', `Subject="abc\\`],
  ])('%s', (_name, header) => {
    const r = xfccLastUri(header);
    expect(r.ok).toBe(false);
  });

  it('reports the cause', () => {
    expect(xfccLastUri(`URI=${ME};URI=${EVIL}`)).toEqual({
      ok: false,
      detail: 'x-forwarded-client-cert last element has several URI values',
    });
  });
});

describe('xfccLastUri property', () => {
  // Any value Envoy could quote (commas, semicolons, equals, quotes, backslashes).
  const quotedValue = fc.string({ maxLength: 20 }).map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  const pair = fc.tuple(fc.constantFrom('By', 'Hash', 'Subject', 'DNS', 'Cert', 'Chain'), quotedValue).map(([k, v]) => `${k}=${v}`);
  const id = fc.stringMatching(/^[a-z0-9]{1,8}$/).map((s) => `spiffe://prod.example.org/ns/${s}`);
  const element = fc.tuple(fc.array(pair, { maxLength: 4 }), fc.option(id, { nil: null }));

  it('returns the URI of the last element, whatever earlier elements hold', () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 5 }), (elements) => {
        const header = elements
          .map(([pairs, uri]) => [...pairs, ...(uri === null ? [] : [`URI=${uri}`])])
          .map((pairs) => (pairs.length === 0 ? ['Hash=0'] : pairs).join(';'))
          .join(',');
        const last = elements[elements.length - 1]![1];
        expect(xfccLastUri(header)).toEqual({ ok: true, uri: last });
      }),
      { numRuns: 300 },
    );
  });
});
