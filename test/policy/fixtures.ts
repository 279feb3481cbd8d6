/** Policy texts and request-path views shared by the policy and property tests. */
import { formatDiagnostic } from '../../src/policy/diagnostics.js';
import type { LoadResult, PolicySet } from '../../src/policy/model.js';
import { checkRequestPath } from '../../src/policy/paths.js';

/** One function with one action: the smallest valid `functions` of a Mandate spec. */
export const FUNCTIONS = `  functions:
    - name: f
      actions:
        - {target: a.internal, methods: [GET], paths: [/]}
`;

/**
 * A Mandate document named `name`, its subject in prod.example.org unless given, followed
 * by `spec`: further lines of the spec, indented by two spaces. metadata.name is on line 4
 * (column 9), subject, owner and purpose on lines 6-8; `spec` starts on line 9.
 */
export function mandate(name: string, spec: string = FUNCTIONS, subject = `spiffe://prod.example.org/ns/a/sa/${name}`): string {
  return `apiVersion: mandate/v1
kind: Mandate
metadata:
  name: ${name}
spec:
  subject: ${subject}
  owner: team-a
  purpose: testing
${spec}`;
}

/**
 * The segments of a request path after its leading `/`, as the matcher walks them (`/`
 * gives `['']`, `/a/b/` gives `['a', 'b', '']`), cut where checkRequestPath says the path
 * ends; null when it says INVALID_PATH. The server never splits a path; tests state
 * checkRequestPath's verdict and end this way because segments are easier to read.
 */
export function pathSegments(raw: string): readonly string[] | null {
  const end = checkRequestPath(raw);
  return end < 0 ? null : raw.slice(1, end).split('/');
}

/** The set of a load that must succeed; otherwise the test fails listing the diagnostics. */
export function loadedSet(result: LoadResult): PolicySet {
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.set;
}
