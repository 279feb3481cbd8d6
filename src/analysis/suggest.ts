/**
 * Suggested mandates: for a subject observed in dry run, the smallest set of actions that
 * covers what it actually did, as a YAML Mandate document for a human to review.
 *
 * Generalisation is deliberately timid: a path segment becomes `{id}` only when it is all
 * digits or a UUID; anything else stays literal, because a wrong guess would grant more
 * than was observed. Within one function and target, paths used with exactly the same
 * set of methods share one action (an action allows every listed method on every listed
 * path, so merging only equal method sets never grants a method on a path where it was
 * not seen).
 */
import { Document, isPair, isScalar, isSeq, visit } from 'yaml';
import type { MandateDoc } from '../policy/model.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^[0-9]+$/;

/** `/v1/orders/123/items/9f1c…` → `/v1/orders/{id}/items/{id2}`. */
export function generalizePath(path: string): string {
  let n = 0;
  return path
    .split('/')
    .map((seg) => {
      if (NUMERIC.test(seg) || UUID.test(seg)) {
        n++;
        return n === 1 ? '{id}' : `{id${n}}`;
      }
      return seg;
    })
    .join('/');
}

export interface ObservedRequest {
  readonly function: string | null;
  readonly target: string;
  readonly method: string;
  readonly path: string;
  readonly time: number | null;
}

export interface SuggestedMandate {
  readonly subject: string;
  readonly name: string;
  /** True when the subject already has a mandate (the suggestion replaces its functions). */
  readonly existing: boolean;
  readonly requests: number;
  readonly actions: number;
  readonly yaml: string;
}

interface SubjectUse {
  requests: number;
  unnamed: number;
  first: number | null;
  last: number | null;
  /** function → target → path template → methods */
  fns: Map<string, Map<string, Map<string, Set<string>>>>;
}

function nameFromSubject(subject: string): string {
  const last = subject.split('/').pop() ?? 'workload';
  const cleaned = last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return cleaned === '' ? 'workload' : cleaned;
}

/** YAML as a person writes a mandate: block style, with `methods` and `paths` as flow lists. */
function toYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && (pair.key.value === 'methods' || pair.key.value === 'paths') && isSeq(pair.value)) {
        pair.value.flow = true;
      }
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

export class SuggestionBuilder {
  private readonly subjects = new Map<string, SubjectUse>();

  observe(subject: string, req: ObservedRequest): void {
    let use = this.subjects.get(subject);
    if (use === undefined) {
      use = { requests: 0, unnamed: 0, first: null, last: null, fns: new Map() };
      this.subjects.set(subject, use);
    }
    use.requests++;
    if (req.time !== null) {
      if (use.first === null || req.time < use.first) use.first = req.time;
      if (use.last === null || req.time > use.last) use.last = req.time;
    }
    if (req.function === null) {
      use.unnamed++;
      return;
    }
    const byTarget = use.fns.get(req.function) ?? new Map<string, Map<string, Set<string>>>();
    use.fns.set(req.function, byTarget);
    const byPath = byTarget.get(req.target) ?? new Map<string, Set<string>>();
    byTarget.set(req.target, byPath);
    const template = generalizePath(req.path);
    const methods = byPath.get(template) ?? new Set<string>();
    byPath.set(template, methods);
    methods.add(req.method);
  }

  build(mandateFor: (subject: string) => MandateDoc | undefined): SuggestedMandate[] {
    const out: SuggestedMandate[] = [];
    for (const subject of [...this.subjects.keys()].sort()) {
      const use = this.subjects.get(subject)!;
      const m = mandateFor(subject);
      let actionCount = 0;
      const functions = [...use.fns.keys()].sort().map((fnName) => {
        const declared = m?.functions.find((f) => f.name === fnName);
        const byTarget = use.fns.get(fnName)!;
        const actions: { target: string; methods: string[]; paths: string[] }[] = [];
        for (const target of [...byTarget.keys()].sort()) {
          const groups = new Map<string, string[]>();
          for (const [template, methods] of byTarget.get(target)!) {
            const key = [...methods].sort().join(',');
            const list = groups.get(key) ?? [];
            list.push(template);
            groups.set(key, list);
          }
          for (const key of [...groups.keys()].sort()) {
            actions.push({ target, methods: key.split(','), paths: groups.get(key)!.sort() });
          }
        }
        actionCount += actions.length;
        const fn: Record<string, unknown> = { name: fnName };
        if (declared !== undefined) fn['taskToken'] = declared.taskToken;
        fn['actions'] = actions;
        return fn;
      });
      if (functions.length === 0) continue;
      const name = m?.name ?? nameFromSubject(subject);
      const spec: Record<string, unknown> = {
        subject,
        owner: m?.owner ?? 'unknown-owner',
        purpose: m?.purpose ?? 'TODO: describe why this workload needs this access',
        risk: m?.risk ?? 'medium',
      };
      if (m?.reviewByText != null) spec['reviewBy'] = m.reviewByText;
      spec['mode'] = 'dry-run';
      spec['functions'] = functions;
      const doc = { apiVersion: 'mandate/v1', kind: 'Mandate', metadata: { name }, spec };
      const window =
        use.first !== null && use.last !== null
          ? ` between ${new Date(use.first).toISOString()} and ${new Date(use.last).toISOString()}`
          : '';
      const header = [
        `# Suggested from ${use.requests} dry-run request(s) of ${subject}${window}.`,
        '# Review owner, purpose, risk and every action before switching mode to enforce.',
        ...(use.unnamed > 0 ? [`# ${use.unnamed} request(s) named no business function and are not covered.`] : []),
      ].join('\n');
      out.push({
        subject,
        name,
        existing: m !== undefined,
        requests: use.requests,
        actions: actionCount,
        yaml: `${header}\n${toYaml(doc)}`,
      });
    }
    return out;
  }
}
