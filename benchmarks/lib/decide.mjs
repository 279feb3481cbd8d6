/**
 * The per-request decision path the in-process benchmarks time: extractFacts →
 * resolveIdentity → evaluate from dist/, on a decoded CheckRequest, as the server's Check
 * handler runs it (no token, no revocations).
 */
import { extractFacts } from '../../dist/envoy/facts.js';
import { resolveIdentity } from '../../dist/identity/resolve.js';
import { evaluate } from '../../dist/decision/evaluate.js';

const HEADER_NAMES = Object.freeze({ functionHeader: 'x-business-function', tokenHeader: 'txn-token' });
const IDENTITY_OPTS = Object.freeze({ trustXfcc: false, bearer: null });

/** The evaluation environment of a compiled policy, trusting its subjects' trust domains. */
export function benchEnv(policy) {
  return Object.freeze({
    policy,
    trustedDomains: policy.subjectTrustDomains,
    globalDryRun: false,
    revocations: { isRevoked: () => false, isStale: () => false },
  });
}

/** The Decision for one decoded CheckRequest. */
export function decide(env, request, nowMs) {
  const facts = extractFacts(request, HEADER_NAMES);
  const identity = resolveIdentity(facts, IDENTITY_OPTS, env.trustedDomains, nowMs);
  return evaluate(env, { facts, identity, token: null }, nowMs, 'bench-decision-id');
}
