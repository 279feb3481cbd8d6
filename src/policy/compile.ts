/**
 * PolicySet → the index the decision reads (src/policy/compiled.ts). Everything that can
 * be decided from policy text alone is decided here, once: subjects and functions become
 * Map keys, targets are normalised and grouped (SPIFFE targets by principal, hosts by
 * host name), method lists become Sets, path templates are pre-split. A lookup then costs
 * a few Map gets and segment comparisons, however many mandates there are.
 */
import type {
  ActionRequest,
  CompiledFunction,
  CompiledMandate,
  CompiledPolicy,
} from './compiled.js';
import { normalizeHost } from './hosts.js';
import type { FunctionSpec, MandateDoc, PolicySet } from './model.js';
import { compilePathTemplate, matchPathTemplate } from './paths.js';
import type { PathTemplate } from './paths.js';
import { trustDomainOf } from './spiffe-syntax.js';

/** One action, ready to match. */
interface CompiledAction {
  /** Index in FunctionSpec.actions, returned by matchAction. */
  readonly index: number;
  /** 0 for a host target without port (any port matches), else the port required. */
  readonly port: number;
  /** null for `["*"]`. */
  readonly methods: ReadonlySet<string> | null;
  readonly templates: readonly PathTemplate[];
}

const NO_ACTIONS: readonly CompiledAction[] = Object.freeze([]);

/** The first action of `list` (kept in declaration order) matching method and path, or -1. */
function firstMatch(list: readonly CompiledAction[], req: ActionRequest, hostPort: boolean): number {
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (hostPort && a.port !== 0 && a.port !== req.port) continue;
    if (a.methods !== null && !a.methods.has(req.method)) continue;
    const t = a.templates;
    for (let j = 0; j < t.length; j++) {
      if (matchPathTemplate(t[j]!, req.segments)) return a.index;
    }
  }
  return -1;
}

class Fn implements CompiledFunction {
  readonly tokenRequired: boolean;
  readonly maxTokenTtlSeconds: number;

  constructor(
    readonly spec: FunctionSpec,
    private readonly byPrincipal: ReadonlyMap<string, readonly CompiledAction[]>,
    private readonly byHost: ReadonlyMap<string, readonly CompiledAction[]>,
  ) {
    this.tokenRequired = spec.taskToken === 'required';
    this.maxTokenTtlSeconds = spec.maxTokenTtlSeconds;
  }

  /**
   * Actions are indexed by target, so only those naming the request's principal or host
   * are tried; of the two candidates, the one declared first wins (SPEC: first match in
   * declaration order). Allocation-free.
   */
  matchAction(req: ActionRequest): number {
    const p = req.destinationPrincipal === '' ? -1 : firstMatch(this.byPrincipal.get(req.destinationPrincipal) ?? NO_ACTIONS, req, false);
    const h = req.host === null ? -1 : firstMatch(this.byHost.get(req.host) ?? NO_ACTIONS, req, true);
    if (p < 0) return h;
    if (h < 0) return p;
    return p < h ? p : h;
  }
}

class Mandate implements CompiledMandate {
  readonly dryRun: boolean;
  readonly reviewBy: number;

  constructor(
    readonly doc: MandateDoc,
    private readonly fns: ReadonlyMap<string, CompiledFunction>,
  ) {
    this.dryRun = doc.mode === 'dry-run';
    this.reviewBy = doc.reviewBy ?? Number.POSITIVE_INFINITY;
  }

  fn(name: string): CompiledFunction | undefined {
    return this.fns.get(name);
  }
}

class Policy implements CompiledPolicy {
  readonly revision: string;
  readonly mandateCount: number;

  constructor(
    readonly set: PolicySet,
    private readonly bySubject: ReadonlyMap<string, CompiledMandate>,
    readonly subjectTrustDomains: ReadonlySet<string>,
  ) {
    this.revision = set.revision;
    this.mandateCount = bySubject.size;
  }

  mandateFor(subject: string): CompiledMandate | undefined {
    return this.bySubject.get(subject);
  }
}

function push(map: Map<string, CompiledAction[]>, key: string, action: CompiledAction): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [action]);
  else list.push(action);
}

function compileFunction(spec: FunctionSpec, methodSets: Map<string, ReadonlySet<string>>): CompiledFunction {
  const byPrincipal = new Map<string, CompiledAction[]>();
  const byHost = new Map<string, CompiledAction[]>();
  spec.actions.forEach((a, index) => {
    const templates: PathTemplate[] = [];
    for (const p of a.paths) {
      // The validator has already refused bad templates; one that still fails never matches.
      const r = compilePathTemplate(p);
      if (r.template !== null) templates.push(r.template);
    }
    let methods: ReadonlySet<string> | null = null;
    if (!(a.methods.length === 1 && a.methods[0] === '*')) {
      // Method lists repeat across actions; share one frozen Set per distinct list.
      const key = a.methods.join(' ');
      methods = methodSets.get(key) ?? null;
      if (methods === null) {
        methods = new Set(a.methods);
        methodSets.set(key, methods);
      }
    }
    if (a.target.startsWith('spiffe://')) {
      push(byPrincipal, a.target, { index, port: 0, methods, templates });
      return;
    }
    const hp = normalizeHost(a.target);
    if (hp === null) return; // refused by the validator; never matches
    push(byHost, hp.host, { index, port: hp.port ?? 0, methods, templates });
  });
  return new Fn(spec, byPrincipal, byHost);
}

/**
 * Builds the index of a validated PolicySet. Not on the request path; callers compile a
 * set off the hot path and swap the result in whole.
 */
export function compilePolicy(set: PolicySet): CompiledPolicy {
  const bySubject = new Map<string, CompiledMandate>();
  const domains = new Set<string>();
  const methodSets = new Map<string, ReadonlySet<string>>();
  for (const doc of set.mandates) {
    const fns = new Map<string, CompiledFunction>();
    for (const f of doc.functions) {
      if (!fns.has(f.name)) fns.set(f.name, compileFunction(f, methodSets));
    }
    // The validator refuses duplicate subjects; should one slip through, the first wins.
    if (!bySubject.has(doc.subject)) bySubject.set(doc.subject, new Mandate(doc, fns));
    const td = trustDomainOf(doc.subject);
    if (td !== null) domains.add(td);
  }
  return new Policy(set, bySubject, domains);
}
