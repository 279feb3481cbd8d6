import { describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/analyze.js';
import { formatDot } from '../../src/analysis/report/dot.js';
import { formatHtml } from '../../src/analysis/report/html.js';
import { act, fn, id, mandate, policySet, target } from './build.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');

describe('report formats', () => {
  it('HTML draws only the nodes findings mention when the graph is large', async () => {
    const mandates = Array.from({ length: 600 }, (_, i) => mandate(`m${i}`, id(`m${i}`), [fn('w', [act(i === 0 ? id('m1') : `h${i}.internal`)])]));
    mandates.push(mandate('hop', id('m1'), [fn('w', [act('vault.internal')])]));
    mandates.splice(1, 1);
    const set = policySet(mandates, [target('vault', 'vault.internal', { sensitivity: 'critical' })]);
    const report = await runAnalysis(set, { nowMs: NOW });
    expect(report.graph.nodes.length).toBeGreaterThan(400);
    const html = formatHtml(report);
    const drawn = html.match(/<g class="node /g)?.length ?? 0;
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThanOrEqual(400);
    expect(html).toContain(`data-id="${id('m0')}"`);
    expect(html).toContain('data-id="vault.internal"');
    expect(html).toMatch(/only the \d+ that findings mention are drawn/);
  });

  it('HTML escapes what it shows and keeps script data inert', async () => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('x.internal', ['GET'], ['/<script>alert(1)</script>'])])], { reviewBy: null })]);
    const html = formatHtml(await runAnalysis(set, { nowMs: NOW }));
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it('DOT quotes ids and merges parallel actions', async () => {
    const set = policySet([mandate('a', id('a'), [fn('w', [act('x.internal', ['GET']), act('x.internal', ['POST'])]), fn('v', [act('x.internal', ['GET'])])])]);
    const dot = formatDot(await runAnalysis(set, { nowMs: NOW }));
    expect(dot.match(/->/g)).toHaveLength(1);
    expect(dot).toContain(`"${id('a')}" -> "x.internal" [label="w: GET\\nw: POST\\nv: GET"];`);
  });
});
