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
import type { HostPort } from './hosts.js';
import type { FunctionSpec, MandateDoc, PolicySet } from './model.js';
import { compilePathTemplate, matchPathTemplateIn } from './paths.js';
import type { PathTemplate } from './paths.js';
import { spiffeTrustDomain } from '../identity/spiffe.js';

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
      if (matchPathTemplateIn(t[j]!, req.path, req.pathEnd)) return a.index;
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

const EMPTY_INDEX: ReadonlyMap<string, readonly CompiledAction[]> = new Map();

/**
 * Work shared across one compile. Large estates repeat the same paths, method lists and
 * hosts across thousands of mandates; compiled templates, Sets and hosts are immutable, so
 * one instance serves them all (fewer allocations, and 100,000 mandates compile in about a
 * second on the shared 2-core box; see docs/policy.md).
 */
interface Shared {
  readonly templates: Map<string, readonly PathTemplate[]>;
  readonly methods: Map<string, ReadonlySet<string> | null>;
  readonly hosts: Map<string, HostPort | null>;
}

function templatesFor(paths: readonly string[], shared: Shared): readonly PathTemplate[] {
  const key = paths.join('\n'); // a template cannot contain a newline
  let list = shared.templates.get(key);
  if (list === undefined) {
    const out: PathTemplate[] = [];
    for (const p of paths) {
      // The validator has already refused bad templates; one that still fails never matches.
      const r = compilePathTemplate(p);
      if (r.template !== null) out.push(r.template);
    }
    list = Object.freeze(out);
    shared.templates.set(key, list);
  }
  return list;
}

function methodsFor(methods: readonly string[], shared: Shared): ReadonlySet<string> | null {
  const key = methods.join(' ');
  let set = shared.methods.get(key);
  if (set === undefined) {
    set = methods.length === 1 && methods[0] === '*' ? null : new Set(methods);
    shared.methods.set(key, set);
  }
  return set;
}

function hostFor(target: string, shared: Shared): HostPort | null {
  let hp = shared.hosts.get(target);
  if (hp === undefined) {
    hp = normalizeHost(target);
    shared.hosts.set(target, hp);
  }
  return hp;
}

function compileFunction(spec: FunctionSpec, shared: Shared): CompiledFunction {
  let byPrincipal: Map<string, CompiledAction[]> | null = null;
  let byHost: Map<string, CompiledAction[]> | null = null;
  const actions = spec.actions;
  for (let index = 0; index < actions.length; index++) {
    const a = actions[index]!;
    const templates = templatesFor(a.paths, shared);
    const methods = methodsFor(a.methods, shared);
    if (a.target.startsWith('spiffe://')) {
      push((byPrincipal ??= new Map()), a.target, { index, port: 0, methods, templates });
      continue;
    }
    const hp = hostFor(a.target, shared);
    if (hp === null) continue; // refused by the validator; never matches
    push((byHost ??= new Map()), hp.host, { index, port: hp.port ?? 0, methods, templates });
  }
  return new Fn(spec, byPrincipal ?? EMPTY_INDEX, byHost ?? EMPTY_INDEX);
}

/**
 * Builds the index of a validated PolicySet. Not on the request path; callers compile a
 * set off the hot path and swap the result in whole.
 */
export function compilePolicy(set: PolicySet): CompiledPolicy {
  const bySubject = new Map<string, CompiledMandate>();
  const domains = new Set<string>();
  const shared: Shared = { templates: new Map(), methods: new Map(), hosts: new Map() };
  for (const doc of set.mandates) {
    const fns = new Map<string, CompiledFunction>();
    for (const f of doc.functions) {
      if (!fns.has(f.name)) fns.set(f.name, compileFunction(f, shared));
    }
    // The validator refuses duplicate subjects; should one slip through, the first wins.
    if (!bySubject.has(doc.subject)) bySubject.set(doc.subject, new Mandate(doc, fns));
    const td = spiffeTrustDomain(doc.subject);
    if (td !== null) domains.add(td);
  }
  return new Policy(set, bySubject, domains);
}
