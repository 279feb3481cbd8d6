import { describe, expect, it } from 'vitest';
import { createOpsLogger } from '../../src/audit/ops-log.js';

function capture(level: Parameters<typeof createOpsLogger>[0]): { lines: () => Record<string, unknown>[]; log: ReturnType<typeof createOpsLogger> } {
  const chunks: string[] = [];
  const log = createOpsLogger(level, { write: (s: string) => void chunks.push(s) });
  return { log, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createOpsLogger', () => {
  it('writes JSON lines with a level label, an ISO time, the program name and the message', () => {
    const { log, lines } = capture('info');
    log.info({ revision: 'r1', mandates: 3 }, 'policy loaded');
    const [line] = lines();
    expect(line).toMatchObject({ level: 'info', name: 'mandate', msg: 'policy loaded', revision: 'r1', mandates: 3 });
    expect(String(line?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it.each([
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ] as const)('at level %s keeps %j', (level, kept) => {
    const { log, lines } = capture(level);
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines().map((l) => l.level)).toEqual(kept);
  });
});
