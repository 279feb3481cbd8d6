/** examples/identity stays valid: its config parses, its bundle loads, its mandates validate and
 * a GitHub-Actions-style token maps onto one of them. */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/config/load.js';
import { createBearerIdentity, parseIdentityConfig, type IdentityConfig } from '../../src/identity/bearer/index.js';
import { loadPolicySet } from '../../src/policy/load.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { makeKey, signJwt } from './jwt-helpers.js';

const DIR = resolve('examples/identity');
const closers: Array<() => unknown> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function exampleIdentity(): IdentityConfig {
  const loaded = loadServeConfig(['--config', `${DIR}/mandate.yaml`], {}, process.cwd());
  expect(loaded.errors).toEqual([]);
  const { value, errors } = parseIdentityConfig(loaded.config!.identity, loaded.config!.configDir);
  expect(errors).toEqual([]);
  return value!;
}

describe('examples/identity', () => {
  it('config parses, with the bundle path relative to the config file', () => {
    const id = exampleIdentity();
    expect(id.jwtSvid[0]!.bundle).toEqual({ kind: 'file', path: `${DIR}/spire-jwt-bundle.json` });
    expect(id.oidc[0]!.issuer).toBe('https://token.actions.githubusercontent.com');
  });

  it('bundle loads its two jwt-svid keys and ignores the x509-svid authority', async () => {
    const id = exampleIdentity();
    const bearer = createBearerIdentity({ jwtSvid: id.jwtSvid, oidc: [] }, { watch: false });
    closers.push(() => bearer.close());
    expect(await bearer.ready()).toBe(true);
    expect(bearer.stats()[0]).toMatchObject({ kind: 'jwt-svid', keys: 2, failures: 0 });
  });

  it('mandates validate, and a release-workflow token maps onto its mandate subject', async () => {
    const policies = await loadPolicySet([`${DIR}/mandates.yaml`]);
    expect(policies.ok ? [] : policies.diagnostics).toEqual([]);
    const subjects = policies.ok ? policies.set.mandates.map((m) => m.subject) : [];

    // The same OIDC rules, with the JWKS served on loopback instead of GitHub.
    const key = makeKey('gh');
    const server = await startJwksServer({ jwks: { keys: [key.jwk] } });
    closers.push(() => server.close());
    const gh = exampleIdentity().oidc[0]!;
    const bearer = createBearerIdentity({ jwtSvid: [], oidc: [{ ...gh, jwks: { kind: 'url', url: server.url } }] });
    closers.push(() => bearer.close());
    expect(await bearer.ready()).toBe(true);
    const now = Date.now();
    const claims = {
      iss: gh.issuer, aud: 'mandate', exp: Math.floor(now / 1000) + 300, iat: Math.floor(now / 1000),
      repository: 'acme/web', repository_owner: 'acme', ref: 'refs/heads/main', environment: 'production',
      workflow: 'release', sub: 'repo:acme/web:environment:production',
    };
    const ok = await bearer.verify(`Bearer ${signJwt({ alg: 'ES256', kid: 'gh', typ: 'JWT' }, claims, key)}`, now);
    expect(ok.reason).toBeNull();
    expect(subjects).toContain(ok.spiffeId);
    // A feature-branch run of the same workflow is refused by the ref pin.
    const branch = await bearer.verify(`Bearer ${signJwt({ alg: 'ES256', kid: 'gh' }, { ...claims, ref: 'refs/heads/feature' }, key)}`, now);
    expect(branch).toMatchObject({ reason: 'INVALID_IDENTITY', via: 'oidc', detail: 'claim "ref" has a value that is not allowed' });
    // A workflow named with a space cannot be mapped: rejected, never rewritten.
    const spaced = await bearer.verify(`Bearer ${signJwt({ alg: 'ES256', kid: 'gh' }, { ...claims, workflow: 'Release Web' }, key)}`, now);
    expect(spaced.reason).toBe('INVALID_IDENTITY');
  });
});
