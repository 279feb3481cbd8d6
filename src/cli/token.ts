/**
 * `mandate token issue|verify|revoke` (SPEC sections 3 and 8): operator commands for task
 * tokens. Bad usage is one line on stderr and exit 2; a token that does not verify, or a
 * refused revocation, is exit 1.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { splitHostPort } from '../config/addr.js';
import { parseDuration } from '../policy/values.js';
import { createTokenSigner, isTaskContext } from '../tokens/issue.js';
import { keysFromJwks, loadKeyRing, parseKeyText, type VerificationKey } from '../tokens/keys.js';
import { FUNCTION_NAME, MAX_TASK_CONTEXT_BYTES, MAX_TOKEN_TTL_SECONDS, TASK_ID } from '../tokens/limits.js';
import { loadTaskTokensPackage } from '../tokens/proto.js';
import { uriSans } from '../identity/certificate.js';
import { spiffeTrustDomain } from '../identity/spiffe.js';
import { createTokenVerifier } from '../tokens/verify.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

const USAGE = `usage:
  mandate token issue  --key FILE --subject SPIFFE_ID --function NAME [--ttl DUR] [--issuer ISS] [--task-context JSON]
  mandate token verify (--key FILE | --jwks URL) [--issuer ISS] TOKEN|-
  mandate token revoke --server HOST:PORT --txn ID --tls-cert FILE --tls-key FILE --tls-ca FILE
                       [--server-id SPIFFE_ID | --server-name NAME]
  issue prints one token (TTL default 5m, at most 1h); verify prints its claims as JSON and exits 1
  when it does not verify; revoke asks a running server to end a task (the TLS identity must be
  one of its --token-admin identities).
`;

const DEFAULT_ISSUER = 'mandate';
const DEFAULT_TTL_SECONDS = 300;
const RPC_DEADLINE_MS = 10_000;
const JWKS_TIMEOUT_MS = 5_000;

class UsageError extends Error {}

interface Parsed {
  readonly flags: Map<string, string>;
  readonly positional: string[];
}

/** `--name value` and `--name=value`; each flag at most once; only the listed names. */
function parseArgs(args: readonly string[], known: readonly string[]): Parsed {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    flags.set(name, value);
  }
  return { flags, positional };
}

function required(p: Parsed, name: string): string {
  const v = p.flags.get(name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export const runTokenCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub === undefined ? io.stderr : io.stdout)(USAGE);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  try {
    switch (sub) {
      case 'issue':
        return await issue(rest, io);
      case 'verify':
        return await verify(rest, io);
      case 'revoke':
        return await revoke(rest, io);
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (issue, verify, revoke)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`mandate token ${sub}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`mandate token ${sub}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAIL;
  }
};

async function issue(args: readonly string[], io: CliIO): Promise<number> {
  const p = parseArgs(args, ['key', 'subject', 'function', 'ttl', 'issuer', 'task-context']);
  if (p.positional.length > 0) throw new UsageError(`unexpected argument ${p.positional[0]}`);
  const keyPath = resolve(io.cwd, required(p, 'key'));
  const subject = required(p, 'subject');
  if (spiffeTrustDomain(subject) === null) throw new UsageError('--subject must be a valid SPIFFE ID');
  const fn = required(p, 'function');
  if (!FUNCTION_NAME.test(fn)) throw new UsageError('--function must be a function name ([a-z0-9][a-z0-9._-]{0,62})');
  let ttlSeconds = DEFAULT_TTL_SECONDS;
  const ttlText = p.flags.get('ttl');
  if (ttlText !== undefined) {
    // The policy language's own rule for a token lifetime (maxTokenTtl): same grammar, same bounds.
    const ttl = parseDuration(ttlText);
    if (ttl.error !== null) throw new UsageError(`--ttl ${ttl.error}`);
    if (ttl.value > MAX_TOKEN_TTL_SECONDS) throw new UsageError('--ttl is over 1h, the most a task token may live');
    ttlSeconds = ttl.value;
  }
  const issuer = p.flags.get('issuer') ?? DEFAULT_ISSUER;
  if (issuer === '') throw new UsageError('--issuer must not be empty');
  let tctx: Record<string, unknown> | null = null;
  const ctxText = p.flags.get('task-context');
  if (ctxText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(ctxText);
    } catch {
      throw new UsageError('--task-context is not valid JSON');
    }
    if (!isTaskContext(parsed)) throw new UsageError(`--task-context must be a JSON object of at most ${MAX_TASK_CONTEXT_BYTES} bytes`);
    tctx = parsed as Record<string, unknown>;
  }
  const ring = await loadKeyRing([keyPath]);
  if (!ring.ok) throw new UsageError(ring.errors.join('; '));
  const signer = createTokenSigner({ key: ring.ring.signing, issuer });
  const { token } = await signer.issue({ sub: subject, scope: fn, ttlSeconds, tctx, reqWl: subject }, Date.now());
  io.stdout(`${token}\n`);
  return EXIT_OK;
}

async function verify(args: readonly string[], io: CliIO): Promise<number> {
  const p = parseArgs(args, ['key', 'jwks', 'issuer']);
  if (p.positional.length !== 1) throw new UsageError('give exactly one TOKEN (or - to read it from stdin)');
  const keyFile = p.flags.get('key');
  const jwks = p.flags.get('jwks');
  if ((keyFile === undefined) === (jwks === undefined)) throw new UsageError('give exactly one of --key FILE and --jwks URL');
  const issuer = p.flags.get('issuer') ?? DEFAULT_ISSUER;
  let keys: readonly VerificationKey[];
  if (keyFile !== undefined) {
    const path = resolve(io.cwd, keyFile);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--key ${keyFile}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const parsed = await parseKeyText(text, { requirePrivate: false });
    if (!parsed.ok) throw new UsageError(`--key ${keyFile}: ${parsed.error}`);
    keys = [parsed.key];
  } else {
    const doc = await fetchJwks(jwks as string, io.cwd);
    const r = keysFromJwks(doc);
    if (!r.ok) throw new UsageError(`--jwks ${jwks}: ${r.error}`);
    keys = r.keys;
  }
  const positional = p.positional[0] as string;
  const token = (positional === '-' ? await io.readStdin() : positional).trim();
  const verdict = createTokenVerifier({ keys, issuer, cacheSize: 0 }).verifySync(token, Date.now());
  if (!verdict.ok) {
    io.stderr(`${verdict.reason}: ${verdict.detail}\n`);
    return EXIT_FAIL;
  }
  io.stdout(`${JSON.stringify(verdict.claims, null, 2)}\n`);
  return EXIT_OK;
}

async function fetchJwks(location: string, cwd: string): Promise<unknown> {
  let text: string;
  if (/^https?:\/\//i.test(location)) {
    let res: Response;
    try {
      res = await fetch(location, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), redirect: 'error' });
    } catch (err) {
      throw new UsageError(`--jwks ${location}: fetch failed (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!res.ok) throw new UsageError(`--jwks ${location}: HTTP ${res.status}`);
    text = await res.text();
  } else {
    const path = location.startsWith('file://') ? new URL(location) : resolve(cwd, location);
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--jwks ${location}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`--jwks ${location}: not JSON`);
  }
}

async function revoke(args: readonly string[], io: CliIO): Promise<number> {
  const p = parseArgs(args, ['server', 'txn', 'tls-cert', 'tls-key', 'tls-ca', 'server-id', 'server-name']);
  if (p.positional.length > 0) throw new UsageError(`unexpected argument ${p.positional[0]}`);
  const server = required(p, 'server');
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(server)) throw new UsageError('--server must be HOST:PORT');
  const txn = required(p, 'txn');
  if (!TASK_ID.test(txn)) throw new UsageError('--txn must be 1-128 printable ASCII characters');
  const serverId = p.flags.get('server-id');
  const serverName = p.flags.get('server-name');
  if (serverId !== undefined && serverName !== undefined) throw new UsageError('give at most one of --server-id and --server-name');
  if (serverId !== undefined && spiffeTrustDomain(serverId) === null) throw new UsageError('--server-id must be a valid SPIFFE ID');
  const [cert, key, ca] = await Promise.all(
    ['tls-cert', 'tls-key', 'tls-ca'].map(async (name) => {
      const file = required(p, name);
      try {
        return await readFile(resolve(io.cwd, file));
      } catch (err) {
        throw new UsageError(`--${name} ${file}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }),
  );
  const verifyOptions: grpc.VerifyOptions = {};
  if (serverId !== undefined) {
    // SPIFFE server certificates usually carry only a URI SAN: check that instead of a host name.
    verifyOptions.checkServerIdentity = (_host: string, peer: PeerCertificate) => {
      const uris = uriSans(peer.subjectaltname);
      return uris !== null && uris.length === 1 && uris[0] === serverId
        ? undefined
        : new Error(`server certificate does not name ${serverId}`);
    };
  }
  let creds: grpc.ChannelCredentials;
  try {
    creds = grpc.credentials.createSsl(ca, key, cert, verifyOptions);
  } catch (err) {
    throw new UsageError(`TLS files: ${err instanceof Error ? err.message : String(err)}`);
  }
  const pkg = grpc.loadPackageDefinition(loadTaskTokensPackage()) as unknown as {
    mandate: { v1: { TaskTokens: new (addr: string, c: grpc.ChannelCredentials, o: grpc.ClientOptions) => grpc.Client } };
  };
  // TLS sends the target host as SNI; Node warns (DEP0123) when that is an IP address, as
  // `--server 127.0.0.1:9191` is. With --server-id the host name plays no part in checking
  // the server, so the SNI is its trust domain instead.
  const sni = serverName ?? (serverId !== undefined && isIP(splitHostPort(server).host) !== 0 ? spiffeTrustDomain(serverId) ?? undefined : undefined);
  const options: grpc.ClientOptions = sni === undefined ? {} : { 'grpc.ssl_target_name_override': sni };
  const client = new pkg.mandate.v1.TaskTokens(server, creds, options) as grpc.Client & {
    Revoke(req: { txn: string }, md: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void;
  };
  try {
    const err = await new Promise<grpc.ServiceError | null>((done) =>
      client.Revoke({ txn }, new grpc.Metadata(), { deadline: Date.now() + RPC_DEADLINE_MS }, (e) => done(e)),
    );
    if (err !== null) {
      io.stderr(`mandate token revoke: ${grpc.status[err.code] ?? err.code}: ${err.details}\n`);
      return EXIT_FAIL;
    }
    io.stdout(`revoked ${txn}\n`);
    return EXIT_OK;
  } finally {
    client.close();
  }
}
