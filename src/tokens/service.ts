/**
 * The mandate.v1.TaskTokens gRPC service (SPEC section 8): Issue, Complete, Revoke.
 *
 * The caller is whoever the verified mTLS client certificate names (exactly one URI SAN, a
 * valid SPIFFE ID); the request body never names an identity. Refusals carry a gRPC status
 * and a fixed message that says what was refused, never why internally. Handlers never
 * throw into grpc-js: an unexpected failure is INTERNAL with a fixed message.
 *
 * Complete and ownership: this replica remembers txn -> {sub, exp} of the tokens it issued,
 * and a shared (Redis) store records them for all replicas. A txn known to neither (issued
 * before a restart, or while Redis was down) is completed only when the request also
 * carries the task's token and that token verifies, names this txn and has the caller as
 * `sub`. Otherwise the answer is PERMISSION_DENIED, the same as for
 * another workload's task, so callers cannot probe which tasks exist.
 */
import * as grpc from '@grpc/grpc-js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { isTaskContext } from './issue.js';
import { CLOCK_SKEW_SECONDS, FUNCTION_NAME, LATEST_UNKNOWN_EXP_MS, MAX_TASK_CONTEXT_BYTES, MAX_TOKEN_TTL_SECONDS, TASK_ID } from './limits.js';
import { taskTokensDefinition } from './proto.js';
import { uriSans } from '../identity/certificate.js';
import { spiffeTrustDomain } from '../identity/spiffe.js';
import { RevocationNotSharedError, type RevocationStore } from './store.js';
import { structToJson } from './struct.js';
import type { TokenLogger, TokenSigner, TokenVerifier } from './types.js';

export interface TaskTokenServiceDeps {
  getPolicy(): CompiledPolicy | null;
  readonly signer: TokenSigner;
  readonly revocations: RevocationStore;
  /** SPIFFE IDs allowed to call Revoke (--token-admin). */
  readonly admins: ReadonlySet<string>;
  now(): number;
  /** For mandate_tokens_issued_total{function}. */
  onIssued(fn: string): void;
  /** For mandate_tokens_revoked_total: once per task ended by Complete or Revoke. */
  onRevoked(): void;
  /** Lets Complete accept a txn this replica did not issue, on proof of the token. */
  readonly verifier?: TokenVerifier;
  readonly logger?: TokenLogger;
}

export interface TaskTokenService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Tasks issued here and still remembered (tests, metrics). */
  issuedCount(): number;
  /** Stops the sweep timer. */
  close(): void;
}

interface IssuedRecord {
  readonly sub: string;
  readonly expMs: number;
}

type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

const S = grpc.status;
/** Fixed messages: what went wrong for the caller, nothing about the server's internals. */
const MSG = {
  noIdentity: 'a client certificate with exactly one SPIFFE ID URI SAN is required',
  noPolicy: 'no policy is loaded yet',
  noMandate: 'no mandate binds the caller',
  mandateExpired: "the caller's mandate is past its review date",
  undeclared: "the caller's mandate does not declare this function",
  badFunction: 'function must be a function name ([a-z0-9][a-z0-9._-]{0,62})',
  badContext: `task_context must be a JSON object of at most ${MAX_TASK_CONTEXT_BYTES} bytes`,
  badTxn: 'txn must be 1-128 printable ASCII characters',
  notOwner: 'the task is not known to belong to the caller',
  notAdmin: 'the caller is not a token admin',
  notShared: 'the revocation holds on this replica but could not be shared with the others yet; retry',
  internal: 'internal error',
} as const;

export function createTaskTokenService(deps: TaskTokenServiceDeps): TaskTokenService {
  const issued = new Map<string, IssuedRecord>();
  const log = deps.logger;
  const sweeper = setInterval(() => {
    const t = deps.now();
    for (const [txn, rec] of issued) if (rec.expMs + CLOCK_SKEW_SECONDS * 1000 <= t) issued.delete(txn);
  }, 60_000);
  sweeper.unref();

  async function issue(call: Call): Promise<[grpc.status, string] | Record<string, unknown>> {
    const caller = peerSpiffeId(call);
    if (caller === null) return [S.UNAUTHENTICATED, MSG.noIdentity];
    const req = call.request;
    const fnName = req['function'];
    if (typeof fnName !== 'string' || !FUNCTION_NAME.test(fnName)) return [S.INVALID_ARGUMENT, MSG.badFunction];
    const ttlRequested = req['ttl_seconds'];
    if (typeof ttlRequested !== 'number' || !Number.isInteger(ttlRequested) || ttlRequested < 0) {
      return [S.INVALID_ARGUMENT, 'ttl_seconds must be a non-negative integer'];
    }
    let tctx: Record<string, unknown> | null = null;
    if (req['task_context'] !== null && req['task_context'] !== undefined) {
      tctx = structToJson(req['task_context']);
      if (tctx === null || !isTaskContext(tctx)) return [S.INVALID_ARGUMENT, MSG.badContext];
    }
    const policy = deps.getPolicy();
    if (policy === null) return [S.UNAVAILABLE, MSG.noPolicy];
    const mandate = policy.mandateOf(caller);
    if (mandate === -1) return [S.PERMISSION_DENIED, MSG.noMandate];
    const nowMs = deps.now();
    if (nowMs >= policy.reviewBy(mandate)) return [S.PERMISSION_DENIED, MSG.mandateExpired];
    const fn = policy.functionOf(mandate, fnName);
    if (fn === -1) return [S.PERMISSION_DENIED, MSG.undeclared];

    const max = Math.min(policy.maxTokenTtlSeconds(fn), MAX_TOKEN_TTL_SECONDS);
    // Read now: a MandateRef is good only until the policy's next lookup, which a Check
    // handled during the awaits below would make.
    const mandateName = policy.mandateName(mandate);
    const ttl = ttlRequested === 0 ? max : Math.min(ttlRequested, max);
    const { token, claims } = await deps.signer.issue({ sub: caller, scope: fnName, ttlSeconds: ttl, tctx, reqWl: caller }, nowMs);
    issued.set(claims.txn, { sub: caller, expMs: claims.exp * 1000 });
    await deps.revocations.recordIssued?.(claims.txn, caller, claims.exp * 1000);
    deps.onIssued(fnName);
    log?.info({ txn: claims.txn, sub: caller, function: fnName, ttl_seconds: ttl, mandate: mandateName }, 'task token issued');
    return { token, txn: claims.txn, expires_at: claims.exp, ttl_seconds: ttl };
  }

  async function complete(call: Call): Promise<[grpc.status, string] | Record<string, unknown>> {
    const caller = peerSpiffeId(call);
    if (caller === null) return [S.UNAUTHENTICATED, MSG.noIdentity];
    const txn = call.request['txn'];
    if (typeof txn !== 'string' || !TASK_ID.test(txn)) return [S.INVALID_ARGUMENT, MSG.badTxn];
    const known = await knownTask(txn);
    if (known !== null) {
      if (known.sub !== caller) return [S.PERMISSION_DENIED, MSG.notOwner];
      return endTask(txn, known.expMs, caller, 'completed');
    }
    const token = call.request['token'];
    if (deps.verifier === undefined || typeof token !== 'string' || token === '') return [S.PERMISSION_DENIED, MSG.notOwner];
    const verdict = await deps.verifier.verify(token, deps.now());
    // An expired token needs no completing, but it still proves ownership: accept it.
    if (!verdict.ok || verdict.claims.txn !== txn || verdict.claims.sub !== caller) return [S.PERMISSION_DENIED, MSG.notOwner];
    const expMs = verdict.claims.exp * 1000;
    return endTask(txn, expMs, caller, 'completed');
  }

  async function revoke(call: Call): Promise<[grpc.status, string] | Record<string, unknown>> {
    const caller = peerSpiffeId(call);
    if (caller === null) return [S.UNAUTHENTICATED, MSG.noIdentity];
    if (!deps.admins.has(caller)) return [S.PERMISSION_DENIED, MSG.notAdmin];
    const txn = call.request['txn'];
    if (typeof txn !== 'string' || !TASK_ID.test(txn)) return [S.INVALID_ARGUMENT, MSG.badTxn];
    // A known task's key lives for the token's remaining lifetime (SPEC 8). Unknown (issued
    // by the CLI): its tokens expire at most one lifetime plus the skew on iat from now.
    const expMs = (await knownTask(txn))?.expMs ?? deps.now() + LATEST_UNKNOWN_EXP_MS;
    return endTask(txn, expMs, caller, 'revoked');
  }

  /** A task issued by this replica, or by another one that recorded it in the shared store. */
  async function knownTask(txn: string): Promise<{ sub: string; expMs: number } | null> {
    const local = issued.get(txn);
    if (local !== undefined) return local;
    const shared = deps.revocations.issuedTo === undefined ? null : await deps.revocations.issuedTo(txn);
    return shared === null ? null : { sub: shared.sub, expMs: shared.expiresAtMs };
  }

  async function endTask(txn: string, expMs: number, caller: string, how: string): Promise<[grpc.status, string] | Record<string, unknown>> {
    const already = deps.revocations.isRevoked(txn);
    try {
      await deps.revocations.revoke(txn, expMs);
    } catch (err) {
      if (!(err instanceof RevocationNotSharedError)) throw err;
      if (!already) deps.onRevoked();
      log?.warn({ txn, by: caller }, `task ${how} locally; revocation not shared yet`);
      return [S.UNAVAILABLE, MSG.notShared];
    }
    if (!already) deps.onRevoked();
    log?.info({ txn, by: caller }, `task ${how}`);
    return {};
  }

  function handler(name: string, run: (call: Call) => Promise<[grpc.status, string] | Record<string, unknown>>) {
    return (call: Call, callback: Callback): void => {
      let result: Promise<[grpc.status, string] | Record<string, unknown>>;
      try {
        result = run(call);
      } catch (err) {
        result = Promise.reject(err);
      }
      result.then(
        (r) => {
          if (Array.isArray(r)) callback({ code: r[0], details: r[1] });
          else callback(null, r);
        },
        (err: unknown) => {
          log?.warn({ rpc: name, error: err instanceof Error ? err.message : String(err) }, 'task token service: internal error');
          callback({ code: S.INTERNAL, details: MSG.internal });
        },
      );
    };
  }

  return {
    definition: taskTokensDefinition(),
    implementation: {
      Issue: handler('Issue', issue),
      Complete: handler('Complete', complete),
      Revoke: handler('Revoke', revoke),
    } as grpc.UntypedServiceImplementation,
    issuedCount: () => issued.size,
    close: () => clearInterval(sweeper),
  };
}

/**
 * The caller's SPIFFE ID from the verified client certificate: exactly one URI SAN, valid,
 * on a leaf (not a CA). grpc-js reports a certificate only when TLS verified it.
 */
export function peerSpiffeId(call: { getAuthContext?: () => unknown }): string | null {
  let cert: { subjectaltname?: unknown; ca?: unknown } | undefined;
  try {
    const ctx = call.getAuthContext?.() as { sslPeerCertificate?: { subjectaltname?: unknown; ca?: unknown } } | null | undefined;
    cert = ctx?.sslPeerCertificate;
  } catch {
    return null;
  }
  if (cert === undefined || cert === null || cert.ca === true) return null;
  // Node's SAN text, read by the identity stage's parser (quoted values, exactly one URI).
  const uris = typeof cert.subjectaltname === 'string' ? uriSans(cert.subjectaltname) : null;
  if (uris === null || uris.length !== 1) return null;
  const uri = uris[0] as string;
  return spiffeTrustDomain(uri) !== null ? uri : null;
}
