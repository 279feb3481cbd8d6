/**
 * PolicySet → the index the decision reads (src/policy/compiled.ts). Everything that can
 * be decided from policy text alone is decided here, once: subjects become Map keys,
 * function names and targets become small integers, targets are normalised, method lists
 * become Sets and path templates are pre-split (both shared by every action that repeats
 * them). A lookup then costs one Map get, a short scan of integers and a few segment
 * comparisons, however many mandates there are.
 *
 * Layout. Each mandate, its functions and their actions sit next to each other in one
 * Int32Array (`code`), in that order; a MandateRef or FunctionRef is an offset into it.
 * At 100,000 mandates a decision's cost was cache and TLB misses, one per object it
 * followed (mandate, document, function, action list, action, target string, ...); here a
 * decision reads one stretch of a few adjacent cache lines plus small shared tables.
 *
 *   mandate at m (m even, so the review date can be read as a float64 at m >> 1):
 *     [m+0, m+1] reviewBy (float64)   [m+2] ordinal   [m+3] flags   [m+4] function count
 *     [m+5] slots of the whole record (header, functions, actions)
 *     [m+6 + 2i] function-name id, [m+7 + 2i] FunctionRef of function i
 *   function at f:
 *     [f+0] flags (token required, has SPIFFE targets, has host targets)
 *     [f+1] maxTokenTtl seconds   [f+2] action count   [f+3] target index or -1
 *     [f+4 + 4j ...] action j: target id, port, method-set id, template-list id
 *
 * Hot copies. Locality within a record is not enough at scale: a hundred thousand
 * records fill ~20 MB, and the few hundred a mesh's active callers use lie scattered over
 * thousands of pages, so each decision paid TLB and cache misses just to reach its record
 * (benchmarks, 600 active callers: spread over 100,000 mandates, 1.28-1.38x the 10-mandate
 * decision without copies, 1.04-1.17x with them). So the first
 * lookup of a subject copies its record into a small arena at the end of `code` (and its
 * strings to the end of `info`), next to the other recently used ones, and hands out the
 * copy. A copy is the same record with its function offsets moved, so every accessor works
 * on it unchanged. The arena is emptied together with the recent-subject table, which is
 * the only holder of copies' offsets; a MandateRef is used only until the next lookup.
 */
import type { ActionRequest, CompiledPolicy, FunctionRef, MandateRef } from './compiled.js';
import { normalizeHost } from './hosts.js';
import type { HostPort } from './hosts.js';
import type { ActionSpec, FunctionSpec, MandateDoc, PolicySet, Risk } from './model.js';
import { compilePathTemplate, matchPathTemplateIn } from './paths.js';
import type { PathTemplate } from './paths.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { spiffeTrustDomain } from '../identity/spiffe.js';

const M_ORDINAL = 2;
const M_FLAGS = 3;
const M_FN_COUNT = 4;
const M_SLOTS = 5;
const M_FN_TABLE = 6;
const M_DRY_RUN = 1;

const F_FLAGS = 0;
const F_MAX_TTL = 1;
const F_ACTION_COUNT = 2;
const F_INDEX = 3;
const F_ACTIONS = 4;
const F_TOKEN_REQUIRED = 1;
/** Flags telling which request target the function's actions can match, so only that one is looked up. */
const F_HAS_SPIFFE = 2;
const F_HAS_HOST = 4;

const A_SIZE = 4;
const A_TARGET = 0;
const A_PORT = 1;
const A_METHODS = 2;
const A_TEMPLATES = 3;

/** A_PORT of a SPIFFE target (matched against the destination principal). */
const SPIFFE = -1;
/** A_TARGET of an action whose target the validator refused: equals no looked-up id. */
const NO_TARGET = -2;

/** Strings kept per mandate, in `info` at ordinal * INFO_SIZE. */
const INFO_SIZE = 5;
const I_NAME = 0;
const I_OWNER = 1;
const I_PURPOSE = 2;
const I_RISK = 3;
const I_REVIEW_BY = 4;

/**
 * Functions with at most this many actions are matched by scanning them in order; larger
 * ones also get a Map from target id to their action positions. Scanning a few 16-byte
 * records is cheaper than a Map lookup; scanning hundreds is not.
 */
const SCAN_LIMIT = 8;

const NO_POSITIONS: Int32Array = new Int32Array(0);

/** Entries of a recent table before it is cleared. */
const RECENT_LIMIT = 4096;

/**
 * Int32 slots of the hot arena (1 MiB): room for ~5,000 typical records (~50 slots), so
 * it is seldom what empties the recent table. A record larger than a sixteenth of it is
 * used in place, so one huge mandate cannot keep flushing the arena.
 */
const HOT_ARENA_SLOTS = 1 << 18;
const HOT_RECORD_LIMIT = HOT_ARENA_SLOTS >> 4;

/** `full.get(key) ?? -1`, answered from `recent` when it was asked lately (see Policy.recentSubjects). */
function throughRecent(recent: Map<string, number>, full: ReadonlyMap<string, number>, key: string): number {
  let value = recent.get(key);
  if (value === undefined) {
    value = full.get(key) ?? -1;
    if (recent.size >= RECENT_LIMIT) recent.clear();
    recent.set(key, value);
  }
  return value;
}

class Policy implements CompiledPolicy {
  readonly mandateCount: number;
  /**
   * The subjects of recent checks and their mandates (or -1). A mesh has far fewer active
   * callers than mandates: this small table stays in the CPU cache, where the full one (a
   * bucket, an entry and a key string per lookup, spread over megabytes) does not; at
   * 100,000 mandates that lookup was the largest single cost of a decision. Bounded: cleared
   * when full, so callers with endless new subjects cost at most the full lookup.
   */
  private readonly recentSubjects = new Map<string, MandateRef>();
  /** The same for request targets (principals and hosts) and their target ids. */
  private readonly recentTargets = new Map<string, number>();
  /** Where the next hot copy goes, and how many copies the arena holds. */
  private hotTop: number;
  private hotCount = 0;

  constructor(
    readonly revision: string,
    readonly documents: PolicySet | null,
    readonly subjectTrustDomains: ReadonlySet<string>,
    private readonly subjects: ReadonlyMap<string, MandateRef>,
    private readonly code: Int32Array,
    /** A float64 view of `code`'s buffer, for the review dates. */
    private readonly dates: Float64Array,
    /** Strings per ordinal; the hot copies' ordinals start at hotOrdinal. */
    private readonly info: (string | null)[],
    /** Where the hot arena starts in `code` (it runs to the end; see the file comment). */
    private readonly hotStart: number,
    private readonly hotOrdinal: number,
    private readonly functionIds: ReadonlyMap<string, number>,
    private readonly targetIds: ReadonlyMap<string, number>,
    /** null for `["*"]`. */
    private readonly methodSets: readonly (ReadonlySet<string> | null)[],
    private readonly templateLists: readonly (readonly PathTemplate[])[],
    /** For functions with many actions: target id → positions of its actions, ascending. */
    private readonly targetIndexes: readonly ReadonlyMap<number, Int32Array>[],
  ) {
    this.mandateCount = subjects.size;
    this.hotTop = hotStart;
  }

  mandateOf(subject: string): MandateRef {
    const hit = this.recentSubjects.get(subject);
    if (hit !== undefined) return hit;
    // Emptied before copying: emptying forgets the arena's contents.
    if (this.recentSubjects.size >= RECENT_LIMIT) this.emptyHot();
    const m = this.subjects.get(subject);
    const ref = m === undefined ? -1 : this.hotCopy(m);
    this.recentSubjects.set(subject, ref);
    return ref;
  }

  /** Copies the record at `m` into the arena (see the file comment); `m` itself when it does not fit. */
  private hotCopy(m: MandateRef): MandateRef {
    const code = this.code;
    const slots = code[m + M_SLOTS]!;
    if (slots > HOT_RECORD_LIMIT || slots > code.length - this.hotStart) return m;
    // Full by slots, or (never before the recent table empties it) by strings.
    if (this.hotTop + slots > code.length || (this.hotOrdinal + this.hotCount) * INFO_SIZE === this.info.length) this.emptyHot();
    const copy = this.hotTop;
    code.copyWithin(copy, m, m + slots);
    const moved = copy - m;
    const end = copy + M_FN_TABLE + 2 * code[copy + M_FN_COUNT]!;
    for (let s = copy + M_FN_TABLE + 1; s < end; s += 2) code[s] += moved;
    const ordinal = this.hotOrdinal + this.hotCount;
    const from = code[m + M_ORDINAL]! * INFO_SIZE;
    this.info.copyWithin(ordinal * INFO_SIZE, from, from + INFO_SIZE);
    code[copy + M_ORDINAL] = ordinal;
    this.hotTop = copy + slots;
    this.hotCount++;
    return copy;
  }

  /** Forgets every copy, and so every recent subject, which may hold one. */
  private emptyHot(): void {
    this.recentSubjects.clear();
    this.hotTop = this.hotStart;
    this.hotCount = 0;
  }

  mandateName(m: MandateRef): string {
    return this.infoOf(m, I_NAME) as string;
  }

  mandateOwner(m: MandateRef): string {
    return this.infoOf(m, I_OWNER) as string;
  }

  mandatePurpose(m: MandateRef): string {
    return this.infoOf(m, I_PURPOSE) as string;
  }

  mandateRisk(m: MandateRef): Risk {
    return this.infoOf(m, I_RISK) as Risk;
  }

  reviewByText(m: MandateRef): string | null {
    return this.infoOf(m, I_REVIEW_BY);
  }

  /** One of the strings kept for mandate `m` (I_NAME ... I_REVIEW_BY). */
  private infoOf(m: MandateRef, field: number): string | null {
    return this.info[this.code[m + M_ORDINAL]! * INFO_SIZE + field] ?? null;
  }

  reviewBy(m: MandateRef): number {
    return this.dates[m >> 1]!;
  }

  dryRun(m: MandateRef): boolean {
    return (this.code[m + M_FLAGS]! & M_DRY_RUN) !== 0;
  }

  functionOf(m: MandateRef, name: string): FunctionRef {
    const id = this.functionIds.get(name);
    if (id === undefined) return -1;
    const code = this.code;
    const end = m + M_FN_TABLE + 2 * code[m + M_FN_COUNT]!;
    for (let s = m + M_FN_TABLE; s < end; s += 2) {
      if (code[s] === id) return code[s + 1]!;
    }
    return -1;
  }

  tokenRequired(f: FunctionRef): boolean {
    return (this.code[f + F_FLAGS]! & F_TOKEN_REQUIRED) !== 0;
  }

  maxTokenTtlSeconds(f: FunctionRef): number {
    return this.code[f + F_MAX_TTL]!;
  }

  /**
   * The first action in declaration order (SPEC) matching target, method and path: the
   * request's principal and host become target ids (-1 when no action names them; each
   * looked up only if the function has actions of that kind), then the function's actions
   * are scanned, or for large functions only those of the two ids. Allocation-free.
   */
  matchAction(f: FunctionRef, req: ActionRequest): number {
    const flags = this.code[f + F_FLAGS]!;
    const principal = (flags & F_HAS_SPIFFE) === 0 || req.destinationPrincipal === '' ? -1 : this.targetIdOf(req.destinationPrincipal);
    const host = (flags & F_HAS_HOST) === 0 || req.host === null ? -1 : this.targetIdOf(req.host);
    if (principal === -1 && host === -1) return -1;
    const index = this.code[f + F_INDEX]!;
    if (index === -1) {
      const n = this.code[f + F_ACTION_COUNT]!;
      for (let j = 0; j < n; j++) {
        if (this.actionMatches(f + F_ACTIONS + j * A_SIZE, principal, host, req)) return j;
      }
      return -1;
    }
    const byTarget = this.targetIndexes[index]!;
    const p = principal === -1 ? -1 : this.firstOf(f, byTarget.get(principal) ?? NO_POSITIONS, principal, host, req);
    const h = host === -1 ? -1 : this.firstOf(f, byTarget.get(host) ?? NO_POSITIONS, principal, host, req);
    if (p < 0) return h;
    if (h < 0) return p;
    return p < h ? p : h;
  }

  /** The target id of a request's principal or host, -1 when no action names it; through the recent table. */
  private targetIdOf(target: string): number {
    return throughRecent(this.recentTargets, this.targetIds, target);
  }

  private firstOf(f: FunctionRef, positions: Int32Array, principal: number, host: number, req: ActionRequest): number {
    for (let k = 0; k < positions.length; k++) {
      const j = positions[k]!;
      if (this.actionMatches(f + F_ACTIONS + j * A_SIZE, principal, host, req)) return j;
    }
    return -1;
  }

  /** The action at `a`: a SPIFFE target needs the principal, a host target the host (and port, if it names one). */
  private actionMatches(a: number, principal: number, host: number, req: ActionRequest): boolean {
    const code = this.code;
    const target = code[a + A_TARGET]!;
    const port = code[a + A_PORT]!;
    if (port === SPIFFE) {
      if (target !== principal) return false;
    } else if (target !== host || (port !== 0 && port !== req.port)) {
      return false;
    }
    const methods = this.methodSets[code[a + A_METHODS]!]!;
    if (methods !== null && !methods.has(req.method)) return false;
    const templates = this.templateLists[code[a + A_TEMPLATES]!]!;
    for (let t = 0; t < templates.length; t++) {
      if (matchPathTemplateIn(templates[t]!, req.path, req.pathEnd)) return true;
    }
    return false;
  }
}

/**
 * Tables filled during one compile. Large estates repeat the same function names,
 * targets, method lists and paths across thousands of mandates: each distinct one is
 * stored once and referred to by number.
 */
class Tables {
  readonly functionIds = new Map<string, number>();
  readonly targetIds = new Map<string, number>();
  readonly methodIds = new Map<string, number>();
  readonly methodSets: (ReadonlySet<string> | null)[] = [];
  readonly templateIds = new Map<string, number>();
  readonly templateLists: (readonly PathTemplate[])[] = [];
  readonly hosts = new Map<string, HostPort | null>();
  readonly targetIndexes: ReadonlyMap<number, Int32Array>[] = [];

  idOf(map: Map<string, number>, key: string): number {
    let id = map.get(key);
    if (id === undefined) {
      id = map.size;
      map.set(key, id);
    }
    return id;
  }

  methods(list: readonly string[]): number {
    const key = list.join(' ');
    let id = this.methodIds.get(key);
    if (id === undefined) {
      id = this.methodSets.length;
      this.methodSets.push(list.length === 1 && list[0] === '*' ? null : new Set(list));
      this.methodIds.set(key, id);
    }
    return id;
  }

  templates(paths: readonly string[]): number {
    const key = paths.join('\n'); // a template cannot contain a newline
    let id = this.templateIds.get(key);
    if (id === undefined) {
      const out: PathTemplate[] = [];
      for (const p of paths) {
        // The validator has already refused bad templates; one that still fails never matches.
        const r = compilePathTemplate(p);
        if (r.template !== null) out.push(r.template);
      }
      id = this.templateLists.length;
      this.templateLists.push(Object.freeze(out.slice()));
      this.templateIds.set(key, id);
    }
    return id;
  }

  host(target: string): HostPort | null {
    let hp = this.hosts.get(target);
    if (hp === undefined) {
      hp = normalizeHost(target);
      this.hosts.set(target, hp);
    }
    return hp;
  }
}

/** The mandates and functions a compile keeps: the first of repeated subjects or function names. */
interface Kept {
  readonly doc: MandateDoc;
  readonly functions: readonly FunctionSpec[];
}

function keptMandates(set: PolicySet): Kept[] {
  const seen = new Set<string>();
  const out: Kept[] = [];
  for (const doc of set.mandates) {
    // The validator refuses duplicate subjects and function names; should one slip
    // through, the first wins.
    if (seen.has(doc.subject)) continue;
    seen.add(doc.subject);
    const names = new Set<string>();
    const functions: FunctionSpec[] = [];
    for (const f of doc.functions) {
      if (names.has(f.name)) continue;
      names.add(f.name);
      functions.push(f);
    }
    out.push({ doc, functions });
  }
  return out;
}

/** Int32 slots of a mandate with its functions and actions, rounded up to keep the next one even. */
function slotsOf(k: Kept): number {
  let n = M_FN_TABLE + 2 * k.functions.length;
  for (const f of k.functions) n += F_ACTIONS + A_SIZE * f.actions.length;
  return n + (n & 1);
}

function writeAction(code: Int32Array, a: number, spec: ActionSpec, tables: Tables): void {
  code[a + A_METHODS] = tables.methods(spec.methods);
  code[a + A_TEMPLATES] = tables.templates(spec.paths);
  if (spec.target.startsWith('spiffe://')) {
    code[a + A_TARGET] = tables.idOf(tables.targetIds, spec.target);
    code[a + A_PORT] = SPIFFE;
    return;
  }
  const hp = tables.host(spec.target);
  // null: refused by the validator; never matches. SPIFFE IDs contain "://" and host
  // names cannot, so one id space serves both kinds (A_PORT tells them apart).
  code[a + A_TARGET] = hp === null ? NO_TARGET : tables.idOf(tables.targetIds, hp.host);
  code[a + A_PORT] = hp === null || hp.port === null ? 0 : hp.port;
}

/** Writes function `spec` at `f`; returns the offset after it. */
function writeFunction(code: Int32Array, f: number, spec: FunctionSpec, tables: Tables): number {
  const n = spec.actions.length;
  let flags = spec.taskToken === 'required' ? F_TOKEN_REQUIRED : 0;
  for (let j = 0; j < n; j++) {
    const a = f + F_ACTIONS + j * A_SIZE;
    writeAction(code, a, spec.actions[j]!, tables);
    if (code[a + A_PORT] === SPIFFE) flags |= F_HAS_SPIFFE;
    else if (code[a + A_TARGET] !== NO_TARGET) flags |= F_HAS_HOST;
  }
  code[f + F_FLAGS] = flags;
  code[f + F_MAX_TTL] = spec.maxTokenTtlSeconds;
  code[f + F_ACTION_COUNT] = n;
  code[f + F_INDEX] = n > SCAN_LIMIT ? indexByTarget(code, f, n, tables) : -1;
  return f + F_ACTIONS + n * A_SIZE;
}

function indexByTarget(code: Int32Array, f: number, n: number, tables: Tables): number {
  const lists = new Map<number, number[]>();
  for (let j = 0; j < n; j++) {
    const target = code[f + F_ACTIONS + j * A_SIZE + A_TARGET]!;
    if (target === NO_TARGET) continue;
    const list = lists.get(target);
    if (list === undefined) lists.set(target, [j]);
    else list.push(j);
  }
  const byTarget = new Map<number, Int32Array>();
  for (const [target, positions] of lists) byTarget.set(target, Int32Array.from(positions));
  tables.targetIndexes.push(byTarget);
  return tables.targetIndexes.length - 1;
}

export interface CompileOptions {
  /** Keep the documents reachable as `documents` (for explanations with source locations). */
  readonly keepDocuments?: boolean;
}

/** Mandates compiled between two turns of the event loop by compilePolicyYielding (~20-40 ms). */
const COMPILE_CHUNK = 2_000;

/** One compile in progress: mandates are written in chunks, then the index is assembled. */
class Compilation {
  private readonly kept: readonly Kept[];
  private readonly code: Int32Array;
  private readonly dates: Float64Array;
  private readonly info: (string | null)[];
  private readonly hotStart: number;
  private readonly hotOrdinal: number;
  private readonly subjects = new Map<string, MandateRef>();
  private readonly domains = new Set<string>();
  private readonly tables = new Tables();
  private ordinal = 0;
  private m = 0;

  constructor(
    private readonly set: PolicySet,
    private readonly opts: CompileOptions,
  ) {
    this.kept = keptMandates(set);
    let slots = 0;
    for (const k of this.kept) slots += slotsOf(k);
    this.hotStart = slots;
    // The arena need not be larger than everything it could copy.
    const buffer = new ArrayBuffer((slots + Math.min(slots, HOT_ARENA_SLOTS)) * 4);
    this.code = new Int32Array(buffer);
    this.dates = new Float64Array(buffer);
    this.hotOrdinal = this.kept.length;
    this.info = new Array<string | null>((this.kept.length + Math.min(this.kept.length, RECENT_LIMIT)) * INFO_SIZE).fill(null);
  }

  /** Writes up to `count` more mandates; true when every mandate is written. */
  step(count: number): boolean {
    const { code, info, tables } = this;
    const end = Math.min(this.kept.length, this.ordinal + count);
    for (; this.ordinal < end; this.ordinal++) {
      const ordinal = this.ordinal;
      const m = this.m;
      const { doc, functions } = this.kept[ordinal]!;
      this.subjects.set(doc.subject, m);
      const td = spiffeTrustDomain(doc.subject);
      if (td !== null) this.domains.add(td);
      const at = ordinal * INFO_SIZE;
      info[at + I_NAME] = doc.name;
      info[at + I_OWNER] = doc.owner;
      info[at + I_PURPOSE] = doc.purpose;
      info[at + I_RISK] = doc.risk;
      info[at + I_REVIEW_BY] = doc.reviewByText;

      this.dates[m >> 1] = doc.reviewBy ?? Number.POSITIVE_INFINITY;
      code[m + M_ORDINAL] = ordinal;
      code[m + M_FLAGS] = doc.mode === 'dry-run' ? M_DRY_RUN : 0;
      code[m + M_FN_COUNT] = functions.length;
      let f = m + M_FN_TABLE + 2 * functions.length;
      for (let i = 0; i < functions.length; i++) {
        code[m + M_FN_TABLE + 2 * i] = tables.idOf(tables.functionIds, functions[i]!.name);
        code[m + M_FN_TABLE + 2 * i + 1] = f;
        f = writeFunction(code, f, functions[i]!, tables);
      }
      this.m = f + (f & 1);
      code[m + M_SLOTS] = this.m - m;
    }
    return this.ordinal === this.kept.length;
  }

  result(): CompiledPolicy {
    const t = this.tables;
    return new Policy(
      this.set.revision,
      this.opts.keepDocuments === true ? this.set : null,
      this.domains,
      this.subjects,
      this.code,
      this.dates,
      this.info,
      this.hotStart,
      this.hotOrdinal,
      t.functionIds,
      t.targetIds,
      t.methodSets,
      t.templateLists,
      t.targetIndexes,
    );
  }
}

/**
 * Builds the index of a validated PolicySet. Not on the request path; callers compile a
 * set off the hot path and swap the result in whole.
 */
export function compilePolicy(set: PolicySet, opts: CompileOptions = {}): CompiledPolicy {
  const c = new Compilation(set, opts);
  c.step(Number.POSITIVE_INFINITY);
  return c.result();
}

/**
 * The same index, built in chunks of mandates with a turn of the event loop between them,
 * so a server compiling a large set (1.6 s for 100,000 mandates) keeps answering checks.
 */
export async function compilePolicyYielding(set: PolicySet, opts: CompileOptions = {}): Promise<CompiledPolicy> {
  const c = new Compilation(set, opts);
  while (!c.step(COMPILE_CHUNK)) await nextTurn();
  return c.result();
}
