/**
 * Per-dimension action matching for offline use (explain's "what differed", unused
 * actions, replay summaries). The hot path has its own compiled matcher; this one answers
 * target, method and path separately, which a compiled index does not need to.
 * Semantics are SPEC section 2's.
 */
import type { ActionSpec } from '../policy/model.js';
import { parseTarget } from './targets.js';

/** What a logged request offers to matching. */
export interface LoggedRequest {
  /** destination principal when known (or the logged target when it is a SPIFFE ID). */
  readonly destination: string | null;
  /** The request host as sent, or the logged normalised host; may carry a port. */
  readonly host: string | null;
  readonly method: string | null;
  /** Path without query. */
  readonly path: string | null;
}

export function targetMatches(actionTarget: string, req: LoggedRequest): boolean {
  if (actionTarget.startsWith('spiffe://')) return req.destination === actionTarget;
  if (req.host === null || req.host === '') return false;
  const a = parseTarget(actionTarget);
  const r = parseTarget(req.host);
  return a.host === r.host && (a.port === null || a.port === r.port);
}

export function methodMatches(methods: readonly string[], method: string | null): boolean {
  if (method === null) return false;
  return methods.includes('*') || methods.includes(method);
}

export function pathMatchesTemplate(template: string, path: string | null): boolean {
  if (path === null || !path.startsWith('/') || !template.startsWith('/')) return false;
  const t = template.slice(1).split('/');
  const p = path.slice(1).split('/');
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    if (seg === '**' && i === t.length - 1) return true;
    if (i >= p.length) return false;
    if (seg.startsWith('{') && seg.endsWith('}')) {
      if (p[i] === '') return false;
    } else if (seg !== p[i]) {
      return false;
    }
  }
  return t.length === p.length;
}

export interface ActionComparison {
  readonly target: boolean;
  readonly method: boolean;
  readonly path: boolean;
}

export function compareAction(action: ActionSpec, req: LoggedRequest): ActionComparison {
  return {
    target: targetMatches(action.target, req),
    method: methodMatches(action.methods, req.method),
    path: action.paths.some((t) => pathMatchesTemplate(t, req.path)),
  };
}

/** Index of the first action matching all three, -1 when none. */
export function findMatchingAction(actions: readonly ActionSpec[], req: LoggedRequest): number {
  for (let i = 0; i < actions.length; i++) {
    const c = compareAction(actions[i]!, req);
    if (c.target && c.method && c.path) return i;
  }
  return -1;
}
