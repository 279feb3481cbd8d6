/**
 * Replay: every logged request re-evaluated against a proposed policy set with the
 * server's own `evaluate`, and the differences grouped by mandate and reason.
 *
 * What the log gives back: the identity as established (`source`, `identity_via`; its
 * trust is re-checked against the proposed set's trust domains), the request's target,
 * method, path and function sources (the extras `host`, `destination`,
 * `header_function`, `route_function`), and the token as the verifier judged it: a token
 * whose claims were logged verified, so it is replayed as verified with those claims;
 * otherwise its logged failure stands. Revocation is taken as it was. Review dates are
 * judged at the logged time. Identity failures other than an untrusted domain, and
 * internal errors, do not depend on policy and are carried over unchanged.
 */
import type { EvaluateInput } from '../decision/evaluate.js';
import { evaluate } from '../decision/evaluate.js';
import type { Decision, RequestFacts } from '../decision/types.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { compareText } from '../policy/diagnostics.js';
import { isoTime, type LogEntry } from './logs.js';
import { requestOf } from './match.js';
import { trustDomainOf } from './targets.js';

type IdentityResult = EvaluateInput['identity'];
type TokenVerdict = NonNullable<EvaluateInput['token']>;
type Via = IdentityResult['via'];

const VIAS = new Set(['principal', 'certificate', 'xfcc', 'jwt-svid', 'oidc']);

function factsFromLog(e: LogEntry): RequestFacts {
  const req = requestOf(e);
  const via = e.functionVia ?? '';
  return {
    hasHttp: e.reason !== 'BAD_REQUEST',
    principal: e.source ?? '',
    certificate: '',
    destinationPrincipal: req.destination ?? '',
    host: req.host ?? '',
    method: e.method ?? '',
    path: e.path ?? '',
    requestId: e.requestId,
    xfcc: null,
    authorization: null,
    functionHeader: e.headerFunction ?? (via.includes('header') ? e.function : null),
    routeFunction: e.routeFunction ?? (via.includes('route') ? e.function : null),
    // The token itself is never logged; its verdict travels separately (tokenFromLog).
    taskToken: e.tokenSha256 === null ? null : `sha256:${e.tokenSha256}`,
  };
}

function identityFromLog(e: LogEntry, trusted: ReadonlySet<string>): IdentityResult {
  const via = (e.identityVia !== null && VIAS.has(e.identityVia) ? e.identityVia : null) as Via;
  const base = { spiffeId: e.source, trustDomain: e.source === null ? null : trustDomainOf(e.source), via, issuer: e.issuer, tokenSha256: null };
  if (e.reason === 'NO_IDENTITY' || e.reason === 'INVALID_IDENTITY') return { ...base, reason: e.reason, detail: e.detail };
  if (e.source === null || base.trustDomain === null) return { ...base, reason: 'NO_IDENTITY', detail: 'no identity in the log' };
  if (!trusted.has(base.trustDomain)) return { ...base, reason: 'UNTRUSTED_DOMAIN', detail: `trust domain ${base.trustDomain} is not trusted` };
  return { ...base, reason: null, detail: null };
}

function tokenFromLog(e: LogEntry): TokenVerdict | null {
  if (e.tokenSha256 === null) return null;
  if (e.tokenSub !== null) {
    return {
      ok: true,
      sha256: e.tokenSha256,
      claims: {
        iss: 'mandate',
        aud: trustDomainOf(e.tokenSub) ?? '',
        sub: e.tokenSub,
        scope: e.tokenScope ?? '',
        txn: e.txn ?? '',
        jti: '',
        iat: e.tokenIat ?? 0,
        exp: e.tokenExp ?? 0,
        tctx: null,
        req_wl: e.tokenSub,
      },
    };
  }
  return {
    ok: false,
    reason: e.reason === 'TOKEN_EXPIRED' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID',
    detail: e.detail ?? 'token did not verify when logged',
    sha256: e.tokenSha256,
    txn: e.txn,
  };
}

export interface ReplayExample {
  readonly decisionId: string | null;
  readonly time: string | null;
  readonly source: string | null;
  readonly method: string | null;
  readonly target: string | null;
  readonly path: string | null;
  readonly function: string | null;
  readonly was: string;
  readonly now: string;
  readonly detail: string | null;
}

export interface ReplayGroup {
  readonly mandate: string | null;
  /** The new reason for newly denied and changed groups; the old one for newly allowed. */
  readonly reason: string;
  readonly count: number;
  readonly examples: readonly ReplayExample[];
}

export interface ReplayResult {
  readonly revision: string;
  readonly total: number;
  readonly replayed: number;
  readonly unchanged: number;
  /** Entries whose outcome does not depend on policy (internal errors, no reason logged). */
  readonly skipped: number;
  readonly newlyDenied: readonly ReplayGroup[];
  readonly newlyAllowed: readonly ReplayGroup[];
  readonly reasonChanged: readonly ReplayGroup[];
}

interface MutableGroup {
  mandate: string | null;
  reason: string;
  count: number;
  examples: ReplayExample[];
}

export class Replayer {
  private total = 0;
  private replayed = 0;
  private unchanged = 0;
  private skipped = 0;
  private readonly denied = new Map<string, MutableGroup>();
  private readonly allowed = new Map<string, MutableGroup>();
  private readonly changed = new Map<string, MutableGroup>();
  private readonly trusted: ReadonlySet<string>;

  constructor(
    private readonly policy: CompiledPolicy,
    trustedDomains: ReadonlySet<string> | null,
    private readonly maxExamples = 3,
  ) {
    this.trusted = trustedDomains ?? policy.subjectTrustDomains;
  }

  /** Re-evaluates one entry; returns the new decision, or null when it was skipped. */
  add(e: LogEntry): Decision | null {
    this.total++;
    if (e.reason === null || e.reason === 'INTERNAL_ERROR') {
      this.skipped++;
      return null;
    }
    const revoked = e.reason === 'TOKEN_REVOKED';
    const stale = e.reason === 'REVOCATION_UNAVAILABLE';
    const d = evaluate(
      {
        policy: this.policy,
        trustedDomains: this.trusted,
        globalDryRun: false,
        revocations: { isRevoked: () => revoked, isStale: () => stale },
      },
      { facts: factsFromLog(e), identity: identityFromLog(e, this.trusted), token: tokenFromLog(e) },
      e.time ?? Date.now(),
      e.decisionId ?? `${e.file}:${e.line}`,
    );
    this.replayed++;
    const was = e.reason;
    const now = d.reason;
    if (was === now) {
      this.unchanged++;
      return d;
    }
    const mandate = d.mandate ?? e.mandate;
    const example: ReplayExample = {
      decisionId: e.decisionId,
      time: isoTime(e.time),
      source: e.source,
      method: e.method,
      target: e.target ?? e.host,
      path: e.path,
      function: d.function ?? e.function,
      was,
      now,
      detail: d.detail,
    };
    if (was === 'ALLOWED') this.bump(this.denied, mandate, now, example);
    else if (now === 'ALLOWED') this.bump(this.allowed, mandate, was, example);
    else this.bump(this.changed, mandate, `${was} -> ${now}`, example);
    return d;
  }

  private bump(map: Map<string, MutableGroup>, mandate: string | null, reason: string, ex: ReplayExample): void {
    const key = `${mandate ?? ''}\u0000${reason}`;
    const g = map.get(key) ?? { mandate, reason, count: 0, examples: [] };
    g.count++;
    if (g.examples.length < this.maxExamples) g.examples.push(ex);
    map.set(key, g);
  }

  finish(): ReplayResult {
    const sorted = (m: Map<string, MutableGroup>) =>
      [...m.values()].sort((a, b) => b.count - a.count || compareText(a.mandate ?? '', b.mandate ?? '') || compareText(a.reason, b.reason));
    return {
      revision: this.policy.revision,
      total: this.total,
      replayed: this.replayed,
      unchanged: this.unchanged,
      skipped: this.skipped,
      newlyDenied: sorted(this.denied),
      newlyAllowed: sorted(this.allowed),
      reasonChanged: sorted(this.changed),
    };
  }
}

export function formatReplayText(r: ReplayResult, files: readonly string[]): string {
  const out: string[] = [];
  out.push(
    `Replayed ${r.replayed} of ${r.total} logged decisions from ${files.length} file(s) against revision ${r.revision}: ` +
      `${r.unchanged} unchanged, ${sum(r.newlyDenied)} newly denied, ${sum(r.newlyAllowed)} newly allowed, ${sum(r.reasonChanged)} with another denial reason, ${r.skipped} skipped.`,
  );
  const section = (title: string, groups: readonly ReplayGroup[]) => {
    if (groups.length === 0) return;
    out.push('', `${title}:`);
    for (const g of groups) {
      out.push(`  ${g.mandate ?? '(no mandate)'}  ${g.reason}  ${g.count} request(s)`);
      for (const ex of g.examples) {
        out.push(
          `    e.g. ${ex.decisionId ?? '?'} ${ex.time ?? ''} ${ex.source ?? '-'} ${ex.method ?? '-'} ${ex.target ?? '-'} ${ex.path ?? '-'}` +
            ` function=${ex.function ?? '-'} was ${ex.was}, now ${ex.now}${ex.detail === null ? '' : ` (${ex.detail})`}`,
        );
      }
    }
  };
  section('Newly denied', r.newlyDenied);
  section('Newly allowed', r.newlyAllowed);
  section('Denied for another reason', r.reasonChanged);
  return `${out.join('\n')}\n`;
}

function sum(groups: readonly ReplayGroup[]): number {
  return groups.reduce((n, g) => n + g.count, 0);
}
