/**
 * Flags, environment and config file → one validated Config. Flags win over the
 * environment, the environment over the file. Every problem is collected and reported at
 * once, one line each; the caller exits 2 when there is any.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LOG_LEVELS, type Config, type LogLevel } from './config.js';
import { parseDurationMs } from '../duration.js';
import { checkRedisUrl } from './redis-url.js';
import { isValidTrustDomain, spiffeIdError } from '../identity/spiffe.js';
import { OPTION_BY_FLAG, OPTION_BY_KEY, SERVE_OPTIONS, type OptionSpec } from './options.js';

export interface ConfigResult {
  readonly config: Config | null;
  readonly errors: readonly string[];
  readonly printConfig: boolean;
}

type Raw = string | string[] | boolean;
interface Sourced {
  value: Raw;
  /** Folder relative paths resolve against. */
  base: string;
  origin: string;
}

const LEVELS: ReadonlySet<string> = new Set(LOG_LEVELS);
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function checkAddr(text: string): boolean {
  const i = text.lastIndexOf(':');
  if (i <= 0) return false;
  const port = Number(text.slice(i + 1));
  return Number.isInteger(port) && port >= 0 && port <= 65535 && /^\d+$/.test(text.slice(i + 1));
}

/** Parses `serve` arguments; also used by `check` for the options it shares. */
export function loadServeConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): ConfigResult {
  const errors: string[] = [];
  const fromFlags = new Map<string, Sourced>();
  let configFile: string | null = env['MANDATE_CONFIG'] ?? null;
  let printConfig = false;

  for (let i = 0; i < args.length; i++) {
    let arg = args[i] as string;
    let inline: string | null = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--print-config') {
      printConfig = true;
      continue;
    }
    const takeValue = (): string | null => {
      if (inline !== null) return inline;
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        errors.push(`${arg}: a value is required`);
        return null;
      }
      i++;
      return next;
    };
    if (arg === '--config') {
      const v = takeValue();
      if (v !== null) configFile = v;
      continue;
    }
    const spec = OPTION_BY_FLAG.get(arg);
    if (spec === undefined) {
      errors.push(`${arg}: unknown option (see --help)`);
      continue;
    }
    if (spec.kind === 'bool') {
      const v = inline ?? 'true';
      fromFlags.set(spec.key, { value: v, base: cwd, origin: spec.flag });
      continue;
    }
    const v = takeValue();
    if (v === null) continue;
    const prev = fromFlags.get(spec.key);
    if (spec.kind === 'list') {
      const list = prev === undefined ? [] : (prev.value as string[]);
      list.push(v);
      fromFlags.set(spec.key, { value: list, base: cwd, origin: spec.flag });
    } else {
      fromFlags.set(spec.key, { value: v, base: cwd, origin: spec.flag });
    }
  }

  // The config file.
  const fromFile = new Map<string, Sourced>();
  let identity: unknown = null;
  let configDir = cwd;
  if (configFile !== null) {
    const file = path.resolve(cwd, configFile);
    configDir = path.dirname(file);
    let doc: unknown = null;
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      errors.push(`--config ${configFile}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? 'error'})`}`);
    }
    if (text !== null) {
      try {
        doc = parseYaml(text);
      } catch (e) {
        errors.push(`--config ${configFile}: not valid YAML: ${firstLine((e as Error).message)}`);
      }
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) {
        errors.push(`--config ${configFile}: must be a mapping of option names to values`);
      } else {
        for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
          if (key === 'identity') {
            identity = value;
            continue;
          }
          const spec = OPTION_BY_KEY.get(key);
          if (spec === undefined) {
            errors.push(`${configFile}: ${key}: unknown key`);
            continue;
          }
          const raw = fileValue(spec, value);
          if (raw === null) {
            errors.push(`${configFile}: ${key}: expected ${describeKind(spec)}`);
            continue;
          }
          fromFile.set(key, { value: raw, base: configDir, origin: `${configFile}: ${key}` });
        }
      }
    }
  }

  // Resolve each option: flag > env > file > default.
  const out: Record<string, unknown> = {};
  for (const spec of SERVE_OPTIONS) {
    let src: Sourced | undefined = fromFlags.get(spec.key);
    const envText = env[spec.env];
    if (src === undefined && envText !== undefined) {
      src = { value: spec.kind === 'list' ? splitList(envText) : envText, base: cwd, origin: spec.env };
    }
    if (src === undefined) src = fromFile.get(spec.key);
    out[spec.key] = convert(spec, src, errors);
  }

  const c = out as Record<string, never>;
  const config: Config = {
    policies: c['policies'] ?? [],
    grpcAddr: c['grpcAddr'],
    httpAddr: c['httpAddr'],
    mode: c['mode'],
    trustDomain: c['trustDomain'] ?? [],
    trustXfcc: c['trustXfcc'],
    functionHeader: c['functionHeader'],
    tokenHeader: c['tokenHeader'],
    tlsCert: c['tlsCert'] ?? null,
    tlsKey: c['tlsKey'] ?? null,
    tlsClientCa: c['tlsClientCa'] ?? null,
    tokenKey: c['tokenKey'] ?? [],
    tokenIssuer: c['tokenIssuer'],
    tokenAdmin: c['tokenAdmin'] ?? [],
    redisUrl: c['redisUrl'] ?? null,
    revocationMaxStaleness: c['revocationMaxStaleness'],
    logFile: c['logFile'] ?? null,
    logLevel: c['logLevel'] as LogLevel,
    auditChain: c['auditChain'],
    drainTimeout: c['drainTimeout'],
    maxMessageBytes: c['maxMessageBytes'],
    maxConcurrentStreams: c['maxConcurrentStreams'],
    identity,
    configDir,
  };

  if (config.policies.length === 0) errors.push('--policies: at least one policy file or directory is required');
  if ((config.tlsCert === null) !== (config.tlsKey === null)) errors.push('--tls-cert and --tls-key must be given together');
  if (config.tlsClientCa !== null && config.tlsCert === null) errors.push('--tls-client-ca needs --tls-cert and --tls-key');
  for (const td of config.trustDomain) {
    // The rule SPIFFE IDs are parsed with, so a configured domain can match a caller's.
    if (!isValidTrustDomain(td)) errors.push(`--trust-domain ${td}: not a valid trust domain name (lower-case letters, digits, '.', '_', '-')`);
  }
  for (const id of config.tokenAdmin) {
    // Compared exactly with callers' IDs, which parse strictly: an ID that cannot parse
    // could never match, so it is refused here rather than silently admitting nobody.
    const problem = spiffeIdError(id);
    if (problem !== null) errors.push(`--token-admin ${id}: not a valid SPIFFE ID (${problem})`);
  }
  if (config.redisUrl !== null) {
    const problem = checkRedisUrl(config.redisUrl);
    if (problem !== null) errors.push(`--redis-url: ${problem}`);
  }

  return { config: errors.length === 0 ? Object.freeze(config) : null, errors, printConfig };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function describeKind(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'list':
      return 'a list of strings';
    case 'bool':
      return 'true or false';
    case 'int':
      return 'a positive integer';
    default:
      return 'a string';
  }
}

function fileValue(spec: OptionSpec, value: unknown): Raw | null {
  if (spec.kind === 'list') {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    return null;
  }
  if (spec.kind === 'bool') return typeof value === 'boolean' ? value : null;
  if (spec.kind === 'int' && typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : null;
}

function convert(spec: OptionSpec, src: Sourced | undefined, errors: string[]): unknown {
  const raw: Raw | null = src === undefined ? spec.defaultText : src.value;
  if (raw === null) return null;
  const where = src === undefined ? spec.flag : src.origin;
  const base = src === undefined ? '' : src.base;
  const resolvePath = (p: string): string => (spec.isPath === true && base !== '' ? path.resolve(base, p) : p);
  switch (spec.kind) {
    case 'list':
      return Object.freeze((raw as string[]).map(resolvePath));
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).toLowerCase();
      if (t === 'true' || t === '1' || t === 'yes') return true;
      if (t === 'false' || t === '0' || t === 'no' || t === '') return false;
      errors.push(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
      return false;
    }
    case 'duration': {
      const ms = parseDurationMs(String(raw));
      if (ms === null) errors.push(`${where}: expected a duration such as 500ms, 5s or 1m, got ${JSON.stringify(raw)}`);
      return ms ?? 0;
    }
    case 'addr':
      if (!checkAddr(String(raw))) errors.push(`${where}: expected HOST:PORT, got ${JSON.stringify(raw)}`);
      return String(raw);
    case 'mode':
      if (raw !== 'enforce' && raw !== 'dry-run') errors.push(`${where}: expected enforce or dry-run, got ${JSON.stringify(raw)}`);
      return raw;
    case 'level':
      if (!LEVELS.has(String(raw))) errors.push(`${where}: expected one of ${[...LEVELS].join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'int': {
      const n = Number(raw);
      if (!/^\d+$/.test(String(raw)) || n <= 0) errors.push(`${where}: expected a positive integer, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'string': {
      const s = String(raw);
      const isHeader = spec.key === 'functionHeader' || spec.key === 'tokenHeader';
      if (isHeader && !HEADER_NAME.test(s.toLowerCase())) errors.push(`${where}: ${JSON.stringify(s)} is not a valid header name`);
      if (s === '') errors.push(`${where}: must not be empty`);
      return isHeader ? s.toLowerCase() : resolvePath(s);
    }
  }
}
