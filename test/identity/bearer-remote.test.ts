/**
 * Bearer identity against real JWKS servers on loopback: rotation, cooldown on unknown kids,
 * one fetch at a time, background refresh, spiffe_refresh_hint, the staleness bound, and
 * file key sets re-read on change. Key-set time runs on an injected clock.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBearerIdentity, type BearerIdentityHandle } from '../../src/identity/bearer/index.js';
import type { IdentityConfig } from '../../src/identity/bearer/config.js';
import { compileSubjectTemplate, type SubjectTemplate } from '../../src/identity/bearer/template.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { makeKey, signJwt, type TestKey } from './jwt-helpers.js';

const TD = 'prod.example.org';
const SVID = `spiffe://${TD}/ns/a/sa/worker`;
const ISS = 'https://ci.example.com';
const COOLDOWN = 30_000;
const REFRESH = 300_000;
const STALE = 600_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function oidcConfig(url: string): IdentityConfig {
  return {
    jwtSvid: [],
    oidc: [{
      issuer: ISS,
      jwks: { kind: 'url', url },
      audience: 'mandate',
      claims: {},
      subject: compileSubjectTemplate('spiffe://ci.example.org/job/{job}') as SubjectTemplate,
      maxStalenessMs: STALE,
    }],
  };
}

async function setup(doc: unknown, config: (url: string) => IdentityConfig = oidcConfig) {
  const server = await startJwksServer({ jwks: doc });
  const clock = { now: Date.now() };
  const errors: string[] = [];
  const bearer: BearerIdentityHandle = createBearerIdentity(config(server.url), {
    now: () => clock.now,
    cooldownMs: COOLDOWN,
    refreshMs: REFRESH,
    requestWaitMs: 10_000, // never cut short here; the bound has its own test
    onFetchError: (issuer, detail) => errors.push(`${issuer}: ${detail}`),
  });
  cleanups.push(() => server.close(), () => bearer.close());
  expect(await bearer.ready()).toBe(true);
  expect(server.requests).toBe(1);
  const oidc = (key: TestKey, kid = key.kid) =>
    `Bearer ${signJwt({ alg: key.alg, kid }, { iss: ISS, aud: 'mandate', exp: Math.floor(clock.now / 1000) + 600, job: 'build' }, key)}`;
  const verify = (auth: string) => bearer.verify(auth, clock.now);
  return { server, clock, errors, bearer, oidc, verify };
}

describe('remote JWKS', () => {
  it('fetches a rotated key once, and unknown kids do not hammer the issuer', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const { server, clock, oidc, verify } = await setup({ keys: [k1.jwk] });
    expect((await verify(oidc(k1))).reason).toBeNull();
    expect(server.requests).toBe(1);

    server.setJwks({ keys: [k1.jwk, k2.jwk] });
    // Within the cooldown after the first load, an unknown kid does not fetch.
    expect((await verify(oidc(k2))).detail).toBe('no key with kid "k2" fits alg ES256');
    expect(server.requests).toBe(1);

    clock.now += COOLDOWN + 1;
    expect((await verify(oidc(k2))).reason).toBeNull();
    expect(server.requests).toBe(2);
    // The new key is cached: no more fetches for it.
    for (let i = 0; i < 5; i++) expect((await verify(oidc(k2))).reason).toBeNull();
    expect(server.requests).toBe(2);

    // A burst of made-up kids right after: no fetch at all.
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => verify(oidc(k1, `made-up-${i}`))));
    expect(burst.every((r) => r.reason === 'INVALID_IDENTITY')).toBe(true);
    expect(server.requests).toBe(2);

    // After the cooldown: exactly one more fetch for a whole burst, even a concurrent one.
    clock.now += COOLDOWN + 1;
    server.setDelayMs(50);
    const burst2 = await Promise.all(Array.from({ length: 50 }, (_, i) => verify(oidc(k1, `other-${i}`))));
    expect(burst2.every((r) => r.reason === 'INVALID_IDENTITY')).toBe(true);
    expect(server.requests).toBe(3);
    // Old keys go away when the issuer removes them.
    server.setDelayMs(0);
    server.setJwks({ keys: [k2.jwk] });
    clock.now += COOLDOWN + 1;
    expect((await verify(oidc(k1, 'unknown'))).reason).toBe('INVALID_IDENTITY'); // triggers the reload
    expect(server.requests).toBe(4);
    expect((await verify(oidc(k1))).detail).toBe('no key with kid "k1" fits alg ES256');
  });

  it('refreshes in the background while serving the current set', async () => {
    const k1 = makeKey('k1');
    const { server, clock, oidc, verify } = await setup({ keys: [k1.jwk] });
    clock.now += REFRESH - 1;
    expect((await verify(oidc(k1))).reason).toBeNull();
    expect(server.requests).toBe(1);
    clock.now += 2;
    expect((await verify(oidc(k1))).reason).toBeNull();
    await server.waitForRequests(2);
    expect(server.requests).toBe(2);
  });

  it('keeps serving a stale set within the bound, then fails closed, then recovers', async () => {
    const k1 = makeKey('k1');
    const { server, clock, oidc, verify, errors, bearer } = await setup({ keys: [k1.jwk] });
    server.setStatus(503);
    clock.now += REFRESH + 1;
    expect((await verify(oidc(k1))).reason).toBeNull(); // serves, refreshes in the background
    await server.waitForRequests(2);
    await waitUntil(() => errors.length === 1);
    expect(errors[0]).toBe(`${ISS}: fetching ${server.url} answered HTTP 503`);
    expect(bearer.stats()[0]).toMatchObject({ issuer: ISS, kind: 'oidc', keys: 1, failures: 1, unavailable: false });

    clock.now += STALE - REFRESH; // now past the bound since the last good load
    const r = await verify(oidc(k1));
    expect(r.reason).toBe('INVALID_IDENTITY');
    expect(r.detail).toBe(`key set of ${ISS} stale for longer than its bound: fetching ${server.url} answered HTTP 503`);
    expect(bearer.stats()[0]!.unavailable).toBe(true);
    const failedRequests = server.requests;
    // Failing closed does not hammer the issuer either.
    for (let i = 0; i < 10; i++) await verify(oidc(k1));
    expect(server.requests).toBe(failedRequests);

    server.setStatus(200);
    clock.now += COOLDOWN + 1;
    expect((await verify(oidc(k1))).reason).toBeNull();
    expect(bearer.stats()[0]!.unavailable).toBe(false);
  });

  it.each([
    ['invalid JSON', (s: JwksServer) => s.setRawBody('{not json'), 'is not JSON'],
    ['no keys list', (s: JwksServer) => s.setJwks({ kids: [] }), 'key set document has no "keys" list'],
    ['server error', (s: JwksServer) => s.setStatus(500), 'answered HTTP 500'],
  ])('counts a failed load: %s', async (_name, breakIt, detail) => {
    const k1 = makeKey('k1');
    const { server, clock, oidc, verify, errors, bearer } = await setup({ keys: [k1.jwk] });
    breakIt(server);
    clock.now += COOLDOWN + 1;
    expect((await verify(oidc(k1, 'unknown'))).reason).toBe('INVALID_IDENTITY');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(detail);
    expect(bearer.stats()[0]!.failures).toBe(1);
    // The last good set still serves.
    expect((await verify(oidc(k1))).reason).toBeNull();
  });

  it('never holds a request longer than requestWaitMs for a slow load', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const server = await startJwksServer({ jwks: { keys: [k1.jwk] } });
    const clock = { now: Date.now() };
    const bearer = createBearerIdentity(oidcConfig(server.url), { now: () => clock.now, cooldownMs: COOLDOWN, requestWaitMs: 50 });
    cleanups.push(() => server.close(), () => bearer.close());
    expect(await bearer.ready()).toBe(true);
    const token = (k: TestKey) =>
      `Bearer ${signJwt({ alg: 'ES256', kid: k.kid }, { iss: ISS, aud: 'mandate', exp: Math.floor(clock.now / 1000) + 600, job: 'j' }, k)}`;

    server.setJwks({ keys: [k1.jwk, k2.jwk] });
    server.setDelayMs(2_000);
    clock.now += COOLDOWN + 1;
    const started = Date.now();
    const r = await bearer.verify(token(k2), clock.now);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(r).toMatchObject({ reason: 'INVALID_IDENTITY', detail: `key set of ${ISS} still loading` });
    // The load went on in the background: once it lands, the new key verifies without another fetch.
    await waitUntil(async () => (await bearer.verify(token(k2), clock.now)).reason === null);
    expect(server.requests).toBe(2);
  });

  it('fails closed when the first load fails', async () => {
    const server = await startJwksServer();
    server.setStatus(404);
    const bearer = createBearerIdentity(oidcConfig(server.url), { cooldownMs: COOLDOWN });
    cleanups.push(() => server.close(), () => bearer.close());
    expect(await bearer.ready()).toBe(false);
    const k = makeKey('k');
    const r = await bearer.verify(`Bearer ${signJwt({ alg: 'ES256', kid: 'k' }, { iss: ISS, aud: 'mandate', exp: Date.now() / 1000 + 60, job: 'x' }, k)}`, Date.now());
    expect(r).toMatchObject({ reason: 'INVALID_IDENTITY', via: 'oidc' });
    expect(r.detail).toMatch(/^key set of https:\/\/ci\.example\.com not loaded: fetching .* answered HTTP 404$/);
  });
});

describe('JWT-SVID bundle over HTTP', () => {
  const svidConfig = (url: string): IdentityConfig => ({
    jwtSvid: [{ trustDomain: TD, bundle: { kind: 'url', url }, audience: 'mandate', maxStalenessMs: STALE }],
    oidc: [],
  });

  it('uses jwt-svid keys, ignores x509-svid keys, and honours spiffe_refresh_hint', async () => {
    const jwtKey = makeKey('jwt-1');
    const caKey = makeKey('ca-1');
    const { server, clock, verify } = await setup({
      spiffe_refresh_hint: 60,
      keys: [{ ...jwtKey.jwk, use: 'jwt-svid' }, { ...caKey.jwk, use: 'x509-svid' }],
    }, svidConfig);
    const token = (key: TestKey) =>
      `Bearer ${signJwt({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, { sub: SVID, aud: 'mandate', exp: Math.floor(clock.now / 1000) + 300 }, key)}`;
    expect(await verify(token(jwtKey))).toMatchObject({ reason: null, spiffeId: SVID, via: 'jwt-svid', issuer: `spiffe://${TD}` });
    expect((await verify(token(caKey))).reason).toBe('INVALID_IDENTITY');

    // The hint (60 s), not the 5-minute default, schedules the next refresh.
    clock.now += 61_000;
    await verify(token(jwtKey));
    await server.waitForRequests(2);
    expect(server.requests).toBe(2);
  });
});

describe('file JWKS', () => {
  it.each([
    ['fs.watch', true, 60_000],
    ['the poll fallback', false, 100],
  ])('re-reads a replaced file via %s', async (_name, watch, pollMs) => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-jwks-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'jwks.json');
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    writeFileSync(file, JSON.stringify({ keys: [k1.jwk] }));
    const bearer = createBearerIdentity({
      jwtSvid: [],
      oidc: [{
        issuer: ISS, jwks: { kind: 'file', path: file }, audience: 'mandate', claims: {},
        subject: compileSubjectTemplate('spiffe://ci.example.org/job/{job}') as SubjectTemplate, maxStalenessMs: STALE,
      }],
    }, { watch, pollMs, cooldownMs: 3_600_000 }); // a huge cooldown: only watch/poll can reload
    cleanups.push(() => bearer.close());
    expect(await bearer.ready()).toBe(true);
    const token = (k: TestKey) =>
      `Bearer ${signJwt({ alg: 'ES256', kid: k.kid }, { iss: ISS, aud: 'mandate', exp: Math.floor(Date.now() / 1000) + 300, job: 'j' }, k)}`;
    expect((await bearer.verify(token(k1), Date.now())).reason).toBeNull();
    expect((await bearer.verify(token(k2), Date.now())).reason).toBe('INVALID_IDENTITY');

    // Atomic replace, as config management and ConfigMap swaps do.
    writeFileSync(join(dir, '.tmp'), JSON.stringify({ keys: [k2.jwk] }));
    renameSync(join(dir, '.tmp'), file);
    await waitUntil(async () => (await bearer.verify(token(k2), Date.now())).reason === null);
    expect((await bearer.verify(token(k1), Date.now())).reason).toBe('INVALID_IDENTITY');
    expect(bearer.stats()[0]).toMatchObject({ source: file, keys: 1, failures: 0 });
  });
});

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
