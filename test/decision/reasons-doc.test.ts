import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASON_CODES, REASONS } from '../../src/errors.js';

// docs/reasons.md and src/errors.ts must list the same codes with the same statuses.
const doc = readFileSync(new URL('../../docs/reasons.md', import.meta.url), 'utf8');
const rows = new Map<string, { http: string; grpc: string }>();
for (const line of doc.split('\n')) {
  const m = /^\| `([A-Z_]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|/.exec(line);
  if (m !== null) rows.set(m[1] as string, { http: (m[2] as string).trim(), grpc: (m[3] as string).trim() });
}

describe('docs/reasons.md', () => {
  it('lists exactly the reason codes of src/errors.ts', () => {
    expect([...rows.keys()].sort()).toEqual([...REASON_CODES].sort());
  });
  it.each([...REASON_CODES])('%s has the statuses of the code', (code) => {
    const row = rows.get(code);
    expect(row).toBeDefined();
    const info = REASONS[code];
    expect(row?.grpc).toBe(String(info.grpcCode));
    expect(row?.http).toBe(info.httpStatus === 0 ? '—' : String(info.httpStatus));
  });
});
