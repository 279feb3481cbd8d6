/**
 * Every `serve` option once: its flag, config-file key, environment variable, kind and
 * default. The flag parser, the environment reader, the file reader, `--print-config` and
 * the README table all come from this list, so they cannot drift apart.
 */

export type OptionKind = 'string' | 'list' | 'bool' | 'duration' | 'addr' | 'mode' | 'level' | 'int';

export interface OptionSpec {
  /** camelCase: the config-file key and the Config field. */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly kind: OptionKind;
  readonly help: string;
  /** Default as the user would write it; null for none. */
  readonly defaultText: string | null;
  /** The value is a file path (resolved against the config file's folder when given there). */
  readonly isPath?: boolean;
}

function opt(key: string, kind: OptionKind, help: string, defaultText: string | null, isPath = false): OptionSpec {
  const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  const env = 'MANDATE_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
  return Object.freeze({ key, flag, env, kind, help, defaultText, isPath });
}

export const SERVE_OPTIONS: readonly OptionSpec[] = Object.freeze([
  opt('policies', 'list', 'policy file or directory; repeatable', null, true),
  opt('grpcAddr', 'addr', 'ext_authz, health and token API listen address', '127.0.0.1:9191'),
  opt('httpAddr', 'addr', 'metrics, health and JWKS listen address', '127.0.0.1:9464'),
  opt('mode', 'mode', 'global mode: enforce or dry-run', 'enforce'),
  opt('trustDomain', 'list', 'trusted trust domain; repeatable', null),
  opt('trustXfcc', 'bool', 'take identity from x-forwarded-client-cert', 'false'),
  opt('functionHeader', 'string', 'business-function header name', 'x-business-function'),
  opt('tokenHeader', 'string', 'task-token header name', 'txn-token'),
  opt('tlsCert', 'string', 'TLS certificate (PEM) for the gRPC port', null, true),
  opt('tlsKey', 'string', 'TLS private key (PEM) for the gRPC port', null, true),
  opt('tlsClientCa', 'string', 'client CA bundle (PEM); when given, mTLS is required', null, true),
  opt('tokenKey', 'list', 'task-token signing key (PEM or JWK); repeatable, the first signs', null, true),
  opt('tokenIssuer', 'string', 'task-token issuer', 'mandate'),
  opt('tokenAdmin', 'list', 'SPIFFE ID allowed to call Revoke; repeatable', null),
  opt('redisUrl', 'string', 'Redis URL for shared revocation state', null),
  opt('revocationMaxStaleness', 'duration', 'deny token requests when Redis is unreachable this long', '5s'),
  opt('logFile', 'string', 'decision-log file (default stdout)', null, true),
  opt('logLevel', 'level', 'log level; the decision log writes every decision at info and below, only denials and would-denies at warn', 'info'),
  opt('auditChain', 'bool', 'hash-chain decision-log lines', 'false'),
  opt('drainTimeout', 'duration', 'SIGTERM drain bound', '10s'),
  opt('maxMessageBytes', 'int', 'largest gRPC message accepted', '1048576'),
  opt('maxConcurrentStreams', 'int', 'HTTP/2 concurrent streams per connection', '1000'),
]);

export const OPTION_BY_FLAG: ReadonlyMap<string, OptionSpec> = new Map(SERVE_OPTIONS.map((o) => [o.flag, o]));
export const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(SERVE_OPTIONS.map((o) => [o.key, o]));
