/**
 * Holds the serving policy and swaps it atomically. A reload reads, validates and compiles
 * off the request path; only a set without errors replaces the current one, in a single
 * assignment, so every check sees one whole revision. Concurrent reload requests coalesce.
 */
import type { EvaluateEnv } from '../decision/evaluate.js';
import { diagnostic, fileStart } from '../policy/diagnostics.js';
import type { Diagnostic } from '../policy/model.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { compilePolicyYielding } from '../policy/compile.js';
import { loadPolicySet } from '../policy/load.js';
import type { RevocationView } from '../tokens/types.js';

export type ReloadOutcome =
  | { readonly ok: true; readonly revision: string; readonly mandates: number; readonly changed: boolean }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export interface PolicyStateOptions {
  readonly paths: readonly string[];
  /** Configured trust domains; empty means the policy's subject trust domains. */
  readonly trustDomains: readonly string[];
  readonly globalDryRun: boolean;
  readonly revocations: RevocationView;
  readonly onReload: (outcome: ReloadOutcome) => void;
  /** Keep each set's documents with its compiled index (`mandate check` explains with them); the server does not. */
  readonly keepDocuments?: boolean;
}

export class PolicyState {
  private current: EvaluateEnv | null = null;
  private running: Promise<ReloadOutcome> | null = null;
  private again = false;
  /** The configured trust domains, built once; null: each set's own subject trust domains. */
  private readonly configuredDomains: ReadonlySet<string> | null;

  constructor(private readonly opts: PolicyStateOptions) {
    this.configuredDomains = opts.trustDomains.length > 0 ? new Set(opts.trustDomains) : null;
  }

  /** The environment every check of this moment uses; null before the first good load. */
  env(): EvaluateEnv | null {
    return this.current;
  }

  policy(): CompiledPolicy | null {
    return this.current === null ? null : this.current.policy;
  }

  /** Loads and swaps in the set; a reload asked for while one runs runs once more after it. */
  reload(): Promise<ReloadOutcome> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = this.loadOnce().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  private async loadOnce(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const result = await loadPolicySet(this.opts.paths);
      if (!result.ok) {
        outcome = { ok: false, diagnostics: result.diagnostics };
      } else if (this.current !== null && this.current.policy.revision === result.set.revision) {
        // The revision hashes every file's name and bytes: the set in service is what
        // compiling these files again would give, so the compile is skipped.
        outcome = { ok: true, revision: result.set.revision, mandates: this.current.policy.mandateCount, changed: false };
      } else {
        const policy = await compilePolicyYielding(result.set, { keepDocuments: this.opts.keepDocuments === true });
        this.current = Object.freeze({
          policy,
          trustedDomains: this.configuredDomains ?? policy.subjectTrustDomains,
          globalDryRun: this.opts.globalDryRun,
          revocations: this.opts.revocations,
        });
        outcome = { ok: true, revision: policy.revision, mandates: policy.mandateCount, changed: true };
      }
    } catch (err) {
      outcome = {
        ok: false,
        diagnostics: [diagnostic(fileStart(this.opts.paths.join(',')), 'READ_ERROR', err instanceof Error ? err.message : String(err))],
      };
    }
    this.opts.onReload(outcome);
    return outcome;
  }
}
