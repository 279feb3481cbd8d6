/**
 * PolicySet → the index the decision reads (src/policy/compiled.ts). Everything that can
 * be decided from policy text alone is decided here, once: subjects become Map keys,
 * targets are normalised (and grouped by target in functions with many actions), method
 * lists become Sets, path templates are pre-split. A lookup then costs one Map get, a
 * short scan and a few segment comparisons, however many mandates there are.
 */
import type {
  ActionRequest,
  CompiledFunction,
  CompiledMandate,
  CompiledPolicy,
} from './compiled.js';
import { normalizeHost } from './hosts.js';
import type { HostPort } from './hosts.js';
import type { ActionSpec, FunctionSpec, MandateDoc, PolicySet } from './model.js';
import { compilePathTemplate, matchPathTemplateIn } from './paths.js';
import type { PathTemplate } from './paths.js';
import { spiffeTrustDomain } from '../identity/spiffe.js';

/** One action, ready to match. */
interface CompiledAction {
  /** Index in FunctionSpec.actions, returned by matchAction. */
  readonly index: number;
  /** The target: a SPIFFE ID, or a normalised host name. */
  readonly key: string;
  readonly spiffe: boolean;
  /** 0 for a host target without port (any port matches), else the port required. */
  readonly port: number;
  /** null for `["*"]`. */
  readonly methods: ReadonlySet<string> | null;
  readonly templates: readonly PathTemplate[];
}

const NO_ACTIONS: readonly CompiledAction[] = Object.freeze([]);

/**
 * Functions with at most this many actions are matched by scanning them in order; larger
 * ones get a Map by target. A short scan touches less memory than a Map and its table,
 * which at 100,000 mandates is what a decision waits for.
 */
const SCAN_LIMIT = 8;

function targetMatches(a: CompiledAction, req: ActionRequest): boolean {
  if (a.spiffe) return a.key === req.destinationPrincipal;
  return a.key === req.host && (a.port === 0 || a.port === req.port);
}

function methodAndPathMatch(a: CompiledAction, req: ActionRequest): boolean {
  if (a.methods !== null && !a.methods.has(req.method)) return false;
  const t = a.templates;
  for (let j = 0; j < t.length; j++) {
    if (matchPathTemplateIn(t[j]!, req.path, req.pathEnd)) return true;
  }
  return false;
}

/** The first action of `list` (in declaration order) matching the request, or -1. */
function firstMatch(list: readonly CompiledAction[], req: ActionRequest): number {
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (targetMatches(a, req) && methodAndPathMatch(a, req)) return a.index;
  }
  return -1;
}

class Fn implements CompiledFunction {
  readonly tokenRequired: boolean;
  readonly maxTokenTtlSeconds: number;

  constructor(
    readonly spec: FunctionSpec,
    /** Every action, in declaration order. */
    private readonly actions: readonly CompiledAction[],
    /** For large functions only: the actions of each target, in declaration order. */
    private readonly byTarget: ReadonlyMap<string, readonly CompiledAction[]> | null,
  ) {
    this.tokenRequired = spec.taskToken === 'required';
    this.maxTokenTtlSeconds = spec.maxTokenTtlSeconds;
  }

  /**
   * The first action in declaration order (SPEC) matching target, method and path.
   * Large functions look up the request's principal and host and take the earlier of the
   * two candidates. Allocation-free.
   */
  matchAction(req: ActionRequest): number {
    if (this.byTarget === null) return firstMatch(this.actions, req);
    const p = req.destinationPrincipal === '' ? -1 : firstMatch(this.byTarget.get(req.destinationPrincipal) ?? NO_ACTIONS, req);
    const h = req.host === null ? -1 : firstMatch(this.byTarget.get(req.host) ?? NO_ACTIONS, req);
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
    /** Function names and their compiled functions, in the same order; few per mandate. */
    private readonly names: readonly string[],
    private readonly fns: readonly CompiledFunction[],
  ) {
    this.dryRun = doc.mode === 'dry-run';
    this.reviewBy = doc.reviewBy ?? Number.POSITIVE_INFINITY;
  }

  fn(name: string): CompiledFunction | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === name) return this.fns[i];
    }
    return undefined;
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

/**
 * Work shared across one compile. Large estates repeat the same paths, method lists and
 * hosts across thousands of mandates; compiled parts are immutable, so one instance serves
 * them all: fewer allocations and a smaller resident index (see docs/policy.md). Whole
 * actions are not shared: their targets vary, and building a key per action cost more
 * compile time (57% of it at 10,000 mandates) than the objects it saved.
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
    list = Object.freeze(out.slice());
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

/** The compiled action at `index` of a function; null when its target is unusable. */
function actionFor(index: number, a: ActionSpec, shared: Shared): CompiledAction | null {
  const templates = templatesFor(a.paths, shared);
  const methods = methodsFor(a.methods, shared);
  if (a.target.startsWith('spiffe://')) return { index, key: a.target, spiffe: true, port: 0, methods, templates };
  const hp = hostFor(a.target, shared);
  // null: refused by the validator; never matches.
  return hp === null ? null : { index, key: hp.host, spiffe: false, port: hp.port ?? 0, methods, templates };
}

function compileFunction(spec: FunctionSpec, shared: Shared): CompiledFunction {
  const actions: CompiledAction[] = [];
  for (let index = 0; index < spec.actions.length; index++) {
    const a = actionFor(index, spec.actions[index]!, shared);
    if (a !== null) actions.push(a);
  }
  let byTarget: Map<string, CompiledAction[]> | null = null;
  if (actions.length > SCAN_LIMIT) {
    // SPIFFE IDs contain "://" and host names cannot, so one Map holds both kinds.
    byTarget = new Map();
    for (const a of actions) {
      const list = byTarget.get(a.key);
      if (list === undefined) byTarget.set(a.key, [a]);
      else list.push(a);
    }
  }
  // slice(): an exact-size copy; arrays grown by push keep spare capacity.
  return new Fn(spec, actions.slice(), byTarget);
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
    const names: string[] = [];
    const fns: CompiledFunction[] = [];
    for (const f of doc.functions) {
      // The validator refuses repeated function names; should one slip through, the first wins.
      if (names.includes(f.name)) continue;
      names.push(f.name);
      fns.push(compileFunction(f, shared));
    }
    // The validator refuses duplicate subjects; should one slip through, the first wins.
    if (!bySubject.has(doc.subject)) bySubject.set(doc.subject, new Mandate(doc, names.slice(), fns.slice()));
    const td = spiffeTrustDomain(doc.subject);
    if (td !== null) domains.add(td);
  }
  return new Policy(set, bySubject, domains);
}
