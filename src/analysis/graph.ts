/**
 * The access graph: one node per subject and per target, one edge per declared action
 * (subject → target). A SPIFFE target that is itself a mandate subject is the same node,
 * so paths continue through it. Target documents give each node its sensitivity,
 * environment and capabilities. Built once per analysis; the path search reads the
 * adjacency arrays only.
 */
import type { ActionSpec, Capability, FunctionSpec, MandateDoc, PolicySet, Sensitivity, TargetDoc } from '../policy/model.js';
import { TargetCatalog, parseTarget, targetsOverlap, trustDomainOf, type TargetRef } from './targets.js';

export interface GraphNode {
  readonly index: number;
  readonly id: string;
  readonly ref: TargetRef;
  /** The mandate whose subject this node is, else null. */
  readonly mandate: MandateDoc | null;
  /** The Target document describing this node, else null. */
  readonly targetDoc: TargetDoc | null;
  /** Mandate name for a subject, else the Target document's name, else null. */
  readonly name: string | null;
  /** From the Target document; `medium` (the SPEC default) when none describes the node. */
  readonly sensitivity: Sensitivity;
  readonly environment: string | null;
  /** True when the environment is only the default (the trust domain), not a written label. */
  readonly environmentDefaulted: boolean;
  readonly capabilities: readonly Capability[];
}

export interface GraphEdge {
  readonly from: number;
  readonly to: number;
  readonly mandate: MandateDoc;
  readonly fn: FunctionSpec;
  readonly action: ActionSpec;
  readonly actionIndex: number;
}

export interface AccessGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly byId: ReadonlyMap<string, number>;
  /** Distinct successor / predecessor node indices, in edge order. */
  readonly succ: readonly (readonly number[])[];
  readonly pred: readonly (readonly number[])[];
  /** Edge indices leaving each node. */
  readonly outEdges: readonly (readonly number[])[];
}

/**
 * A subject's environment: the Target document that describes the subject, else its
 * mandate's `environment` label, else its trust domain. A target's: its Target document
 * (which defaults to the trust domain), else the trust domain, else unknown (null).
 */
function environmentOf(ref: TargetRef, mandate: MandateDoc | null, doc: TargetDoc | null): string | null {
  if (doc !== null && doc.environment !== null) return doc.environment;
  const label = mandate?.labels['environment'];
  if (label !== undefined && label !== '') return label;
  return trustDomainOf(ref.id);
}

export function buildAccessGraph(set: PolicySet): AccessGraph {
  const catalog = new TargetCatalog(set.targets);
  const nodes: GraphNode[] = [];
  const byId = new Map<string, number>();
  const mandateBySubject = new Map<string, MandateDoc>();
  for (const m of set.mandates) mandateBySubject.set(m.subject, m);

  const nodeFor = (raw: string): number => {
    const ref = parseTarget(raw);
    const found = byId.get(ref.id);
    if (found !== undefined) return found;
    const mandate = ref.spiffe ? (mandateBySubject.get(ref.id) ?? null) : null;
    const doc = catalog.lookup(ref);
    const environment = environmentOf(ref, mandate, doc);
    const node: GraphNode = {
      index: nodes.length,
      id: ref.id,
      ref,
      mandate,
      targetDoc: doc,
      name: mandate !== null ? mandate.name : doc !== null ? doc.name : null,
      sensitivity: doc !== null ? doc.sensitivity : 'medium',
      environment,
      environmentDefaulted: environment !== null && environment === trustDomainOf(ref.id),
      capabilities: doc !== null ? doc.capabilities : [],
    };
    nodes.push(node);
    byId.set(ref.id, node.index);
    return node.index;
  };

  for (const m of set.mandates) nodeFor(m.subject);
  const edges: GraphEdge[] = [];
  for (const m of set.mandates) {
    const from = byId.get(m.subject)!;
    for (const fn of m.functions) {
      fn.actions.forEach((action, actionIndex) => {
        edges.push({ from, to: nodeFor(action.target), mandate: m, fn, action, actionIndex });
      });
    }
  }
  // Targets described but never granted still appear, so the report shows them; a
  // document for `db` is already drawn when an action names `db:5432`.
  const granted = [...nodes];
  for (const t of set.targets) {
    const ref = parseTarget(t.match);
    if (!granted.some((n) => targetsOverlap(n.ref, ref))) nodeFor(t.match);
  }

  const succ: number[][] = nodes.map(() => []);
  const pred: number[][] = nodes.map(() => []);
  const outEdges: number[][] = nodes.map(() => []);
  const seen = new Set<number>();
  edges.forEach((e, i) => {
    outEdges[e.from]!.push(i);
    // from * n + to as one number: pairs are deduplicated without string keys.
    const key = e.from * nodes.length + e.to;
    if (seen.has(key)) return;
    seen.add(key);
    succ[e.from]!.push(e.to);
    pred[e.to]!.push(e.from);
  });
  return { nodes, edges, byId, succ, pred, outEdges };
}

/**
 * Whether two nodes are in the same environment. A defaulted environment (a trust domain
 * such as `prod.example.org`) also answers to its first label (`prod`), so a target labelled
 * `environment: prod` is not reported as crossing from a subject whose only environment is
 * its trust domain; two written labels must be equal.
 */
export function sameEnvironment(a: GraphNode, b: GraphNode): boolean {
  if (a.environment === null || b.environment === null) return true;
  if (a.environment === b.environment) return true;
  const short = (n: GraphNode) => (n.environmentDefaulted ? n.environment!.split('.')[0]! : n.environment!);
  if (a.environmentDefaulted && b.environmentDefaulted) return false;
  return short(a) === short(b);
}

/** True when `subject` has an action whose target could match the same requests as `target`. */
export function hasDirectGrant(graph: AccessGraph, subject: number, target: number): boolean {
  const t = graph.nodes[target]!.ref;
  for (const n of graph.succ[subject]!) {
    if (n === target || targetsOverlap(graph.nodes[n]!.ref, t)) return true;
  }
  return false;
}

/** The first edge (declaration order) from one node to another. */
export function firstEdge(graph: AccessGraph, from: number, to: number): GraphEdge {
  for (const i of graph.outEdges[from]!) {
    const e = graph.edges[i]!;
    if (e.to === to) return e;
  }
  throw new Error(`no edge ${from} -> ${to}`);
}

/**
 * Shortest paths into one node, bounded by depth: a breadth-first search over reversed
 * edges. Searching backwards from the few sensitive targets costs O(targets × edges),
 * where forwards from every subject would cost O(subjects × edges).
 */
export class ReverseSearch {
  private readonly dist: Int32Array;
  private readonly next: Int32Array;
  private touched: number[] = [];

  constructor(private readonly graph: AccessGraph) {
    this.dist = new Int32Array(graph.nodes.length).fill(-1);
    this.next = new Int32Array(graph.nodes.length).fill(-1);
  }

  /** Runs the search into `target`; returns the subjects reached, nearest first. */
  run(target: number, maxDepth: number): number[] {
    for (const n of this.touched) {
      this.dist[n] = -1;
      this.next[n] = -1;
    }
    this.touched = [target];
    this.dist[target] = 0;
    const queue = [target];
    const reached: number[] = [];
    for (let head = 0; head < queue.length; head++) {
      const v = queue[head]!;
      const d = this.dist[v]!;
      if (d >= maxDepth) continue;
      for (const u of this.graph.pred[v]!) {
        if (this.dist[u] !== -1) continue;
        this.dist[u] = d + 1;
        this.next[u] = v;
        this.touched.push(u);
        queue.push(u);
        reached.push(u);
      }
    }
    return reached;
  }

  distance(node: number): number {
    return this.dist[node]!;
  }

  /** Node indices from `from` to the last search's target. */
  path(from: number): number[] {
    const out = [from];
    let n = from;
    while (this.next[n]! !== -1) {
      n = this.next[n]!;
      out.push(n);
    }
    return out;
  }
}
