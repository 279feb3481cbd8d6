/**
 * Loading the policies a command reads (analyze, explain, replay): on failure the
 * diagnostics go to stderr and the command exits with EXIT_USAGE.
 */
import { formatDiagnostic } from '../policy/diagnostics.js';
import { loadPolicySet } from '../policy/load.js';
import type { PolicySet } from '../policy/model.js';
import type { CliIO } from './io.js';

/** The loaded set, or null after writing its diagnostics to stderr. */
export async function loadPoliciesOrReport(paths: readonly string[], io: CliIO): Promise<PolicySet | null> {
  const loaded = await loadPolicySet(paths, { cwd: io.cwd });
  if (loaded.ok) return loaded.set;
  for (const d of loaded.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
  return null;
}
