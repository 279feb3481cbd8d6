/** Policy texts shared by the policy tests. */

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
