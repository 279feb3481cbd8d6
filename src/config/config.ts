/** The validated, defaulted, frozen configuration of `mandate serve`. */

/** The log levels, in pino's order; `--log-level` accepts these and no other. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly policies: readonly string[];
  readonly grpcAddr: string;
  readonly httpAddr: string;
  readonly mode: 'enforce' | 'dry-run';
  /** Empty: the trust domains of the mandates' subjects. */
  readonly trustDomain: readonly string[];
  readonly trustXfcc: boolean;
  /** Lower-case. */
  readonly functionHeader: string;
  /** Lower-case. */
  readonly tokenHeader: string;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly tlsClientCa: string | null;
  readonly tokenKey: readonly string[];
  readonly tokenIssuer: string;
  readonly tokenAdmin: readonly string[];
  readonly redisUrl: string | null;
  readonly revocationMaxStaleness: number; // ms
  readonly logFile: string | null;
  readonly logLevel: LogLevel;
  readonly auditChain: boolean;
  readonly drainTimeout: number; // ms
  readonly maxMessageBytes: number;
  readonly maxConcurrentStreams: number;
  /** The config file's `identity:` block (bearer JWT identities), validated; null when absent. */
  readonly identity: unknown;
  /** Folder of the config file, for relative paths inside `identity:`. */
  readonly configDir: string;
}
