import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runServeCommand } from '../../src/cli/serve.js';
import { runCli } from '../analysis/run-cli.js';
import { parseDurationMs } from '../../src/duration.js';
import { loadServeConfig } from '../../src/config/load.js';
import { SERVE_OPTIONS } from '../../src/config/options.js';

const cwd = '/work/cwd';

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-config-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('loadServeConfig', () => {
  it('applies the SPEC defaults', () => {
    const { config, errors } = loadServeConfig(['--policies', 'p'], {}, cwd);
    expect(errors).toEqual([]);
    expect(config).toMatchObject({
      policies: ['/work/cwd/p'],
      grpcAddr: '127.0.0.1:9191',
      httpAddr: '127.0.0.1:9464',
      mode: 'enforce',
      trustDomain: [],
      trustXfcc: false,
      functionHeader: 'x-business-function',
      tokenHeader: 'txn-token',
      tokenIssuer: 'mandate',
      tokenAdmin: [],
      redisUrl: null,
      revocationMaxStaleness: 5000,
      logFile: null,
      logLevel: 'info',
      auditChain: false,
      drainTimeout: 10_000,
    });
  });

  it('lets flags win over the environment, and the environment over the file', () => {
    const file = tmpFile('c.yaml', 'grpcAddr: 127.0.0.1:1\nhttpAddr: 127.0.0.1:2\nmode: dry-run\npolicies: [pol]\ntrustDomain: [a.org]\n');
    const { config, errors } = loadServeConfig(
      ['--config', file, '--grpc-addr', '127.0.0.1:10'],
      { MANDATE_GRPC_ADDR: '127.0.0.1:20', MANDATE_HTTP_ADDR: '127.0.0.1:30', MANDATE_TRUST_DOMAIN: 'b.org, c.org' },
      cwd,
    );
    expect(errors).toEqual([]);
    expect(config?.grpcAddr).toBe('127.0.0.1:10');
    expect(config?.httpAddr).toBe('127.0.0.1:30');
    expect(config?.mode).toBe('dry-run');
    expect(config?.trustDomain).toEqual(['b.org', 'c.org']);
    // Paths in the file are relative to the file.
    expect(config?.policies).toEqual([path.join(path.dirname(file), 'pol')]);
  });

  it('takes repeatable flags as lists and --flag=value forms', () => {
    const { config } = loadServeConfig(['--policies=a', '--policies', 'b', '--trust-domain', 'x.org', '--trust-domain=y.org', '--trust-xfcc'], {}, cwd);
    expect(config?.policies).toEqual(['/work/cwd/a', '/work/cwd/b']);
    expect(config?.trustDomain).toEqual(['x.org', 'y.org']);
    expect(config?.trustXfcc).toBe(true);
  });

  it('reports every problem at once, one line each', () => {
    const { config, errors } = loadServeConfig(
      ['--grpc-addr', 'nowhere', '--mode', 'permissive', '--bogus', '--revocation-max-staleness', 'soon', '--tls-cert', 'x.pem', '--trust-domain', 'Bad.Org'],
      {},
      cwd,
    );
    expect(config).toBeNull();
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^--bogus: unknown option/),
        expect.stringMatching(/^--grpc-addr: expected HOST:PORT/),
        expect.stringMatching(/^--mode: expected enforce or dry-run/),
        expect.stringMatching(/^--revocation-max-staleness: expected a duration/),
        expect.stringMatching(/^--policies: at least one/),
        expect.stringMatching(/--tls-cert and --tls-key must be given together/),
        expect.stringMatching(/--trust-domain Bad.Org/),
      ]),
    );
    expect(errors.every((e) => !e.includes('\n'))).toBe(true);
  });

  it.each([
    ['--token-admin', 'spiffe://prod.example.org/ns/ops/sa/admin', null],
    ['--token-admin', 'spiffe://Prod.example.org/ns/ops/sa/admin', /^--token-admin spiffe:\/\/Prod\S+: not a valid SPIFFE ID \(/],
    ['--token-admin', 'spiffe://prod.example.org/ns/../admin', /^--token-admin \S+: not a valid SPIFFE ID \(/],
    ['--token-admin', 'admin', /^--token-admin admin: not a valid SPIFFE ID \(/],
    ['--trust-domain', 'prod.example.org', null],
    ['--trust-domain', `${'a'.repeat(256)}.org`, /^--trust-domain a+\.org: not a valid trust domain name/],
    ['--trust-domain', 'prod.exämple.org', /^--trust-domain prod\.exämple\.org: not a valid trust domain name/],
  ])('checks %s %s with the rule callers\' SPIFFE IDs are parsed by', (flag, value, want) => {
    const { config, errors } = loadServeConfig(['--policies', 'p', flag, value], {}, cwd);
    if (want === null) {
      expect(errors).toEqual([]);
      expect(config).not.toBeNull();
    } else {
      expect(config).toBeNull();
      expect(errors).toEqual([expect.stringMatching(want)]);
    }
  });

  it('rejects unknown keys and wrong types in the config file', () => {
    const file = tmpFile('c.yaml', 'policies: p\ngrpcadr: x\nauditChain: "yes"\n');
    const { errors } = loadServeConfig(['--config', file], {}, cwd);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/grpcadr: unknown key/), expect.stringMatching(/auditChain: expected true or false/)]));
  });

  it('reports a missing or malformed config file', () => {
    expect(loadServeConfig(['--config', '/nonexistent/c.yaml'], {}, cwd).errors[0]).toMatch(/file not found/);
    const bad = tmpFile('c.yaml', 'a: [1\n');
    expect(loadServeConfig(['--config', bad], {}, cwd).errors[0]).toMatch(/not valid YAML/);
  });

  it('gives every option a flag, an environment variable and a camelCase key', () => {
    for (const o of SERVE_OPTIONS) {
      expect(o.flag).toMatch(/^--[a-z]+(-[a-z]+)*$/);
      expect(o.env).toMatch(/^MANDATE_[A-Z]+(_[A-Z]+)*$/);
      expect(o.key).toMatch(/^[a-z]+([A-Z][a-z]+)*$/);
    }
    expect(SERVE_OPTIONS.find((o) => o.key === 'grpcAddr')?.env).toBe('MANDATE_GRPC_ADDR');
    expect(SERVE_OPTIONS.find((o) => o.key === 'tlsClientCa')?.flag).toBe('--tls-client-ca');
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['5s', 5000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['0', 0],
    ['+1m', 60_000],
    ['1500us', 2],
    ['2µs', 0],
    ['.5h', 1_800_000],
  ])('%s = %i ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it.each(['', '5', 's', '-5s', '5 s', '5d', '1h-1m', '.s', '-0.5s', '3000000h'])('%j is rejected', (text) => expect(parseDurationMs(text)).toBeNull());
});

describe('README configuration table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  let help = '';
  beforeAll(async () => {
    help = (await runCli(runServeCommand, ['--help'], process.cwd())).stdout;
  });
  it.each(SERVE_OPTIONS.map((o) => [o.flag, o]))('documents %s with its variable, key and default', (_f, o) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${o.flag}`));
    expect(row).toBeDefined();
    // The same flag and placeholder as `mandate serve --help` prints.
    const helpLine = help.split('\n').find((l) => l.trimStart().startsWith(`${o.flag} `));
    expect(helpLine, `--help line for ${o.flag}`).toBeDefined();
    const shown = helpLine!.trim().split(/\s{2,}/)[0];
    expect(row!.startsWith(`| \`${shown}\` |`), `README shows ${o.flag} as --help does: ${shown}`).toBe(true);
    expect(row).toContain(`\`${o.env}\``);
    expect(row).toContain(`\`${o.key}\``);
    expect(row).toContain(o.defaultText === null ? '—' : `\`${o.defaultText}\``);
  });
});
