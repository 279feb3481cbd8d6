/**
 * `mandate check --policies PATH --request FILE|-`: evaluates one CheckRequest given in
 * proto3 JSON form with exactly the server's code path (its policy state and its Check
 * handler) and prints the decision and its
 * explanation as one JSON document. Exit 0 allowed, 1 denied, 2 bad input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { loadServeConfig } from '../config/load.js';
import { decisionToLogEntry } from '../audit/entry.js';
import { explainDecision } from '../decision/explain.js';
import { checkRequestJsonErrors } from '../envoy/check-request-json.js';
import type { Decision, RequestFacts } from '../decision/types.js';
import { createBearerIdentity, parseIdentityConfig, type BearerIdentityHandle } from '../identity/bearer/index.js';
import { formatDiagnostic } from '../policy/diagnostics.js';
import { createCheckHandler } from '../server/check.js';
import { PolicyState } from '../server/policy-state.js';
import { loadKeyRing } from '../tokens/keys.js';
import { createMemoryRevocationStore } from '../tokens/revocation-memory.js';
import type { TokenVerdict } from '../tokens/types.js';
import { createTokenVerifier } from '../tokens/verify.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

/** What the handler records of its one decision. */
interface Recorded {
  readonly decision: Decision;
  readonly facts: RequestFacts | null;
  readonly token: TokenVerdict | null;
  readonly durationUs: number;
}

const USAGE = `usage: mandate check --policies PATH [--policies PATH...] --request FILE|- [--now ISO-8601]
       [--mode enforce|dry-run] [--trust-domain TD...] [--trust-xfcc] [--function-header NAME]
       [--token-header NAME] [--token-key F...] [--token-issuer ISS] [--config FILE]
Prints one JSON document; exit 0 allowed, 1 denied, 2 bad input.`;

/**
 * Envoy sends `request.http.headers` with lower-case names (HTTP names are case-insensitive);
 * a request written by hand may say `X-Business-Function`. Names are lower-cased here, as
 * Envoy would, and names equal but for case are joined with ',' as Envoy joins repeats.
 */
function lowerCaseHeaderNames(request: Record<string, unknown>): void {
  const attributes = request['attributes'] as Record<string, unknown> | null | undefined;
  const req = attributes?.['request'] as Record<string, unknown> | null | undefined;
  const http = req?.['http'] as Record<string, unknown> | null | undefined;
  const headers = http?.['headers'] as Record<string, string> | null | undefined;
  if (http === null || http === undefined || headers === null || headers === undefined) return;
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const k = name.toLowerCase();
    lowered[k] = Object.hasOwn(lowered, k) ? `${lowered[k]},${value}` : value;
  }
  http['headers'] = lowered;
}

export const runCheckCommand: Command = async (args: readonly string[], io: CliIO) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE + '\n');
    return EXIT_OK;
  }
  let requestArg: string | null = null;
  let nowText: string | null = null;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--request' || a === '--now') {
      const v = args[i + 1];
      if (v === undefined) {
        io.stderr(`mandate check: ${a} needs a value\n`);
        return EXIT_USAGE;
      }
      if (a === '--request') requestArg = v;
      else nowText = v;
      i++;
    } else if (a.startsWith('--request=')) requestArg = a.slice('--request='.length);
    else if (a.startsWith('--now=')) nowText = a.slice('--now='.length);
    else rest.push(a);
  }
  if (requestArg === null) {
    io.stderr(`mandate check: --request FILE|- is required\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const nowMs = nowText === null ? Date.now() : Date.parse(nowText);
  if (!Number.isFinite(nowMs)) {
    io.stderr(`mandate check: --now ${nowText}: not an ISO-8601 date-time\n`);
    return EXIT_USAGE;
  }
  const { config, errors } = loadServeConfig(rest, io.env, io.cwd);
  if (config === null) {
    for (const e of errors) io.stderr(`mandate check: ${e}\n`);
    return EXIT_USAGE;
  }

  let text: string;
  try {
    text = requestArg === '-' ? await io.readStdin() : readFileSync(path.resolve(io.cwd, requestArg), 'utf8');
  } catch (err) {
    io.stderr(`mandate check: --request ${requestArg}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
    return EXIT_USAGE;
  }
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (err) {
    io.stderr(`mandate check: --request ${requestArg}: not valid JSON (${(err as Error).message})\n`);
    return EXIT_USAGE;
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    io.stderr(`mandate check: --request ${requestArg}: a CheckRequest must be a JSON object\n`);
    return EXIT_USAGE;
  }
  const shapeErrors = checkRequestJsonErrors(request);
  if (shapeErrors.length > 0) {
    for (const e of shapeErrors) io.stderr(`mandate check: --request ${requestArg}: ${e}\n`);
    io.stderr('mandate check: the request must be a CheckRequest in proto3 JSON form (Envoy\'s envoy.service.auth.v3.CheckRequest)\n');
    return EXIT_USAGE;
  }
  lowerCaseHeaderNames(request as Record<string, unknown>);

  // The server's own policy state: the same loading, compiling and trust-domain default.
  const revocations = createMemoryRevocationStore();
  const state = new PolicyState({
    paths: config.policies,
    trustDomains: config.trustDomain,
    globalDryRun: config.mode === 'dry-run',
    revocations,
    onReload: () => undefined,
    keepDocuments: true,
  });
  const loaded = await state.reload();
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.stderr(formatDiagnostic(d) + '\n');
    await revocations.close();
    return EXIT_USAGE;
  }

  const keys = config.tokenKey.length === 0 ? null : await loadKeyRing(config.tokenKey);
  if (keys !== null && !keys.ok) {
    for (const e of keys.errors) io.stderr(`mandate check: ${e}\n`);
    await revocations.close();
    return EXIT_USAGE;
  }
  let bearer: BearerIdentityHandle | null = null;
  if (config.identity !== null && config.identity !== undefined) {
    const parsed = parseIdentityConfig(config.identity, config.configDir);
    if (parsed.value === null || parsed.errors.length > 0) {
      for (const e of parsed.errors) io.stderr(`mandate check: ${e}\n`);
      await revocations.close();
      return EXIT_USAGE;
    }
    bearer = createBearerIdentity(parsed.value, { now: () => nowMs });
  }

  // The Check handler itself, called as grpc-js would call it.
  let recorded: Recorded | null = null;
  let response: unknown = null;
  const handler = createCheckHandler({
    headerNames: { functionHeader: config.functionHeader, tokenHeader: config.tokenHeader },
    env: () => state.env(),
    identity: { trustXfcc: config.trustXfcc, bearer },
    // Without --token-key no key can verify a token: a presented token is TOKEN_INVALID.
    tokens: createTokenVerifier({ keys: keys === null ? [] : keys.ring.keys, issuer: config.tokenIssuer }),
    now: () => nowMs,
    record: (decision, facts, token, durationUs) => {
      recorded = { decision, facts, token, durationUs };
    },
    onInternalError: (err) => io.stderr(`mandate check: internal error: ${err instanceof Error ? err.message : String(err)}\n`),
  });
  try {
    await new Promise<void>((resolve) => {
      handler({ request } as unknown as grpc.ServerUnaryCall<unknown, unknown>, (_err, value) => {
        response = value ?? null;
        resolve();
      });
    });
  } finally {
    bearer?.close();
    await revocations.close();
  }
  const r = recorded as Recorded | null; // set by record(), which the handler calls right after it answers
  if (r === null) throw new Error('the Check handler did not record its decision');
  // The same fields, names and values as the decision log line of this decision.
  const out = {
    ...decisionToLogEntry(r.decision, r.facts, r.token, r.durationUs, nowMs),
    explanation: explainDecision(r.decision, state.policy()?.documents ?? null),
    response,
  };
  io.stdout(JSON.stringify(out, null, 2) + '\n');
  return r.decision.decision === 'allow' ? EXIT_OK : EXIT_FAIL;
};
