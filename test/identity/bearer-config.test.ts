import { describe, expect, it } from 'vitest';
import { parseIdentityConfig } from '../../src/identity/bearer/config.js';
import { compileSubjectTemplate, renderSubject } from '../../src/identity/bearer/template.js';

const BASE = '/etc/mandate';
const svid = (extra: Record<string, unknown> = {}) => ({ trustDomain: 'prod.example.org', bundle: 'b.json', audience: 'mandate', ...extra });
const oidc = (extra: Record<string, unknown> = {}) => ({
  issuer: 'https://token.actions.example.com',
  jwks: 'https://token.actions.example.com/.well-known/jwks',
  audience: 'mandate',
  claims: { repository_owner: 'acme', environment: ['prod', 'staging'] },
  subject: 'spiffe://ci.example.org/repo/{repository}/workflow/{workflow}',
  ...extra,
});

describe('parseIdentityConfig accepts', () => {
  it('the SPEC example, resolving relative paths against the config directory', () => {
    const { value, errors } = parseIdentityConfig({ jwtSvid: [svid()], oidc: [oidc()] }, BASE);
    expect(errors).toEqual([]);
    expect(value!.jwtSvid[0]).toEqual({
      trustDomain: 'prod.example.org',
      bundle: { kind: 'file', path: '/etc/mandate/b.json' },
      audience: 'mandate',
      maxStalenessMs: 3_600_000,
    });
    const o = value!.oidc[0]!;
    expect(o.jwks).toEqual({ kind: 'url', url: 'https://token.actions.example.com/.well-known/jwks' });
    expect({ ...o.claims }).toEqual({ repository_owner: ['acme'], environment: ['prod', 'staging'] });
    expect(o.subject.claims).toEqual(['repository', 'workflow']);
    expect(Object.isFrozen(value)).toBe(true);
  });

  it.each([
    ['absent block', undefined],
    ['null block', null],
    ['empty block', {}],
  ])('%s as no bearer issuers', (_name, raw) => {
    expect(parseIdentityConfig(raw, BASE)).toEqual({ value: { jwtSvid: [], oidc: [] }, errors: [] });
  });

  it.each([
    ['absolute bundle path', svid({ bundle: '/var/run/spire/bundle.json' }), { kind: 'file', path: '/var/run/spire/bundle.json' }],
    ['parent-relative path', svid({ bundle: '../b.json' }), { kind: 'file', path: '/etc/b.json' }],
    ['https bundle', svid({ bundle: 'https://spire.example.org/bundle' }), { kind: 'url', url: 'https://spire.example.org/bundle' }],
    ['loopback http bundle', svid({ bundle: 'http://127.0.0.1:8080/b' }), { kind: 'url', url: 'http://127.0.0.1:8080/b' }],
  ])('%s', (_name, entry, bundle) => {
    const { value, errors } = parseIdentityConfig({ jwtSvid: [entry] }, BASE);
    expect(errors).toEqual([]);
    expect(value!.jwtSvid[0]!.bundle).toEqual(bundle);
  });

  it('takes maxStaleness as a duration', () => {
    expect(parseIdentityConfig({ jwtSvid: [svid({ maxStaleness: '30m' })] }, BASE).value!.jwtSvid[0]!.maxStalenessMs).toBe(1_800_000);
    // The grammar of every other duration option (src/duration.ts), fractions included.
    expect(parseIdentityConfig({ jwtSvid: [svid({ maxStaleness: '1h30m' })] }, BASE).value!.jwtSvid[0]!.maxStalenessMs).toBe(5_400_000);
    expect(parseIdentityConfig({ jwtSvid: [svid({ maxStaleness: '1.5h' })] }, BASE).value!.jwtSvid[0]!.maxStalenessMs).toBe(5_400_000);
  });
});

describe('parseIdentityConfig reports one line per problem', () => {
  it.each<[string, unknown, string[]]>([
    ['not a mapping', ['x'], ['identity: must be a mapping with jwtSvid and/or oidc']],
    ['unknown top-level key', { jwtSvid: [], spiffe: true }, ['identity.spiffe: unknown key (expected one of jwtSvid, oidc)']],
    ['jwtSvid not a list', { jwtSvid: svid() }, ['identity.jwtSvid: must be a list']],
    ['unknown entry key', { jwtSvid: [svid({ audiences: ['a'] })] }, ['identity.jwtSvid[0].audiences: unknown key (expected one of trustDomain, bundle, audience, maxStaleness)']],
    ['missing fields', { jwtSvid: [{}] }, ['identity.jwtSvid[0].trustDomain: required', 'identity.jwtSvid[0].bundle: required', 'identity.jwtSvid[0].audience: required']],
    ['bad trust domain', { jwtSvid: [svid({ trustDomain: 'spiffe://prod.example.org' })] }, ['identity.jwtSvid[0].trustDomain: "spiffe://prod.example.org" is not a trust domain name ([a-z0-9._-], no scheme or port)']],
    ['duplicate trust domain', { jwtSvid: [svid(), svid()] }, ['identity.jwtSvid[1].trustDomain: "prod.example.org" is configured twice']],
    ['plain http to a remote host', { jwtSvid: [svid({ bundle: 'http://spire.example.org/b' })] }, ['identity.jwtSvid[0].bundle: "http://spire.example.org/b" must be an https URL (plain http only on loopback) or a file path']],
    ['numeric audience', { jwtSvid: [svid({ audience: 5 })] }, ['identity.jwtSvid[0].audience: must be a non-empty string']],
    ['bad maxStaleness', { jwtSvid: [svid({ maxStaleness: '10s' })] }, ['identity.jwtSvid[0].maxStaleness: must be a duration such as 30m or 1h, between 1m and 168h']],
    ['duplicate issuer', { oidc: [oidc(), oidc()] }, ['identity.oidc[1].issuer: "https://token.actions.example.com" is configured twice']],
    ['claims not a mapping', { oidc: [oidc({ claims: ['a'] })] }, ['identity.oidc[0].claims: must be a mapping of claim name to a value or a list of values']],
    ['claim value a number', { oidc: [oidc({ claims: { run_attempt: 1 } })] }, ['identity.oidc[0].claims.run_attempt: must be a string or a non-empty list of strings']],
    ['claim value an empty list', { oidc: [oidc({ claims: { env: [] } })] }, ['identity.oidc[0].claims.env: must be a string or a non-empty list of strings']],
    ['template with claim in trust domain', { oidc: [oidc({ subject: 'spiffe://{org}.example.org/x/{y}' })] }, ['identity.oidc[0].subject: the trust domain "{org}.example.org" must be a literal trust domain name (no {claim} in it)']],
    ['template without scheme', { oidc: [oidc({ subject: 'ci.example.org/{repo}' })] }, ['identity.oidc[0].subject: must start with "spiffe://"']],
    ['template without claims', { oidc: [oidc({ subject: 'spiffe://ci.example.org/all' })] }, ['identity.oidc[0].subject: names no {claim}: every token would map to the same SPIFFE ID']],
    ['template with trailing slash', { oidc: [oidc({ subject: 'spiffe://ci.example.org/{repo}/' })] }, ['identity.oidc[0].subject: does not make a valid SPIFFE ID even with plain values: subject template gives an invalid SPIFFE ID (trailing "/")']],
    ['unbalanced brace', { oidc: [oidc({ subject: 'spiffe://ci.example.org/{repo' })] }, ['identity.oidc[0].subject: has a "{" without "}"']],
  ])('%s', (_name, raw, errors) => {
    expect(parseIdentityConfig(raw, BASE)).toEqual({ value: null, errors });
  });
});

describe('subject templates', () => {
  const t = compileSubjectTemplate('spiffe://ci.example.org/repo/{repository}/workflow/{workflow}');
  it.each<[string, Record<string, unknown>, string | RegExp]>([
    ['plain values', { repository: 'api', workflow: 'deploy' }, 'spiffe://ci.example.org/repo/api/workflow/deploy'],
    ['slash fills several segments', { repository: 'acme/api', workflow: 'deploy' }, 'spiffe://ci.example.org/repo/acme/api/workflow/deploy'],
    ['values kept as they are (case)', { repository: 'Acme/API', workflow: 'Deploy' }, 'spiffe://ci.example.org/repo/Acme/API/workflow/Deploy'],
    ['dot-dot', { repository: '..', workflow: 'd' }, /invalid SPIFFE ID \(path segment is "\." or "\.\."\)/],
    ['query smuggling', { repository: 'a?x=1', workflow: 'd' }, /invalid SPIFFE ID/],
    ['missing', { repository: 'a' }, /claim "workflow" for the subject template is missing/],
    ['inherited property is not a claim', Object.create({ workflow: 'x' }, { repository: { value: 'a', enumerable: true } }) as Record<string, unknown>, /missing/],
    ['number', { repository: 'a', workflow: 1 }, /not a string/],
  ])('%s', (_name, payload, want) => {
    if (typeof t === 'string') throw new Error(t);
    const r = renderSubject(t, payload);
    if (typeof want === 'string') expect(r).toEqual({ ok: true, spiffe: expect.objectContaining({ id: want }) });
    else expect(r.ok ? 'ok' : r.detail).toMatch(want);
  });
});

