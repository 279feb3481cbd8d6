/**
 * Per-dimension action matching for offline use (explain's "what differed", unused
 * actions, replay summaries). The hot path has its own compiled matcher; this one answers
 * target, method and path separately, which a compiled index does not need to.
 * Semantics are SPEC section 2's.
 */
import type { ActionSpec } from '../policy/model.js';
import type { LogEntry } from './logs.js';
import { checkRequestPath, compilePathTemplate, matchPathTemplateIn, type PathTemplate } from '../policy/paths.js';
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

/**
 * The request a log entry describes. The logged `target` is the destination when it is a
 * SPIFFE ID, else the host; the `destination` and `host` extras, when logged, win.
 */
export function requestOf(e: LogEntry): LoggedRequest {
  const spiffeTarget = e.target !== null && e.target.startsWith('spiffe://') ? e.target : null;
  return {
    destination: e.destination ?? spiffeTarget,
    host: e.host ?? (spiffeTarget === null ? e.target : null),
    method: e.method,
    path: e.path,
  };
}

function targetMatches(actionTarget: string, req: LoggedRequest): boolean {
  if (actionTarget.startsWith('spiffe://')) return req.destination === actionTarget;
  if (req.host === null || req.host === '') return false;
  const a = parseTarget(actionTarget);
  const r = parseTarget(req.host);
  return a.host === r.host && (a.port === null || a.port === r.port);
}

function methodMatches(methods: readonly string[], method: string | null): boolean {
  if (method === null) return false;
  return methods.includes('*') || methods.includes(method);
}

/** Templates compiled once per text (offline: the set of templates in a policy is bounded). */
const templates = new Map<string, PathTemplate | null>();

/** The server's own template matching (policy/paths), on a logged path without query. */
function pathMatchesTemplate(template: string, path: string | null): boolean {
  if (path === null) return false;
  let t = templates.get(template);
  if (t === undefined) {
    t = compilePathTemplate(template).template;
    templates.set(template, t);
  }
  const end = checkRequestPath(path);
  return t !== null && end >= 0 && matchPathTemplateIn(t, path, end);
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
