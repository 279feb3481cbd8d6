/**
 * Explain: everything known about one logged decision — the identity and where it came
 * from, the function and its sources, the mandate with owner and purpose, the action that
 * matched or (for a denial) the nearest action and what differed, and the task and token.
 * With the policy set the action details come from the documents; without it, from the
 * log alone.
 */
import type { ActionSpec, MandateDoc, PolicySet, SourceLocation } from '../policy/model.js';
import { isoTime, type LogEntry } from './logs.js';
import { compareAction, findMatchingAction, requestOf, type ActionComparison, type LoggedRequest } from './match.js';

export interface ExplainedAction {
  readonly function: string;
  /** 0-based index within the function. */
  readonly index: number;
  readonly target: string;
  readonly methods: readonly string[];
  readonly paths: readonly string[];
  readonly location: SourceLocation;
  readonly matches: ActionComparison;
  /** Plain-language differences, empty for a match. */
  readonly differs: readonly string[];
}

export interface Explanation {
  readonly decisionId: string | null;
  readonly time: string | null;
  readonly decision: 'allow' | 'deny';
  readonly reason: string | null;
  readonly dryRun: boolean;
  readonly wouldDeny: string | null;
  readonly detail: string | null;
  readonly identity: { readonly source: string | null; readonly via: string | null; readonly issuer: string | null };
  readonly request: {
    readonly requestId: string | null;
    readonly method: string | null;
    readonly target: string | null;
    readonly host: string | null;
    readonly destination: string | null;
    readonly path: string | null;
  };
  readonly function: {
    readonly name: string | null;
    readonly via: string | null;
    readonly header: string | null;
    readonly route: string | null;
    readonly tokenScope: string | null;
  };
  readonly mandate: {
    readonly name: string | null;
    readonly subject: string | null;
    readonly owner: string | null;
    readonly purpose: string | null;
    readonly risk: string | null;
    readonly mode: string | null;
    readonly reviewBy: string | null;
    readonly location: SourceLocation | null;
  };
  /** The matched action (allowed) — or null. */
  readonly matchedAction: ExplainedAction | null;
  /** For a denial with a known mandate and the policy set: the closest action. */
  readonly nearestAction: ExplainedAction | null;
  /** Matched action index as logged, when the policy set was not given. */
  readonly loggedActionIndex: number | null;
  readonly token: {
    readonly txn: string | null;
    readonly sha256: string | null;
    readonly subject: string | null;
    readonly scope: string | null;
    readonly issuedAt: string | null;
    readonly expiresAt: string | null;
    readonly ttlSeconds: number | null;
  } | null;
  readonly log: { readonly file: string; readonly line: number; readonly policyRevision: string | null; readonly durationUs: number | null };
  /** Set when the policies given are not the revision that decided. */
  readonly revisionNote: string | null;
}

function differences(a: ActionSpec, req: LoggedRequest, c: ActionComparison): string[] {
  const out: string[] = [];
  if (!c.target) out.push(`target: request went to ${req.destination ?? req.host ?? 'an unknown target'}, action allows ${a.target}`);
  if (!c.method) out.push(`method: ${req.method ?? 'none'} is not in [${a.methods.join(', ')}]`);
  if (!c.path) out.push(`path: ${req.path ?? 'none'} matches none of ${a.paths.join(', ')}`);
  return out;
}

function describe(fnName: string, index: number, a: ActionSpec, req: LoggedRequest): ExplainedAction {
  const matches = compareAction(a, req);
  return { function: fnName, index, target: a.target, methods: a.methods, paths: a.paths, location: a.location, matches, differs: differences(a, req, matches) };
}

/** The action closest to the request: target weighs most, then path, then method; the claimed function first. */
export function nearestAction(m: MandateDoc, fnName: string | null, req: LoggedRequest): ExplainedAction | null {
  const own = m.functions.filter((f) => f.name === fnName);
  const pool = own.length > 0 ? own : m.functions;
  let best: ExplainedAction | null = null;
  let bestScore = -1;
  for (const f of pool) {
    f.actions.forEach((a, i) => {
      const c = compareAction(a, req);
      const score = (c.target ? 4 : 0) + (c.path ? 2 : 0) + (c.method ? 1 : 0);
      if (score > bestScore) {
        bestScore = score;
        best = describe(f.name, i, a, req);
      }
    });
  }
  return best;
}

const isoSeconds = (s: number | null): string | null => (s === null ? null : isoTime(s * 1000));

export function explainEntry(e: LogEntry, set: PolicySet | null): Explanation {
  const req = requestOf(e);
  const m =
    set === null
      ? undefined
      : (set.mandates.find((x) => x.name === e.mandate) ?? (e.source === null ? undefined : set.mandates.find((x) => x.subject === e.source)));
  let matched: ExplainedAction | null = null;
  let nearest: ExplainedAction | null = null;
  if (m !== undefined) {
    const fn = m.functions.find((f) => f.name === e.function);
    if (e.reason === 'ALLOWED' || (e.reason === 'TOKEN_REQUIRED' && fn !== undefined)) {
      const idx = fn === undefined ? -1 : e.action !== null && e.action >= 0 ? e.action : findMatchingAction(fn.actions, req);
      if (fn !== undefined && idx >= 0 && idx < fn.actions.length) matched = describe(fn.name, idx, fn.actions[idx]!, req);
    }
    if (matched === null && e.reason !== 'ALLOWED') nearest = nearestAction(m, e.function ?? e.headerFunction ?? e.routeFunction, req);
  }
  const hasToken = e.tokenSha256 !== null || e.txn !== null;
  const revisionNote =
    set !== null && e.policyRevision !== null && e.policyRevision !== set.revision
      ? `decided under policy revision ${e.policyRevision}; the policies given are revision ${set.revision}`
      : null;
  return {
    decisionId: e.decisionId,
    time: isoTime(e.time),
    decision: e.decision,
    reason: e.reason,
    dryRun: e.dryRun,
    wouldDeny: e.wouldDeny,
    detail: e.detail,
    identity: { source: e.source, via: e.identityVia, issuer: e.issuer },
    request: { requestId: e.requestId, method: e.method, target: e.target, host: e.host, destination: e.destination, path: e.path },
    function: { name: e.function, via: e.functionVia, header: e.headerFunction, route: e.routeFunction, tokenScope: e.tokenScope },
    mandate: {
      name: m?.name ?? e.mandate,
      subject: m?.subject ?? (e.mandate !== null ? e.source : null),
      owner: m?.owner ?? e.owner,
      purpose: m?.purpose ?? e.purpose,
      risk: m?.risk ?? e.risk,
      mode: m?.mode ?? null,
      reviewBy: m?.reviewByText ?? null,
      location: m?.location ?? null,
    },
    matchedAction: matched,
    nearestAction: nearest,
    loggedActionIndex: e.action,
    token: hasToken
      ? {
          txn: e.txn,
          sha256: e.tokenSha256,
          subject: e.tokenSub,
          scope: e.tokenScope,
          issuedAt: isoSeconds(e.tokenIat),
          expiresAt: isoSeconds(e.tokenExp),
          ttlSeconds: e.tokenIat !== null && e.tokenExp !== null ? e.tokenExp - e.tokenIat : null,
        }
      : null,
    log: { file: e.file, line: e.line, policyRevision: e.policyRevision, durationUs: e.durationUs },
    revisionNote,
  };
}

const loc = (l: SourceLocation) => `${l.file}:${l.line}:${l.column}`;

export function formatExplanation(x: Explanation): string {
  const out: string[] = [];
  const verdict = x.decision === 'allow' ? 'ALLOW' : 'DENY';
  out.push(`decision ${x.decisionId ?? '?'} at ${x.time ?? 'unknown time'}: ${verdict} (${x.reason ?? 'no reason logged'})` + (x.dryRun ? ` [dry run${x.wouldDeny === null ? '' : `; would deny ${x.wouldDeny}`}]` : ''));
  if (x.detail !== null) out.push(`  cause:    ${x.detail}`);
  out.push(`identity:   ${x.identity.source ?? 'none'} via ${x.identity.via ?? 'unknown'}${x.identity.issuer === null ? '' : ` (issuer ${x.identity.issuer})`}`);
  const r = x.request;
  out.push(
    `request:    ${r.method ?? '-'} ${r.path ?? '-'} to ${r.target ?? '-'}` +
      (r.host !== null && r.host !== r.target ? ` (host ${r.host})` : '') +
      (r.destination !== null && r.destination !== r.target ? ` (destination ${r.destination})` : '') +
      (r.requestId === null ? '' : `, request id ${r.requestId}`),
  );
  const f = x.function;
  const sources = [f.header === null ? null : `header=${f.header}`, f.route === null ? null : `route=${f.route}`, f.tokenScope === null ? null : `token scope=${f.tokenScope}`].filter((s) => s !== null);
  out.push(`function:   ${f.name ?? 'none'}${f.via === null ? '' : ` via ${f.via}`}${sources.length > 0 ? ` (${sources.join(', ')})` : ''}`);
  const m = x.mandate;
  if (m.name === null) out.push('mandate:    none');
  else {
    out.push(`mandate:    ${m.name}${m.location === null ? '' : ` (${loc(m.location)})`}`);
    out.push(`  owner:    ${m.owner ?? '-'}; risk ${m.risk ?? '-'}${m.mode === null ? '' : `; mode ${m.mode}`}${m.reviewBy === null ? '' : `; review by ${m.reviewBy}`}`);
    out.push(`  purpose:  ${m.purpose ?? '-'}`);
  }
  const act = (a: ExplainedAction) => `#${a.index + 1} of ${a.function}: ${a.methods.join(',')} ${a.target} ${a.paths.join(' ')} (${loc(a.location)})`;
  if (x.matchedAction !== null) out.push(`action:     matched ${act(x.matchedAction)}`);
  else if (x.nearestAction !== null) {
    out.push(`action:     none matched; nearest ${act(x.nearestAction)}`);
    for (const d of x.nearestAction.differs) out.push(`  differs:  ${d}`);
  } else if (x.loggedActionIndex !== null && x.loggedActionIndex >= 0) {
    out.push(`action:     #${x.loggedActionIndex + 1} of ${f.name ?? '?'} (pass --policies for its details)`);
  } else out.push('action:     none');
  if (x.token === null) out.push('task token: none');
  else {
    const t = x.token;
    out.push(`task token: txn ${t.txn ?? '-'}, sha256 ${t.sha256 ?? '-'}`);
    if (t.subject !== null || t.scope !== null) out.push(`  claims:   sub ${t.subject ?? '-'}, scope ${t.scope ?? '-'}, issued ${t.issuedAt ?? '-'}, expires ${t.expiresAt ?? '-'}${t.ttlSeconds === null ? '' : ` (ttl ${t.ttlSeconds}s)`}`);
  }
  out.push(`log:        ${x.log.file}:${x.log.line}, policy revision ${x.log.policyRevision ?? '-'}${x.log.durationUs === null ? '' : `, ${x.log.durationUs} us`}`);
  if (x.revisionNote !== null) out.push(`note:       ${x.revisionNote}`);
  return `${out.join('\n')}\n`;
}
