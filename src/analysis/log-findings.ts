/**
 * Findings from decision logs (SPEC section 9): unused mandates and actions within a
 * window, token-chaining attempts, dry-run would-deny summaries, and the observations
 * behind suggested mandates. Entries are fed one at a time, so memory grows with the
 * number of distinct mandates, actions and subjects, not with the log's size.
 */
import type { MandateDoc, PolicySet, SourceLocation } from '../policy/model.js';
import { makeFinding, type Finding, type FindingMandate, type FindingTarget } from './findings.js';
import { isoTime, type LogEntry } from './logs.js';
import { findMatchingAction, requestOf } from './match.js';
import { mandateRef } from './policy-findings.js';
import { SuggestionBuilder, type SuggestedMandate } from './suggest.js';
import { TargetCatalog, parseTarget } from './targets.js';

export interface LogWindowOptions {
  /** Epoch ms; entries before are ignored. null: from the log's first entry. */
  readonly since: number | null;
  /** Epoch ms; entries after are ignored. null: to the log's last entry. */
  readonly until: number | null;
}

export interface LogAnalysis {
  readonly findings: Finding[];
  readonly suggestions: SuggestedMandate[];
  /** The window actually covered, as ISO strings (null when no entry had a time). */
  readonly since: string | null;
  readonly until: string | null;
  readonly entriesInWindow: number;
}

const IDENTITY_REASONS = new Set(['BAD_REQUEST', 'NO_IDENTITY', 'INVALID_IDENTITY', 'UNTRUSTED_DOMAIN']);
const EXAMPLES = 3;

interface Tally {
  count: number;
  first: LogEntry;
  examples: string[];
  targets: Set<string>;
}

/** The token subject of a TOKEN_SUBJECT_MISMATCH entry: the extra, else read from the detail. */
function tokenSubjectOf(e: LogEntry): string | null {
  if (e.tokenSub !== null) return e.tokenSub;
  const m = e.detail === null ? null : /token subject (spiffe:\/\/\S+)/.exec(e.detail);
  return m === null ? null : m[1]!;
}

const logLocation = (e: LogEntry): SourceLocation => ({ file: e.file, line: e.line, column: 1 });

export class LogAnalyzer {
  private readonly byName = new Map<string, MandateDoc>();
  private readonly bySubject = new Map<string, MandateDoc>();
  private readonly usedMandates = new Set<string>();
  private readonly usedActions = new Set<string>();
  private readonly chaining = new Map<string, Tally & { presenter: string; tokenSub: string | null }>();
  private readonly dryRun = new Map<string, Tally & { mandate: string | null; source: string | null; reason: string }>();
  private readonly suggestions = new SuggestionBuilder();
  private readonly catalog: TargetCatalog;
  private first: number | null = null;
  private last: number | null = null;
  private inWindow = 0;

  constructor(
    private readonly set: PolicySet,
    private readonly window: LogWindowOptions,
  ) {
    this.catalog = new TargetCatalog(set.targets);
    for (const m of set.mandates) {
      this.byName.set(m.name, m);
      this.bySubject.set(m.subject, m);
    }
  }

  add(e: LogEntry): void {
    if (e.time !== null) {
      if (this.window.since !== null && e.time < this.window.since) return;
      if (this.window.until !== null && e.time > this.window.until) return;
      if (this.first === null || e.time < this.first) this.first = e.time;
      if (this.last === null || e.time > this.last) this.last = e.time;
    }
    this.inWindow++;
    const m = (e.mandate !== null ? this.byName.get(e.mandate) : undefined) ?? (e.source !== null ? this.bySubject.get(e.source) : undefined);
    if (m !== undefined) this.usedMandates.add(m.name);

    if (m !== undefined && e.reason === 'ALLOWED' && e.function !== null) {
      const fn = m.functions.find((f) => f.name === e.function);
      if (fn !== undefined) {
        const idx = e.action !== null && e.action >= 0 ? e.action : findMatchingAction(fn.actions, requestOf(e));
        if (idx >= 0) this.usedActions.add(`${m.name}\u0000${fn.name}\u0000${idx}`);
      }
    }

    if ((e.reason === 'TOKEN_SUBJECT_MISMATCH' || e.wouldDeny === 'TOKEN_SUBJECT_MISMATCH') && e.source !== null) {
      const tokenSub = tokenSubjectOf(e);
      const key = `${e.source}\u0000${tokenSub ?? ''}`;
      const t = this.chaining.get(key) ?? { count: 0, first: e, examples: [], targets: new Set(), presenter: e.source, tokenSub };
      this.tally(t, e);
      this.chaining.set(key, t);
    }

    if (e.dryRun && e.wouldDeny !== null) {
      const mandate = m?.name ?? e.mandate;
      const key = `${mandate ?? ''}\u0000${mandate === null ? (e.source ?? '') : ''}\u0000${e.wouldDeny}`;
      const t = this.dryRun.get(key) ?? { count: 0, first: e, examples: [], targets: new Set(), mandate, source: e.source, reason: e.wouldDeny };
      this.tally(t, e);
      this.dryRun.set(key, t);
    }

    if (e.dryRun && e.source !== null && !IDENTITY_REASONS.has(e.reason ?? '') && e.method !== null && e.path !== null) {
      const req = requestOf(e);
      const target = req.destination ?? (e.target ?? req.host);
      if (target !== null) {
        this.suggestions.observe(e.source, {
          function: e.function ?? e.headerFunction ?? e.routeFunction,
          target,
          method: e.method,
          path: e.path,
          time: e.time,
        });
      }
    }
  }

  private tally(t: Tally, e: LogEntry): void {
    t.count++;
    if (t.examples.length < EXAMPLES && e.decisionId !== null) t.examples.push(e.decisionId);
    const target = e.target ?? e.host;
    if (target !== null && t.targets.size < 10) t.targets.add(target);
  }

  private targetRef(raw: string): FindingTarget {
    const ref = parseTarget(raw);
    return { name: this.catalog.lookup(ref)?.name ?? null, id: ref.id };
  }

  private targetsOf(t: Tally): FindingTarget[] {
    return [...t.targets].sort().map((id) => this.targetRef(id));
  }

  finish(): LogAnalysis {
    const findings: Finding[] = [];
    const since = isoTime(this.window.since ?? this.first);
    const until = isoTime(this.window.until ?? this.last);
    const range = `between ${since ?? 'the start'} and ${until ?? 'the end'} of the logs`;

    if (this.inWindow > 0) {
      for (const m of this.set.mandates) {
        if (!this.usedMandates.has(m.name)) {
          findings.push(makeFinding('UNUSED_MANDATE', 'medium', `${m.name} made no request ${range}`, [mandateRef(m)], [], null, m.location));
          continue;
        }
        for (const fn of m.functions) {
          fn.actions.forEach((a, i) => {
            if (this.usedActions.has(`${m.name}\u0000${fn.name}\u0000${i}`)) return;
            findings.push(
              makeFinding(
                'UNUSED_ACTION',
                'low',
                `${m.name}/${fn.name} action ${i + 1} (${a.methods.join(',')} ${a.target} ${a.paths.join(' ')}) was never allowed ${range}`,
                [mandateRef(m)],
                [this.targetRef(a.target)],
                null,
                a.location,
              ),
            );
          });
        }
      }
    }

    for (const t of this.chaining.values()) {
      const mandates: FindingMandate[] = [];
      const presenter = this.bySubject.get(t.presenter);
      if (presenter !== undefined) mandates.push(mandateRef(presenter));
      const owner = t.tokenSub === null ? undefined : this.bySubject.get(t.tokenSub);
      if (owner !== undefined && owner !== presenter) mandates.push(mandateRef(owner));
      findings.push(
        makeFinding(
          'TOKEN_CHAINING_ATTEMPT',
          'high',
          `${t.presenter} presented a task token issued to ${t.tokenSub ?? 'another subject'} ${t.count} time(s); first ${t.first.decisionId ?? '?'} at ${isoTime(t.first.time) ?? '?'}; examples ${t.examples.join(', ')}`,
          mandates,
          this.targetsOf(t),
          null,
          presenter?.location ?? logLocation(t.first),
        ),
      );
    }

    for (const t of this.dryRun.values()) {
      const m = t.mandate === null ? undefined : this.byName.get(t.mandate);
      const who = t.mandate ?? t.source ?? 'an unidentified caller';
      findings.push(
        makeFinding(
          'DRY_RUN_WOULD_DENY',
          'medium',
          `${who}: ${t.count} request(s) allowed in dry run would be denied with ${t.reason}; examples ${t.examples.join(', ')}`,
          m !== undefined ? [mandateRef(m)] : t.mandate !== null && t.source !== null ? [{ name: t.mandate, id: t.source }] : [],
          this.targetsOf(t),
          null,
          m?.location ?? logLocation(t.first),
        ),
      );
    }

    return {
      findings,
      suggestions: this.suggestions.build((s) => this.bySubject.get(s)),
      since,
      until,
      entriesInWindow: this.inWindow,
    };
  }
}

