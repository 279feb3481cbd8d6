/**
 * The Check RPC handler: request → facts → identity → token verdict → decision →
 * response. It never throws into grpc-js and never fails the RPC: an unexpected failure
 * becomes an INTERNAL_ERROR denial with a fixed body. Recording (decision log, metrics)
 * happens after the answer is handed to grpc-js and cannot change it.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { evaluate, internalErrorDecision, type EvaluateEnv } from '../decision/evaluate.js';
import type { Decision, RequestFacts } from '../decision/types.js';
import { UNDECODABLE_CHECK_REQUEST } from '../envoy/check-request-codec.js';
import { extractFacts, type HeaderNames } from '../envoy/facts.js';
import { toCheckResponse } from '../envoy/response.js';
import { resolveIdentity, type IdentityOptions } from '../identity/resolve.js';
import type { IdentityResult } from '../identity/types.js';
import type { TokenVerdict } from '../tokens/types.js';

export interface CheckDeps {
  readonly headerNames: HeaderNames;
  /** The current policy and its environment; null until the first set has loaded. */
  readonly env: () => EvaluateEnv | null;
  readonly identity: IdentityOptions;
  /** Task-token verification is synchronous (node:crypto on prepared keys). */
  readonly tokens: { verifySync(token: string, nowMs: number): TokenVerdict };
  readonly now: () => number;
  /** Called once per decision after the response was sent; must not throw. */
  readonly record: (decision: Decision, facts: RequestFacts | null, token: TokenVerdict | null, durationUs: number, nowMs: number) => void;
  /** Called with an unexpected failure (for the operational log and a counter). */
  readonly onInternalError: (err: unknown) => void;
  /**
   * Decision → what the callback receives. Default toCheckResponse (an object, which
   * `mandate check` prints); the server passes encodeCheckResponse (bytes, passed through
   * by its registered responseSerialize).
   */
  readonly encodeResponse?: (decision: Decision) => object;
}

const UNDECODABLE_DETAIL = 'the message is not a CheckRequest (it could not be decoded)';

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown }).then === 'function';
}

export function createCheckHandler(deps: CheckDeps): grpc.handleUnaryCall<unknown, unknown> {
  const elapsedUs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;
  const encode = deps.encodeResponse ?? toCheckResponse;

  const finish = (
    callback: grpc.sendUnaryData<unknown>,
    decision: Decision,
    facts: RequestFacts | null,
    token: TokenVerdict | null,
    t0: bigint,
    nowMs: number,
  ): void => {
    let response: object;
    try {
      response = encode(decision);
    } catch (err) {
      deps.onInternalError(err);
      decision = internalErrorDecision(decision.decisionId, facts, decision.policyRevision);
      response = encode(decision);
    }
    // The duration is the decision's, from the request in hand to the response encoded;
    // grpc-js's own send (HTTP/2 framing and the socket write) happens inside callback()
    // and shows in end-to-end latency, not here.
    const durationUs = elapsedUs(t0);
    callback(null, response);
    try {
      deps.record(decision, facts, token, durationUs, nowMs);
    } catch (err) {
      deps.onInternalError(err);
    }
  };

  const fail = (
    callback: grpc.sendUnaryData<unknown>,
    err: unknown,
    id: string,
    facts: RequestFacts | null,
    env: EvaluateEnv | null,
    t0: bigint,
    nowMs: number,
  ): void => {
    deps.onInternalError(err);
    finish(callback, internalErrorDecision(id, facts, env === null ? null : env.policy.revision), facts, null, t0, nowMs);
  };

  return (call, callback) => {
    const t0 = process.hrtime.bigint();
    const nowMs = deps.now();
    const id = randomUUID();
    let facts: RequestFacts | null = null;
    let env: EvaluateEnv | null = null;
    try {
      facts = extractFacts(call.request, deps.headerNames);
      env = deps.env();
      if (env === null) {
        fail(callback, new Error('no policy loaded'), id, facts, null, t0, nowMs);
        return;
      }
      const identity = resolveIdentity(facts, deps.identity, env.trustedDomains, nowMs);
      const token = facts.taskToken === null ? null : deps.tokens.verifySync(facts.taskToken, nowMs);
      if (!isPromise(identity)) {
        // Fast path: everything synchronous, no promise allocated.
        const decision = evaluate(env, { facts, identity, token }, nowMs, id);
        // Undecodable bytes read as a request without attributes (BAD_REQUEST); the log says why.
        finish(callback, call.request === UNDECODABLE_CHECK_REQUEST ? { ...decision, detail: UNDECODABLE_DETAIL } : decision, facts, token, t0, nowMs);
        return;
      }
      // Only a bearer JWT identity (SPEC section 4 item 4) needs to wait for a key set.
      const f = facts;
      const e = env;
      identity.then(
        (idr: IdentityResult) => {
          let decision: Decision;
          try {
            decision = evaluate(e, { facts: f, identity: idr, token }, nowMs, id);
          } catch (err) {
            fail(callback, err, id, f, e, t0, nowMs);
            return;
          }
          finish(callback, decision, f, token, t0, nowMs);
        },
        (err: unknown) => fail(callback, err, id, f, e, t0, nowMs),
      );
    } catch (err) {
      fail(callback, err, id, facts, env, t0, nowMs);
    }
  };
}
