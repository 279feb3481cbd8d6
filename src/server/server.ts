/**
 * Wires the parts into a running mandate: the gRPC port (ext_authz Check, health, task
 * tokens; plaintext, TLS or mTLS with certificates re-read from disk), the HTTP port
 * (health, metrics, JWKS), policy reload on change and SIGHUP, and drain.
 */
import * as grpc from '@grpc/grpc-js';
import type http from 'node:http';
import type { Config } from '../config/config.js';
import { authorizationServiceDefinition } from '../envoy/protos.js';
import { createCheckRequestDecoder } from '../envoy/check-request-codec.js';
import { encodeCheckResponse, serializeCheckResponse } from '../envoy/check-response-codec.js';
import { factsHeaderNames } from '../envoy/facts.js';
import { createCheckHandler } from './check.js';
import { createHttpServer, listenHttp } from './http.js';
import { PolicyState, type ReloadOutcome } from './policy-state.js';
import { formatDiagnostic } from '../policy/diagnostics.js';
import type { Diagnostic } from '../policy/model.js';
import { createHealthService } from './health.js';
import { watchPolicyPaths } from './watch.js';
import { createMetrics } from '../metrics/metrics.js';
import { createDecisionLog, createOpsLogger, logFileProblem, type OpsLogger } from '../audit/index.js';
import { loadKeyRing, ephemeralKeyRing, type KeyRing } from '../tokens/keys.js';
import { createTokenVerifier } from '../tokens/verify.js';
import { createTokenSigner } from '../tokens/issue.js';
import { createMemoryRevocationStore } from '../tokens/revocation-memory.js';
import { createRedisRevocationStore } from '../tokens/revocation-redis.js';
import type { RevocationStore } from '../tokens/store.js';
import { createTaskTokenService } from '../tokens/service.js';
import { createBearerIdentity, parseIdentityConfig, type BearerIdentityHandle } from '../identity/bearer/index.js';
import { buildServerCredentials, type CredentialsHandle } from './tls.js';

/** The share of the drain bound kept for closing after the checks (at most a fifth of it). */
const CLOSE_RESERVE_MS = 1000;

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    /** Exit status: 1 for an invalid policy set, 2 for bad configuration. */
    readonly exitCode: 1 | 2,
    readonly lines: readonly string[],
  ) {
    super(message);
  }
}

export interface ServerOptions {
  /** Injected clock (ms); defaults to Date.now. */
  readonly now?: () => number;
  /** Operational log destination; defaults to stderr. */
  readonly opsLogger?: OpsLogger;
}

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly policyRevision: () => string | null;
  reload(): Promise<ReloadOutcome>;
  /** Health NOT_SERVING, stop accepting, let in-flight checks finish (bounded), close everything. */
  drain(timeoutMs?: number): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const log = options.opsLogger ?? createOpsLogger(config.logLevel);

  const metrics = createMetrics({ now });

  // --- configuration that can fail: collect every problem, then stop with exit 2 ---
  const problems: string[] = [];
  let ring: KeyRing | null = null;
  if (config.tokenKey.length > 0) {
    const r = await loadKeyRing(config.tokenKey);
    if (r.ok) ring = r.ring;
    else problems.push(...r.errors);
  }
  let bearer: BearerIdentityHandle | null = null;
  if (config.identity !== null && config.identity !== undefined) {
    const parsed = parseIdentityConfig(config.identity, config.configDir);
    if (parsed.value === null || parsed.errors.length > 0) problems.push(...parsed.errors);
    else
      bearer = createBearerIdentity(parsed.value, {
        now,
        onFetchError: (issuer: string, detail: string) => {
          metrics.jwksFetchError(issuer);
          log.warn({ issuer, detail }, 'key set fetch failed');
        },
      });
  }
  if (config.logFile !== null) {
    const problem = logFileProblem(config.logFile);
    if (problem !== null) problems.push(`--log-file ${config.logFile}: ${problem}`);
  }
  let credentials: CredentialsHandle | null = null;
  try {
    credentials = buildServerCredentials(config);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  if (problems.length > 0) {
    bearer?.close();
    throw new StartupError('bad configuration', 2, problems);
  }
  if (ring === null) {
    ring = await ephemeralKeyRing();
    log.warn('no --token-key configured: generated an ephemeral task-token signing key (tokens will not verify on other replicas or after a restart)');
  }
  const keyRing = ring;

  const revocations: RevocationStore =
    config.redisUrl === null
      ? createMemoryRevocationStore()
      : createRedisRevocationStore({
          url: config.redisUrl,
          maxStalenessMs: config.revocationMaxStaleness,
          // The store logs link changes itself; the metric follows them.
          onStateChange: (link: 'up' | 'down') => metrics.setRevocationLinkUp(link === 'up'),
          logger: log,
        });

  const auditLog = createDecisionLog({
    destination: config.logFile === null ? 'stdout' : { file: config.logFile },
    level: config.logLevel,
    chain: config.auditChain,
    onDrop: (n: number) => metrics.auditDropped(n),
    onError: (err: unknown) => log.error({ err: String(err) }, 'decision-log sink failed; decisions continue, lines are counted as dropped'),
  });

  // --- policy ---
  const state = new PolicyState({
    paths: config.policies,
    trustDomains: config.trustDomain,
    globalDryRun: config.mode === 'dry-run',
    revocations,
    onReload: (o) => {
      if (o.ok) {
        metrics.policyLoaded(o.revision, o.mandates, true);
        if (o.changed) log.info({ revision: o.revision, mandates: o.mandates }, 'policy loaded');
      } else {
        metrics.policyLoaded(null, 0, false);
        log.error({ diagnostics: o.diagnostics.map((d: Diagnostic) => formatDiagnostic(d)) }, 'policy set rejected; the last good set keeps serving');
      }
    },
  });
  // Watch before the first load: a change made while it loads then triggers a reload
  // instead of falling between the load and the watcher's baseline.
  const watcher = watchPolicyPaths([...config.policies], () => void state.reload());
  await watcher.ready;
  // What start-up opened besides the servers: released by drain and by a start that fails.
  // `deadline` (epoch ms) bounds the decision log's flush: a blocked sink loses its last
  // lines (counted) rather than hold the shutdown.
  const closeParts = async (deadline = Infinity): Promise<void> => {
    watcher.close();
    bearer?.close();
    await Promise.allSettled([auditLog.close(deadline - Date.now()), revocations.close()]);
  };
  const first = await state.reload();
  if (!first.ok) {
    await closeParts();
    throw new StartupError('invalid policy set', 1, first.diagnostics.map((d) => formatDiagnostic(d)));
  }

  // --- gRPC ---
  const signer = createTokenSigner({ key: keyRing.signing, issuer: config.tokenIssuer });
  const verifier = createTokenVerifier({ keys: keyRing.keys, issuer: config.tokenIssuer });
  const health = createHealthService();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_concurrent_streams': config.maxConcurrentStreams,
    'grpc.keepalive_permit_without_calls': 1,
    // channelz bookkeeping wrapped ~8% of the server's CPU in the benchmark profile
    // (benchmarks/README.md); mandate exposes its own metrics instead.
    'grpc.enable_channelz': 0,
  });
  // Check decodes only what the decision reads and answers with pre-encoded bytes (issue 9:
  // proto-loader's full decode and encode were 23% of CPU at 2,000 checks/s); both codecs
  // fall back to proto-loader wherever it would behave differently. Creating the decoder
  // prepares the codec (and checks the protos' field numbers) once, at start-up.
  const headerNames = { functionHeader: config.functionHeader, tokenHeader: config.tokenHeader };
  // Only the headers the decision reads are decoded (check-request-codec.ts).
  const checkDef = authorizationServiceDefinition({
    requestDeserialize: createCheckRequestDecoder(factsHeaderNames(headerNames)),
    responseSerialize: serializeCheckResponse,
  });
  let inFlight = 0;
  const check = createCheckHandler({
    headerNames,
    env: () => state.env(),
    identity: { trustXfcc: config.trustXfcc, bearer },
    tokens: verifier,
    now,
    record: (decision, facts, token, durationUs, nowMs) => {
      metrics.observeDecision(decision.decision, decision.reason, decision.dryRun, durationUs / 1e6);
      auditLog.writeDecision(decision, facts, token, durationUs, nowMs);
    },
    onInternalError: (err) => {
      metrics.internalError();
      log.error({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, 'internal error in Check');
    },
    encodeResponse: encodeCheckResponse,
  });
  server.addService(checkDef, {
    Check: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      inFlight++;
      check(call, (err, value) => {
        inFlight--;
        callback(err, value);
      });
    },
  });
  server.addService(health.definition, health.implementation);
  const tokenService = createTaskTokenService({
    getPolicy: () => state.policy(),
    signer,
    revocations,
    admins: new Set(config.tokenAdmin),
    now,
    onIssued: (fn: string) => metrics.tokenIssued(fn),
    onRevoked: () => metrics.tokenRevoked(),
    verifier,
    logger: log,
  });
  server.addService(tokenService.definition, tokenService.implementation);

  let grpcPort: number;
  try {
    grpcPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(config.grpcAddr, credentials === null ? grpc.ServerCredentials.createInsecure() : credentials.credentials, (err, port) =>
        err === null ? resolve(port) : reject(new StartupError('cannot listen', 2, [`--grpc-addr ${config.grpcAddr}: ${err.message}`])),
      );
    });
  } catch (err) {
    await closeParts();
    throw err;
  }

  // Certificates are read asynchronously by grpc-js: wait until they are in place.
  if (credentials !== null) await credentials.ready;

  // --- HTTP ---
  let draining = false;
  const httpServer: http.Server = createHttpServer({
    probe: () => ({ loaded: state.env() !== null, draining }),
    metrics: () => metrics.render(),
    jwks: () => keyRing.jwks,
    onError: (err) => log.error({ err: String(err) }, 'metrics rendering failed'),
  });
  let httpPort: number;
  try {
    httpPort = await listenHttp(httpServer, config.httpAddr);
  } catch (err) {
    server.forceShutdown();
    await closeParts();
    throw new StartupError('cannot listen', 2, [`--http-addr ${config.httpAddr}: ${(err as Error).message}`]);
  }

  health.setServing(true);
  log.info({ grpc: `${config.grpcAddr.slice(0, config.grpcAddr.lastIndexOf(':'))}:${grpcPort}`, http: httpPort, revision: first.revision, mandates: first.mandates, tls: credentials === null ? 'off' : config.tlsClientCa === null ? 'tls' : 'mtls', mode: config.mode }, 'mandate serving');

  let drainPromise: Promise<void> | null = null;
  const drain = (timeoutMs = config.drainTimeout): Promise<void> => {
    if (drainPromise !== null) return drainPromise;
    drainPromise = (async () => {
      // SPEC 7: the whole drain ends within the bound. The checks in flight get most of it;
      // the last share is kept for flushing the decision log and closing the rest.
      const deadline = Date.now() + timeoutMs;
      const checksMs = timeoutMs - Math.min(CLOSE_RESERVE_MS, Math.floor(timeoutMs / 5));
      draining = true;
      // NOT_SERVING to every health watcher, and their streams end so tryShutdown can finish.
      health.shutdown();
      watcher.close(); // no reload while draining (closeParts below closes it again, a no-op)
      log.info({ inFlight }, 'draining');
      // tryShutdown sends GOAWAY, refuses new calls and closes each connection once its
      // in-flight calls have finished; the timeout bounds it.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn({ inFlight }, 'drain timeout reached; closing with checks in flight');
          server.forceShutdown();
          resolve();
        }, checksMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      await closeParts(deadline);
      log.info('drained');
    })();
    return drainPromise;
  };

  return {
    grpcPort,
    httpPort,
    policyRevision: () => state.policy()?.revision ?? null,
    reload: () => state.reload(),
    drain,
  };
}
