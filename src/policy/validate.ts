/**
 * YAML documents → validated, defaulted, frozen policy documents (SPEC section 2). Every
 * rule is checked and every problem is collected, each at the key or value it concerns;
 * nothing stops at the first error. Names are unique across all documents, Mandates and
 * Targets together (SPEC section 2); subjects across all mandates.
 */
import { diagnostic, fileStart } from './diagnostics.js';
import type { Interner } from './interner.js';
import type { DiagnosticCode } from './diagnostics.js';
import { hostPortText, normalizeHost } from './hosts.js';
import type {
  ActionSpec,
  Capability,
  Diagnostic,
  FunctionSpec,
  MandateDoc,
  MandateMode,
  Risk,
  SourceLocation,
  TargetDoc,
  TaskTokenRule,
} from './model.js';
import type { ParsedFile } from './parse.js';
import { nodeLocation } from './parse.js';
import type { LinePositions, YamlMap, YamlNode, YamlScalar, YamlSeq } from './yaml-tree.js';
import { compilePathTemplate } from './paths.js';
import { spiffeIdError, spiffeTrustDomain } from '../identity/spiffe.js';
import { FUNCTION_NAME, MAX_TOKEN_TTL_SECONDS, parseDuration, parseReviewBy } from './values.js';
import { isHighRisk } from './model.js';

const API_VERSION = 'mandate/v1';
export const RISKS: readonly Risk[] = ['low', 'medium', 'high', 'critical'];
const MODES: readonly MandateMode[] = ['enforce', 'dry-run'];
const TASK_TOKEN_RULES: readonly TaskTokenRule[] = ['required', 'optional'];
const CAPABILITIES: readonly Capability[] = ['mint-credentials', 'edit-policy', 'impersonate', 'read-secrets'];

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const METHOD_RE = /^[A-Z]+$/;

/** Default maxTokenTtl by risk (SPEC section 2): 15m, or 5m for high and critical. */
function defaultMaxTokenTtlSeconds(risk: Risk): number {
  return isHighRisk(risk) ? 300 : 900;
}

/** Default taskToken rule by risk: required for high and critical. */
function defaultTaskToken(risk: Risk): TaskTokenRule {
  return isHighRisk(risk) ? 'required' : 'optional';
}

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
const METADATA_KEYS = ['name', 'labels'] as const;
const MANDATE_KEYS = ['subject', 'owner', 'purpose', 'risk', 'reviewBy', 'mode', 'functions'] as const;
const FUNCTION_KEYS = ['name', 'taskToken', 'maxTokenTtl', 'actions'] as const;
const ACTION_KEYS = ['target', 'methods', 'paths'] as const;
const TARGET_KEYS = ['match', 'owner', 'sensitivity', 'environment', 'capabilities'] as const;

type Node = YamlNode;

function isScalar(node: Node | null | undefined): node is YamlScalar {
  return node != null && node.kind === 'scalar';
}

function isMap(node: Node | null | undefined): node is YamlMap {
  return node != null && node.kind === 'map';
}

function isSeq(node: Node | null | undefined): node is YamlSeq {
  return node != null && node.kind === 'seq';
}

/**
 * A mapping entry. Its positions are worked out when first asked for: most entries are
 * never reported, and a line lookup per key and value is a measurable share of a load.
 */
class Field {
  private keyLocation: SourceLocation | undefined;
  private valueLocation: SourceLocation | undefined;

  constructor(
    private readonly checker: Checker,
    readonly key: YamlScalar,
    /** null only when the parser gave the pair no value node. */
    readonly value: Node | null,
    private readonly mapAt: SourceLocation,
  ) {}

  get keyAt(): SourceLocation {
    return (this.keyLocation ??= this.checker.at(this.key, this.mapAt));
  }

  get at(): SourceLocation {
    return (this.valueLocation ??= this.checker.at(this.value, this.keyAt));
  }
}

type Fields = ReadonlyMap<string, Field>;

/** A field given no value, or null (`~`): read as if it were left out. */
function isAbsent(f: Field): boolean {
  return f.value === null || (isScalar(f.value) && f.value.value === null);
}

/** One file's checking context: where positions come from, and where problems go. */
class Checker {
  constructor(
    readonly file: string,
    private readonly lines: LinePositions,
    readonly diagnostics: Diagnostic[],
    /** Every string kept in a document goes through it (one copy per distinct value). */
    readonly intern: Interner,
  ) {}

  at(node: Node | null | undefined, fallback: SourceLocation): SourceLocation {
    return nodeLocation(this.file, this.lines, node, fallback);
  }

  report(at: SourceLocation, code: DiagnosticCode, message: string): void {
    this.diagnostics.push(diagnostic(at, code, message));
  }

  /**
   * The keys of a mapping, each checked against `allowed`; unknown and repeated keys are
   * reported. Returns null (after reporting INVALID_TYPE) when the node is not a mapping.
   */
  fields(node: Node | null, at: SourceLocation, what: string, allowed: readonly string[]): Fields | null {
    if (!isMap(node)) {
      this.report(at, 'INVALID_TYPE', `${what} must be a mapping, not ${describe(node)}`);
      return null;
    }
    const out = new Map<string, Field>();
    for (const pair of node.pairs) {
      const key = pair.key;
      const value = pair.value;
      if (!isScalar(key) || key.value === null) {
        this.report(this.at(key, at), 'INVALID_TYPE', `a key in ${what} must be a plain string`);
        continue;
      }
      const name = String(key.value);
      if (!allowed.includes(name)) {
        this.report(this.at(key, at), 'UNKNOWN_KEY', `unknown key "${name}" in ${what} (allowed: ${allowed.join(', ')})`);
        continue;
      }
      const first = out.get(name);
      if (first !== undefined) {
        this.report(this.at(key, at), 'DUPLICATE_KEY', `key "${name}" repeats the one at line ${first.keyAt.line}`);
        continue;
      }
      out.set(name, new Field(this, key, value, at));
    }
    return out;
  }

  /**
   * A string field. Returns undefined when absent or null (reported as MISSING_FIELD when
   * required), null when present but unusable (reported), else the string. Empty strings
   * are EMPTY_VALUE: every string of the language means something.
   */
  string(fields: Fields, name: string, where: SourceLocation, what: string, required: boolean): string | null | undefined {
    const f = fields.get(name);
    if (f === undefined || isAbsent(f)) {
      if (required) this.report(f?.keyAt ?? where, 'MISSING_FIELD', `${what} needs "${name}"`);
      return undefined;
    }
    if (!isScalar(f.value) || typeof f.value.value !== 'string') {
      this.report(f.at, 'INVALID_TYPE', `"${name}" must be a string, not ${describe(f.value)}`);
      return null;
    }
    if (f.value.value.length === 0) {
      this.report(f.at, 'EMPTY_VALUE', `"${name}" must not be empty`);
      return null;
    }
    // Only spaces is no owner or purpose either (String#trim: ECMAScript white space and line ends).
    if (f.value.value.trim().length === 0) {
      this.report(f.at, 'EMPTY_VALUE', `"${name}" must not be blank`);
      return null;
    }
    return this.intern.str(f.value.value);
  }

  /** An enum field: undefined when absent, null when invalid (reported), else the value. */
  oneOf<T extends string>(fields: Fields, name: string, where: SourceLocation, what: string, allowed: readonly T[]): T | null | undefined {
    const s = this.string(fields, name, where, what, false);
    if (s === undefined || s === null) return s;
    if (!(allowed as readonly string[]).includes(s)) {
      this.report(fields.get(name)!.at, 'INVALID_ENUM', `"${name}" is "${s}"; it must be one of ${allowed.join(', ')}`);
      return null;
    }
    return allowed.find((a) => a === s)!;
  }

  /**
   * A required string that must also pass `problem` (the message saying why it is unusable,
   * else null), reported as `code` at the value when it does not. `text` is the string, ''
   * when absent or not a string; `at` is where the value is when it passed, else null.
   */
  checked(
    fields: Fields,
    name: string,
    where: SourceLocation,
    what: string,
    code: DiagnosticCode,
    problem: (value: string) => string | null,
  ): { text: string; at: SourceLocation | null } {
    const text = this.string(fields, name, where, what, true);
    if (typeof text !== 'string') return { text: '', at: null };
    const at = fields.get(name)!.at;
    const why = problem(text);
    if (why === null) return { text, at };
    this.report(at, code, why);
    return { text, at: null };
  }

  /**
   * A list field: undefined when absent (MISSING_FIELD when required), null when not a
   * list or empty (reported), else its items.
   */
  list(fields: Fields, name: string, where: SourceLocation, what: string, required: boolean, allowEmpty = false): readonly (Node | null)[] | null | undefined {
    const f = fields.get(name);
    if (f === undefined || isAbsent(f)) {
      if (required) this.report(f?.keyAt ?? where, 'MISSING_FIELD', `${what} needs "${name}"`);
      return undefined;
    }
    if (!isSeq(f.value)) {
      this.report(f.at, 'INVALID_TYPE', `"${name}" must be a list, not ${describe(f.value)}`);
      return null;
    }
    const items = f.value.items;
    if (items.length === 0 && !allowEmpty) {
      this.report(f.at, 'EMPTY_LIST', `"${name}" must list at least one entry`);
      return null;
    }
    return items;
  }

  /** A list of strings; non-strings are reported and left out. */
  strings(items: readonly (Node | null)[], listAt: SourceLocation, name: string): { value: string; at: SourceLocation }[] {
    const out: { value: string; at: SourceLocation }[] = [];
    for (const item of items) {
      const at = this.at(item, listAt);
      if (!isScalar(item) || typeof item.value !== 'string') {
        this.report(at, 'INVALID_TYPE', `an entry of "${name}" must be a string, not ${describe(item)}`);
        continue;
      }
      out.push({ value: this.intern.str(item.value), at });
    }
    return out;
  }
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return 'a string';
    if (typeof v === 'boolean') return `a boolean (${String(v)})`;
    return `a number (${String(v)})`;
  }
  return 'an unsupported value';
}

/**
 * A frozen copy sized to its contents. An array grown by push keeps room for about 16 more
 * entries; the few-entry lists of a large estate would otherwise hold a third of the
 * loaded policy's memory in that spare room.
 */
function exact<T>(list: readonly T[]): readonly T[] {
  return Object.freeze(list.slice());
}

/** Why a target (`spiffe://…` or host[:port]) is unusable, else null. */
function targetError(target: string): string | null {
  if (target.startsWith('spiffe://')) {
    const why = spiffeIdError(target);
    return why === null ? null : `"${target}" is not a valid SPIFFE ID: ${why}`;
  }
  if (normalizeHost(target) === null) {
    return `"${target}" is neither a SPIFFE ID ("spiffe://…") nor a host[:port] (letters, digits, ".", "-", "_"; port 1-65535; IPv6 in brackets)`;
  }
  return null;
}

/**
 * The key two targets are the same under: the SPIFFE ID itself, or the normalised
 * host[:port] (lower case, one trailing dot removed), as the compiler compares them.
 */
function targetKey(target: string): string {
  if (target.startsWith('spiffe://')) return target;
  const hp = normalizeHost(target);
  return hp === null ? target : hostPortText(hp);
}

export interface Named {
  readonly name: string;
  readonly at: SourceLocation;
  /** The kind of document the name belongs to, for messages. */
  readonly kind: string;
}

/** What one file contributes: its documents, its own problems, and the keys checked across files. */
export interface FileResult {
  readonly mandates: readonly MandateDoc[];
  readonly targets: readonly TargetDoc[];
  readonly diagnostics: readonly Diagnostic[];
  /** metadata.name of every document, Mandates and Targets alike, in document order. */
  readonly names: readonly Named[];
  readonly subjects: readonly Named[];
  /** Target documents' matches, normalised with targetKey(). */
  readonly matches: readonly Named[];
}

export interface ValidatedDocuments {
  readonly mandates: readonly MandateDoc[];
  readonly targets: readonly TargetDoc[];
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Checks every document of one file. The result depends on the file's name and text
 * only, which is what lets the loader reuse it for unchanged files on reload.
 */
export function validatePolicyFile(file: ParsedFile, intern: Interner): FileResult {
  const diagnostics: Diagnostic[] = [...file.diagnostics];
  const mandates: MandateDoc[] = [];
  const targets: TargetDoc[] = [];
  const names: Named[] = [];
  const subjects: Named[] = [];
  const matches: Named[] = [];
  const c = new Checker(file.file, file.lines, diagnostics, intern);
  const start = fileStart(file.file);
  for (const { root } of file.documents) {
    const rootAt = c.at(root, start);
    const top = c.fields(root, rootAt, 'a policy document', TOP_KEYS);
    if (top === null) continue;
    c.checked(top, 'apiVersion', rootAt, 'a policy document', 'UNSUPPORTED_API_VERSION', (v) =>
      v === API_VERSION ? null : `apiVersion "${v}" is not supported; use "${API_VERSION}"`,
    );
    const kind = c.checked(top, 'kind', rootAt, 'a policy document', 'UNKNOWN_KIND', (k) =>
      k === 'Mandate' || k === 'Target' ? null : `kind "${k}" is not Mandate or Target`,
    ).text;
    const meta = readMetadata(c, top, rootAt);
    const specField = top.get('spec');
    if (kind !== 'Mandate' && kind !== 'Target') {
      continue; // without a known kind there is no schema to check spec against
    }
    if (specField === undefined || specField.value === null) {
      c.report(specField?.keyAt ?? rootAt, 'MISSING_FIELD', `a ${kind} needs "spec"`);
      continue;
    }
    if (kind === 'Mandate') {
      const m = readMandate(c, specField, meta, rootAt);
      if (m === null) continue;
      mandates.push(m.doc);
      if (m.subjectAt !== null) subjects.push({ name: m.doc.subject, at: m.subjectAt, kind });
    } else {
      const t = readTarget(c, specField, meta, rootAt);
      if (t === null) continue;
      targets.push(t.doc);
      if (t.matchAt !== null) matches.push({ name: targetKey(t.doc.match), at: t.matchAt, kind });
    }
    if (meta.name !== null) names.push({ name: meta.name, at: meta.nameAt, kind });
  }
  return Object.freeze({ mandates, targets, diagnostics, names, subjects, matches });
}

/** Joins per-file results (in file order) and applies the rules that span documents. */
export function combineFileResults(results: readonly FileResult[]): ValidatedDocuments {
  const diagnostics: Diagnostic[] = [];
  const mandates: MandateDoc[] = [];
  const targets: TargetDoc[] = [];
  for (const r of results) {
    for (const d of r.diagnostics) diagnostics.push(d);
    for (const m of r.mandates) mandates.push(m);
    for (const t of r.targets) targets.push(t);
  }
  const all = (pick: (r: FileResult) => readonly Named[]): Named[] => results.flatMap(pick);
  duplicates(diagnostics, all((r) => r.names), 'DUPLICATE_NAME', (n, first) => `name "${n}" is already used by the ${first.kind}`);
  duplicates(diagnostics, all((r) => r.subjects), 'DUPLICATE_SUBJECT', (n) => `subject "${n}" already has a mandate (one mandate per subject)`);
  duplicates(diagnostics, all((r) => r.matches), 'DUPLICATE_TARGET', (n) => `target "${n}" is already described`);
  return { mandates, targets, diagnostics };
}

/** Reports every occurrence after the first (in file order), pointing back at the first. */
function duplicates(out: Diagnostic[], seen: readonly Named[], code: DiagnosticCode, message: (name: string, first: Named) => string): void {
  const first = new Map<string, Named>();
  for (const n of seen) {
    const f = first.get(n.name);
    if (f === undefined) {
      first.set(n.name, n);
    } else {
      out.push(diagnostic(n.at, code, `${message(n.name, f)} at ${f.at.file}:${f.at.line}:${f.at.column}`));
    }
  }
}

/** Most documents have no labels: they share one frozen empty object. */
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

function hasLabels(labels: Record<string, string>): boolean {
  for (const _ in labels) return true;
  return false;
}

interface Metadata {
  readonly name: string | null;
  readonly nameAt: SourceLocation;
  readonly labels: Readonly<Record<string, string>>;
}

function readMetadata(c: Checker, top: Fields, rootAt: SourceLocation): Metadata {
  const f = top.get('metadata');
  if (f === undefined || f.value === null) {
    c.report(f?.keyAt ?? rootAt, 'MISSING_FIELD', 'a policy document needs "metadata"');
    return { name: null, nameAt: rootAt, labels: NO_LABELS };
  }
  const meta = c.fields(f.value, f.at, 'metadata', METADATA_KEYS);
  if (meta === null) return { name: null, nameAt: f.at, labels: NO_LABELS };
  const name = c.checked(meta, 'name', f.keyAt, 'metadata', 'INVALID_NAME', (n) =>
    NAME_RE.test(n) ? null : `name "${n}" must be 1-63 lower-case letters, digits and "-", starting and ending with a letter or digit`,
  );
  const nameAt = meta.get('name')?.at ?? f.keyAt;
  const labels: Record<string, string> = {};
  const lf = meta.get('labels');
  if (lf !== undefined && !isAbsent(lf)) {
    if (!isMap(lf.value)) {
      c.report(lf.at, 'INVALID_TYPE', `"labels" must be a mapping of strings to strings, not ${describe(lf.value)}`);
    } else {
      const seen = new Set<string>();
      for (const pair of lf.value.pairs) {
        const key = pair.key;
        const value = pair.value;
        const keyAt = c.at(key, lf.at);
        if (!isScalar(key) || typeof key.value !== 'string' || key.value.length === 0) {
          c.report(keyAt, 'INVALID_TYPE', 'a label key must be a non-empty string');
          continue;
        }
        if (seen.has(key.value)) {
          c.report(keyAt, 'DUPLICATE_KEY', `label "${key.value}" appears twice`);
          continue;
        }
        seen.add(key.value);
        if (!isScalar(value) || typeof value.value !== 'string') {
          c.report(c.at(value, keyAt), 'INVALID_TYPE', `label "${key.value}" must be a string, not ${describe(value)} (quote it)`);
          continue;
        }
        labels[c.intern.str(key.value)] = c.intern.str(value.value);
      }
    }
  }
  return { name: name.at === null ? null : name.text, nameAt, labels: hasLabels(labels) ? Object.freeze(labels) : NO_LABELS };
}

function readMandate(
  c: Checker,
  specField: Field,
  meta: Metadata,
  rootAt: SourceLocation,
): { doc: MandateDoc; subjectAt: SourceLocation | null } | null {
  const what = 'a Mandate spec';
  const spec = c.fields(specField.value, specField.at, what, MANDATE_KEYS);
  if (spec === null) return null;
  const where = specField.keyAt;
  const subject = c.checked(spec, 'subject', where, what, 'INVALID_SUBJECT', (s) => {
    const why = spiffeIdError(s);
    return why === null ? null : `subject "${s}" is not a valid SPIFFE ID: ${why}`;
  });
  const owner = c.string(spec, 'owner', where, what, true);
  const purpose = c.string(spec, 'purpose', where, what, true);
  // An invalid value has been reported; the default stands in so the rest can be checked.
  const risk: Risk = c.oneOf(spec, 'risk', where, what, RISKS) ?? 'medium';
  const mode: MandateMode = c.oneOf(spec, 'mode', where, what, MODES) ?? 'enforce';
  const reviewByText = c.string(spec, 'reviewBy', where, what, false);
  let reviewBy: number | null = null;
  if (typeof reviewByText === 'string') {
    const parsed = parseReviewBy(reviewByText);
    if (parsed.error === null) reviewBy = parsed.value;
    else c.report(spec.get('reviewBy')!.at, 'INVALID_DATE', parsed.error);
  }
  const functions: FunctionSpec[] = [];
  const items = c.list(spec, 'functions', where, what, true);
  if (items) {
    const names = new Map<string, SourceLocation>();
    const listAt = spec.get('functions')!.at;
    for (const item of items) {
      const fn = readFunction(c, item, c.at(item, listAt), risk);
      if (fn === null) continue;
      functions.push(fn.spec);
      if (fn.nameAt !== null) {
        const first = names.get(fn.spec.name);
        if (first === undefined) names.set(fn.spec.name, fn.nameAt);
        else c.report(fn.nameAt, 'DUPLICATE_FUNCTION', `function "${fn.spec.name}" is already declared at line ${first.line}`);
      }
    }
  }
  const doc: MandateDoc = Object.freeze({
    kind: 'Mandate',
    name: meta.name ?? '',
    labels: meta.labels,
    subject: subject.text,
    owner: typeof owner === 'string' ? owner : '',
    purpose: typeof purpose === 'string' ? purpose : '',
    risk,
    reviewBy,
    reviewByText: reviewBy === null ? null : (reviewByText as string),
    mode,
    functions: exact(functions),
    location: rootAt,
  });
  return { doc, subjectAt: subject.at };
}

function readFunction(c: Checker, node: Node | null, at: SourceLocation, risk: Risk): { spec: FunctionSpec; nameAt: SourceLocation | null } | null {
  const what = 'a function';
  const f = c.fields(node, at, what, FUNCTION_KEYS);
  if (f === null) return null;
  const name = c.checked(f, 'name', at, what, 'INVALID_NAME', (n) =>
    FUNCTION_NAME.test(n) ? null : `function name "${n}" must be 1-63 of a-z, 0-9, ".", "_", "-", starting with a letter or digit`,
  );
  const taskToken = c.oneOf(f, 'taskToken', at, what, TASK_TOKEN_RULES) ?? defaultTaskToken(risk);
  let ttl = defaultMaxTokenTtlSeconds(risk);
  const ttlField = f.get('maxTokenTtl');
  if (ttlField !== undefined && !isAbsent(ttlField)) {
    const v = ttlField.value;
    if (isScalar(v) && typeof v.value === 'number') {
      c.report(ttlField.at, 'INVALID_DURATION', `"${String(v.value)}" has no unit: write e.g. ${String(v.value)}s`);
    } else {
      const text = c.string(f, 'maxTokenTtl', at, what, false);
      if (typeof text === 'string') {
        const d = parseDuration(text);
        if (d.error !== null) {
          c.report(ttlField.at, 'INVALID_DURATION', d.error);
        } else if (d.value > MAX_TOKEN_TTL_SECONDS) {
          c.report(ttlField.at, 'TTL_TOO_LONG', `maxTokenTtl "${text}" is longer than the 1h maximum`);
        } else {
          ttl = d.value;
        }
      }
    }
  }
  const actions: ActionSpec[] = [];
  const items = c.list(f, 'actions', at, what, true);
  if (items) {
    const listAt = f.get('actions')!.at;
    for (const item of items) {
      const a = readAction(c, item, c.at(item, listAt));
      if (a !== null) actions.push(a);
    }
  }
  const spec: FunctionSpec = Object.freeze({
    name: name.text,
    taskToken,
    maxTokenTtlSeconds: ttl,
    actions: exact(actions),
    location: at,
  });
  return { spec, nameAt: name.at };
}

function readAction(c: Checker, node: Node | null, at: SourceLocation): ActionSpec | null {
  const what = 'an action';
  const f = c.fields(node, at, what, ACTION_KEYS);
  if (f === null) return null;
  const target = c.checked(f, 'target', at, what, 'INVALID_TARGET', targetError).text;
  const methods: string[] = [];
  const mItems = c.list(f, 'methods', at, what, true);
  if (mItems) {
    const listAt = f.get('methods')!.at;
    const list = c.strings(mItems, listAt, 'methods');
    const seen = new Set<string>();
    for (const m of list) {
      if (m.value === '*') {
        if (mItems.length !== 1) c.report(m.at, 'INVALID_METHOD', '"*" means any method and must be the only entry');
      } else if (!METHOD_RE.test(m.value)) {
        c.report(m.at, 'INVALID_METHOD', `method "${m.value}" must be upper-case letters (methods are compared exactly), or "*" alone`);
        continue;
      }
      if (seen.has(m.value)) {
        c.report(m.at, 'DUPLICATE_ENTRY', `method "${m.value}" is listed twice`);
        continue;
      }
      seen.add(m.value);
      methods.push(m.value);
    }
  }
  const paths: string[] = [];
  const pItems = c.list(f, 'paths', at, what, true);
  if (pItems) {
    const listAt = f.get('paths')!.at;
    const seen = new Set<string>();
    for (const p of c.strings(pItems, listAt, 'paths')) {
      const r = compilePathTemplate(p.value);
      if (r.error !== null) {
        c.report(p.at, 'INVALID_PATH_TEMPLATE', `path "${p.value}" ${r.error}`);
        continue;
      }
      if (seen.has(p.value)) {
        c.report(p.at, 'DUPLICATE_ENTRY', `path "${p.value}" is listed twice`);
        continue;
      }
      seen.add(p.value);
      paths.push(p.value);
    }
  }
  return Object.freeze({
    target,
    methods: c.intern.list(methods),
    paths: c.intern.list(paths),
    location: at,
  });
}

function readTarget(
  c: Checker,
  specField: Field,
  meta: Metadata,
  rootAt: SourceLocation,
): { doc: TargetDoc; matchAt: SourceLocation | null } | null {
  const what = 'a Target spec';
  const spec = c.fields(specField.value, specField.at, what, TARGET_KEYS);
  if (spec === null) return null;
  const where = specField.keyAt;
  const match = c.checked(spec, 'match', where, what, 'INVALID_TARGET', targetError);
  const owner = c.string(spec, 'owner', where, what, false);
  const sensitivity: Risk = c.oneOf(spec, 'sensitivity', where, what, RISKS) ?? 'medium';
  const environment = c.string(spec, 'environment', where, what, false);
  const capabilities: Capability[] = [];
  const items = c.list(spec, 'capabilities', where, what, false, true);
  if (items) {
    const listAt = spec.get('capabilities')!.at;
    for (const s of c.strings(items, listAt, 'capabilities')) {
      if (!(CAPABILITIES as readonly string[]).includes(s.value)) {
        c.report(s.at, 'INVALID_ENUM', `capability "${s.value}" must be one of ${CAPABILITIES.join(', ')}`);
      } else if (capabilities.includes(s.value as Capability)) {
        c.report(s.at, 'DUPLICATE_ENTRY', `capability "${s.value}" is listed twice`);
      } else {
        capabilities.push(s.value as Capability);
      }
    }
  }
  const defaultEnvironment = match.text.startsWith('spiffe://') ? spiffeTrustDomain(match.text) : null;
  const doc: TargetDoc = Object.freeze({
    kind: 'Target',
    name: meta.name ?? '',
    labels: meta.labels,
    match: match.text,
    owner: typeof owner === 'string' ? owner : null,
    sensitivity,
    environment: typeof environment === 'string' ? environment : defaultEnvironment,
    capabilities: exact(capabilities),
    location: rootAt,
  });
  return { doc, matchAt: match.at };
}
