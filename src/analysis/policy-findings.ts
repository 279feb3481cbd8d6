/**
 * Findings that follow from the policy documents alone (SPEC section 9): paths through the
 * access graph, environment crossings, wildcard actions, missing task tokens, and review
 * dates. Pure: the clock is a parameter.
 */
import { isHighRisk, type MandateDoc, type PolicySet } from '../policy/model.js';
import { makeFinding, type Finding, type FindingMandate, type FindingTarget, type Severity } from './findings.js';
import { ReverseSearch, buildAccessGraph, firstEdge, hasDirectGrant, sameEnvironment, type AccessGraph, type GraphNode } from './graph.js';
import { levelRank, parseTarget } from './targets.js';

export interface PolicyAnalysisOptions {
  /** Epoch milliseconds taken as "now" for review dates. */
  readonly nowMs: number;
  /** Longest path searched, in hops. */
  readonly maxDepth: number;
  /** Cap on LATERAL_PATH + ESCALATION_PATH findings; the summary says when it was hit. */
  readonly maxPathFindings: number;
}

export const DEFAULT_MAX_DEPTH = 6;
export const DEFAULT_MAX_PATH_FINDINGS = 10_000;
const REVIEW_DUE_SOON_MS = 30 * 24 * 3600 * 1000;

export interface PolicyAnalysis {
  readonly graph: AccessGraph;
  readonly findings: Finding[];
  readonly truncated: boolean;
}

const PRIVILEGED = new Set(['mint-credentials', 'edit-policy', 'impersonate']);

export function mandateRef(m: MandateDoc): FindingMandate {
  return { name: m.name, id: m.subject };
}

function nodeTarget(n: GraphNode): FindingTarget {
  return { name: n.targetDoc !== null ? n.targetDoc.name : n.name, id: n.id };
}

function label(n: GraphNode): string {
  return n.name ?? n.id;
}

export function analyzePolicy(set: PolicySet, opts: PolicyAnalysisOptions): PolicyAnalysis {
  const graph = buildAccessGraph(set);
  const findings: Finding[] = [];
  const truncated = pathFindings(graph, opts, findings);
  actionFindings(graph, findings);
  const targetName = (raw: string): FindingTarget => {
    const i = graph.byId.get(parseTarget(raw).id);
    return i === undefined ? { name: null, id: raw } : nodeTarget(graph.nodes[i]!);
  };
  for (const m of set.mandates) mandateFindings(m, opts.nowMs, findings, targetName);
  return { graph, findings, truncated };
}

/** LATERAL_PATH and ESCALATION_PATH; returns true when the cap cut the list short. */
function pathFindings(graph: AccessGraph, opts: PolicyAnalysisOptions, out: Finding[]): boolean {
  const search = new ReverseSearch(graph);
  let count = 0;
  for (const t of graph.nodes) {
    const sensitive = levelRank(t.sensitivity) >= levelRank('high');
    const privileged = t.capabilities.some((c) => PRIVILEGED.has(c));
    if (!sensitive && !privileged) continue;
    const reached = search.run(t.index, opts.maxDepth);
    for (const a of reached) {
      const subject = graph.nodes[a]!;
      if (subject.mandate === null) continue;
      const hops = search.distance(a);
      const lateral = sensitive && hops >= 2 && !hasDirectGrant(graph, a, t.index);
      const escalation = privileged && levelRank(subject.mandate.risk) < levelRank(t.sensitivity);
      if (!lateral && !escalation) continue;
      const pathNodes = search.path(a);
      const path = pathNodes.map((n) => graph.nodes[n]!.id);
      // Every subject along the way lends its mandate to the path.
      const mandates = pathNodes
        .slice(0, -1)
        .map((n) => graph.nodes[n]!.mandate)
        .filter((m): m is MandateDoc => m !== null)
        .map(mandateRef);
      const start = firstEdge(graph, a, pathNodes[1]!).action.location;
      const via = pathNodes.slice(1, -1).map((n) => label(graph.nodes[n]!));
      const viaText = via.length === 0 ? 'directly' : `via ${via.join(' -> ')}`;
      if (lateral) {
        if (count >= opts.maxPathFindings) return true;
        count++;
        out.push(
          makeFinding(
            'LATERAL_PATH',
            t.sensitivity === 'critical' ? 'critical' : 'high',
            `${label(subject)} can reach ${t.sensitivity}-sensitivity target ${label(t)} in ${hops} hops ${viaText} without a direct grant`,
            mandates,
            [nodeTarget(t)],
            path,
            start,
          ),
        );
      }
      if (escalation) {
        if (count >= opts.maxPathFindings) return true;
        count++;
        const caps = t.capabilities.filter((c) => PRIVILEGED.has(c)).join(', ');
        out.push(
          makeFinding(
            'ESCALATION_PATH',
            t.sensitivity === 'critical' ? 'critical' : 'high',
            `${label(subject)} (risk ${subject.mandate.risk}) can reach ${label(t)} (sensitivity ${t.sensitivity}; ${caps}) ${viaText}`,
            mandates,
            [nodeTarget(t)],
            path,
            start,
          ),
        );
      }
    }
  }
  return false;
}

/** CROSS_ENVIRONMENT and BROAD_ACTION, one finding per action. */
function actionFindings(graph: AccessGraph, out: Finding[]): void {
  for (const e of graph.edges) {
    const s = graph.nodes[e.from]!;
    const t = graph.nodes[e.to]!;
    const where = `${e.mandate.name}/${e.fn.name} action ${e.actionIndex + 1}`;
    if (!sameEnvironment(s, t)) {
      out.push(
        makeFinding(
          'CROSS_ENVIRONMENT',
          levelRank(t.sensitivity) >= levelRank('high') ? 'high' : 'medium',
          `${where}: subject in environment ${s.environment} reaches ${label(t)} in environment ${t.environment}`,
          [mandateRef(e.mandate)],
          [nodeTarget(t)],
          null,
          e.action.location,
        ),
      );
    }
    if (levelRank(t.sensitivity) >= levelRank('high')) {
      const anyMethod = e.action.methods.includes('*');
      const broadPaths = e.action.paths.filter((p) => p === '**' || p.endsWith('/**'));
      if (anyMethod || broadPaths.length > 0) {
        const what = [anyMethod ? 'any method (*)' : null, broadPaths.length > 0 ? `paths ${broadPaths.join(', ')}` : null]
          .filter((x) => x !== null)
          .join(' and ');
        out.push(
          makeFinding(
            'BROAD_ACTION',
            t.sensitivity === 'critical' ? 'high' : 'medium',
            `${where} allows ${what} on ${t.sensitivity}-sensitivity target ${label(t)}`,
            [mandateRef(e.mandate)],
            [nodeTarget(t)],
            null,
            e.action.location,
          ),
        );
      }
    }
  }
}

function uniqueTargets(raws: readonly string[], name: (raw: string) => FindingTarget): FindingTarget[] {
  const seen = new Set<string>();
  const out: FindingTarget[] = [];
  for (const r of raws) {
    const t = name(r);
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    out.push(t);
  }
  return out;
}

function mandateFindings(m: MandateDoc, nowMs: number, out: Finding[], targetName: (raw: string) => FindingTarget): void {
  const ref = [mandateRef(m)];
  if (isHighRisk(m.risk)) {
    for (const fn of m.functions) {
      if (fn.taskToken !== 'optional') continue;
      out.push(
        makeFinding(
          'HIGH_RISK_WITHOUT_TOKEN',
          m.risk === 'critical' ? 'high' : 'medium',
          `${m.name}/${fn.name} runs at risk ${m.risk} but its task token is optional`,
          ref,
          uniqueTargets(fn.actions.map((a) => a.target), targetName),
          null,
          fn.location,
        ),
      );
    }
  }
  let code: 'REVIEW_MISSING' | 'REVIEW_OVERDUE' | 'REVIEW_DUE_SOON' | null = null;
  let severity: Severity = 'low';
  let message = '';
  if (m.reviewBy === null) {
    code = 'REVIEW_MISSING';
    severity = 'medium';
    message = `${m.name} has no reviewBy date and never expires`;
  } else if (m.reviewBy <= nowMs) {
    code = 'REVIEW_OVERDUE';
    severity = 'medium';
    message = `${m.name} review date ${m.reviewByText ?? new Date(m.reviewBy).toISOString()} has passed; its requests are denied with MANDATE_EXPIRED`;
  } else if (m.reviewBy - nowMs <= REVIEW_DUE_SOON_MS) {
    code = 'REVIEW_DUE_SOON';
    const days = Math.ceil((m.reviewBy - nowMs) / (24 * 3600 * 1000));
    message = `${m.name} review is due by ${m.reviewByText ?? new Date(m.reviewBy).toISOString()} (in ${days} day${days === 1 ? '' : 's'})`;
  }
  if (code !== null) out.push(makeFinding(code, severity, message, ref, [], null, m.location));
}
