/**
 * Target identity for analysis: an action target or a Target document's `match`, either
 * a SPIFFE ID (compared exactly) or a host with an optional port (SPEC section 2: lower
 * case, one trailing dot removed; no port matches any port).
 */
import { hostPortText, normalizeHost } from '../policy/hosts.js';
import type { Sensitivity, TargetDoc } from '../policy/model.js';

export interface TargetRef {
  /** Canonical id: the SPIFFE ID, or `host` / `host:port`. */
  readonly id: string;
  readonly spiffe: boolean;
  /** Host without port (lower-cased), null for SPIFFE targets. */
  readonly host: string | null;
  readonly port: number | null;
}

export function parseTarget(raw: string): TargetRef {
  if (raw.startsWith('spiffe://')) return { id: raw, spiffe: true, host: null, port: null };
  // The server's own normalisation; text it refuses (only a logged garbage host can be)
  // stays as it is, lower-cased, and can only match itself.
  const n = normalizeHost(raw);
  if (n === null) {
    const text = raw.toLowerCase();
    return { id: text, spiffe: false, host: text, port: null };
  }
  return { id: hostPortText(n), spiffe: false, host: n.host, port: n.port };
}

/** True when a request could match both: same SPIFFE ID, or same host with compatible ports. */
export function targetsOverlap(a: TargetRef, b: TargetRef): boolean {
  if (a.spiffe || b.spiffe) return a.spiffe && b.spiffe && a.id === b.id;
  return a.host === b.host && (a.port === null || b.port === null || a.port === b.port);
}

/** Trust domain of a SPIFFE ID, null for anything else. */
export function trustDomainOf(id: string): string | null {
  if (!id.startsWith('spiffe://')) return null;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}

const SENSITIVITY_RANK: Readonly<Record<Sensitivity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export function levelRank(level: Sensitivity): number {
  return SENSITIVITY_RANK[level];
}

/**
 * Indexes Target documents so each action target finds its description in one lookup.
 * When several documents overlap one target (`db:5432` and `db`), the most sensitive
 * wins, then the exact id: analysis errs on the side of the larger risk.
 */
export class TargetCatalog {
  private readonly bySpiffe = new Map<string, TargetDoc>();
  private readonly byHost = new Map<string, { doc: TargetDoc; ref: TargetRef }[]>();

  constructor(docs: readonly TargetDoc[]) {
    for (const doc of docs) {
      const ref = parseTarget(doc.match);
      if (ref.spiffe) {
        const prev = this.bySpiffe.get(ref.id);
        if (prev === undefined || levelRank(doc.sensitivity) > levelRank(prev.sensitivity)) this.bySpiffe.set(ref.id, doc);
      } else {
        const list = this.byHost.get(ref.host!) ?? [];
        list.push({ doc, ref });
        this.byHost.set(ref.host!, list);
      }
    }
  }

  lookup(target: TargetRef): TargetDoc | null {
    if (target.spiffe) return this.bySpiffe.get(target.id) ?? null;
    const list = this.byHost.get(target.host!);
    if (list === undefined) return null;
    let best: { doc: TargetDoc; ref: TargetRef } | null = null;
    for (const entry of list) {
      if (!targetsOverlap(entry.ref, target)) continue;
      if (
        best === null ||
        levelRank(entry.doc.sensitivity) > levelRank(best.doc.sensitivity) ||
        (levelRank(entry.doc.sensitivity) === levelRank(best.doc.sensitivity) && entry.ref.id === target.id)
      ) {
        best = entry;
      }
    }
    return best === null ? null : best.doc;
  }
}
