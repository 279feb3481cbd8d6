import { describe, expect, it } from 'vitest';
import { CHECK_DURATION_BUCKETS, createMetrics } from '../../src/metrics/metrics.js';
import { REASON_CODES } from '../../src/errors.js';

/** The value of one sample line `name{labels} value` in the text exposition. */
function sample(body: string, name: string, labels = ''): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = body.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/** Expects each `[name, labels, value]` row's sample; `undefined` means the series is absent. */
function expectSamples(body: string, rows: readonly (readonly [string, string, number | undefined])[]): void {
  for (const [name, labels, value] of rows) expect(sample(body, name, labels), `${name}{${labels}}`).toBe(value);
}

describe('createMetrics', () => {
  it.each([
    ['mandate_check_duration_seconds', 'histogram'],
    ['mandate_decisions_total', 'counter'],
    ['mandate_policy_mandates', 'gauge'],
    ['mandate_policy_reloads_total', 'counter'],
    ['mandate_policy_last_reload_timestamp_seconds', 'gauge'],
    ['mandate_policy_last_reload_successful', 'gauge'],
    ['mandate_policy_info', 'gauge'],
    ['mandate_tokens_issued_total', 'counter'],
    ['mandate_tokens_revoked_total', 'counter'],
    ['mandate_audit_dropped_total', 'counter'],
    ['mandate_revocation_link_up', 'gauge'],
    ['mandate_jwks_fetch_errors_total', 'counter'],
    ['mandate_internal_errors_total', 'counter'],
    ['process_cpu_seconds_total', 'counter'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
    ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
  ])('exposes %s as a %s', async (name, type) => {
    const { body, contentType } = await createMetrics().render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain(`# TYPE ${name} ${type}\n`);
  });

  it('has the SPEC buckets from 5e-6 to 0.25 s and a decision label', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const { body } = await m.render();
    expect(CHECK_DURATION_BUCKETS[0]).toBe(5e-6);
    expect(CHECK_DURATION_BUCKETS.at(-1)).toBe(0.25);
    for (const le of [...CHECK_DURATION_BUCKETS.map(String), '+Inf']) {
      for (const d of ['allow', 'deny']) {
        expect(sample(body, 'mandate_check_duration_seconds_bucket', `le="${le}",decision="${d}"`)).toBe(0);
      }
    }
  });

  it('creates at zero every decision series that can occur, and no impossible one', async () => {
    const { body } = await createMetrics({ defaultMetrics: false }).render();
    expectSamples(body, [
      ['mandate_decisions_total', 'decision="allow",reason="ALLOWED",dry_run="false"', 0],
      ['mandate_decisions_total', 'decision="allow",reason="ALLOWED",dry_run="true"', 0],
      ['mandate_decisions_total', 'decision="deny",reason="ALLOWED",dry_run="false"', undefined],
      ['mandate_decisions_total', 'decision="allow",reason="NO_MANDATE",dry_run="false"', undefined],
    ]);
    for (const reason of REASON_CODES.filter((r) => r !== 'ALLOWED')) {
      expect(sample(body, 'mandate_decisions_total', `decision="deny",reason="${reason}",dry_run="false"`)).toBe(0);
      expect(sample(body, 'mandate_decisions_total', `decision="allow",reason="${reason}",dry_run="true"`)).toBe(0);
    }
  });

  it.each([
    ['allow', 'ALLOWED', false],
    ['allow', 'ACTION_NOT_PERMITTED', true],
    ['deny', 'TOKEN_REVOKED', false],
    ['deny', 'NO_IDENTITY', true],
  ] as const)('observeDecision(%s, %s, dry_run=%s) updates exactly its child', async (decision, reason, dryRun) => {
    const m = createMetrics({ defaultMetrics: false });
    m.observeDecision(decision, reason, dryRun, 0.00003);
    m.observeDecision(decision, reason, dryRun, 0.2);
    const { body } = await m.render();
    const labels = `decision="${decision}",reason="${reason}",dry_run="${dryRun}"`;
    expect(sample(body, 'mandate_decisions_total', labels)).toBe(2);
    const total = body.split('\n').filter((l) => l.startsWith('mandate_decisions_total{')).reduce((s, l) => s + Number(l.split(' ')[1]), 0);
    expect(total).toBe(2);
    expect(sample(body, 'mandate_check_duration_seconds_count', `decision="${decision}"`)).toBe(2);
    expect(sample(body, 'mandate_check_duration_seconds_bucket', `le="0.000025",decision="${decision}"`)).toBe(0);
    expect(sample(body, 'mandate_check_duration_seconds_bucket', `le="0.00005",decision="${decision}"`)).toBe(1);
    expect(sample(body, 'mandate_check_duration_seconds_bucket', `le="0.25",decision="${decision}"`)).toBe(2);
    const other = decision === 'allow' ? 'deny' : 'allow';
    expect(sample(body, 'mandate_check_duration_seconds_count', `decision="${other}"`)).toBe(0);
  });

  it('policyLoaded counts every load and keeps only the current revision at 1', async () => {
    let t = 1_780_000_000_000;
    const m = createMetrics({ defaultMetrics: false, now: () => t });
    m.policyLoaded('rev-a', 3, true);
    t += 5000;
    m.policyLoaded(null, 0, false);
    let { body } = await m.render();
    expectSamples(body, [
      ['mandate_policy_reloads_total', 'result="ok"', 1],
      ['mandate_policy_reloads_total', 'result="error"', 1],
      ['mandate_policy_mandates', '', 3],
      ['mandate_policy_last_reload_timestamp_seconds', '', 1_780_000_000],
      ['mandate_policy_last_reload_successful', '', 0],
      ['mandate_policy_info', 'revision="rev-a"', 1],
    ]);
    m.policyLoaded('rev-b', 4, true);
    ({ body } = await m.render());
    expectSamples(body, [
      ['mandate_policy_info', 'revision="rev-a"', undefined],
      ['mandate_policy_info', 'revision="rev-b"', 1],
      ['mandate_policy_mandates', '', 4],
      ['mandate_policy_last_reload_timestamp_seconds', '', 1_780_000_005],
      ['mandate_policy_last_reload_successful', '', 1],
      ['mandate_policy_reloads_total', 'result="ok"', 2],
    ]);
  });

  it('counts tokens, revocations, audit drops, link state, JWKS and internal errors', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.tokenIssued('refund-processing');
    m.tokenIssued('refund-processing');
    m.tokenIssued('ledger-read');
    m.tokenRevoked();
    m.auditDropped(7);
    m.auditDropped(0);
    m.setRevocationLinkUp(false);
    m.jwksFetchError('https://token.actions.example.com');
    m.internalError();
    const { body } = await m.render();
    expectSamples(body, [
      ['mandate_tokens_issued_total', 'function="refund-processing"', 2],
      ['mandate_tokens_issued_total', 'function="ledger-read"', 1],
      ['mandate_tokens_revoked_total', '', 1],
      ['mandate_audit_dropped_total', '', 7],
      ['mandate_revocation_link_up', '', 0],
      ['mandate_jwks_fetch_errors_total', 'issuer="https://token.actions.example.com"', 1],
      ['mandate_internal_errors_total', '', 1],
    ]);
  });

  it('keeps registries apart: two instances do not share counts', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.tokenRevoked();
    expect(sample((await b.render()).body, 'mandate_tokens_revoked_total')).toBe(0);
  });
});
