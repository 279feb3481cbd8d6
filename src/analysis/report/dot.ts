/**
 * `--format dot`: a Graphviz digraph of who can reach what. Subjects are boxes, other
 * targets ellipses, coloured by sensitivity; parallel actions between the same two nodes
 * are merged into one edge labelled with their functions and methods. Nodes on a finding
 * path are drawn bold.
 */
import type { AnalysisReport } from '../analyze.js';

const COLOR: Readonly<Record<string, string>> = { low: '#4c9a2a', medium: '#c9a227', high: '#d9641e', critical: '#c0182b' };

function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function formatDot(report: AnalysisReport): string {
  const g = report.graph;
  const onPath = new Set<string>();
  for (const f of report.findings) for (const id of f.path ?? []) onPath.add(id);
  const out = ['digraph mandate {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const n of g.nodes) {
    const label = n.name === null ? n.id : `${n.name}\n${n.id}`;
    const attrs = [
      `label=${q(label)}`,
      `shape=${n.mandate !== null ? 'box' : 'ellipse'}`,
      `color=${q(COLOR[n.sensitivity]!)}`,
      ...(onPath.has(n.id) ? ['penwidth=2.5', 'style=bold'] : []),
    ];
    if (n.capabilities.length > 0) attrs.push(`xlabel=${q(n.capabilities.join(','))}`);
    out.push(`  ${q(n.id)} [${attrs.join(', ')}];`);
  }
  const merged = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const e of g.edges) {
    const from = g.nodes[e.from]!.id;
    const to = g.nodes[e.to]!.id;
    const key = `${e.from}>${e.to}`;
    const m = merged.get(key) ?? { from, to, labels: [] };
    const label = `${e.fn.name}: ${e.action.methods.join(',')}`;
    if (!m.labels.includes(label)) m.labels.push(label);
    merged.set(key, m);
  }
  for (const m of merged.values()) out.push(`  ${q(m.from)} -> ${q(m.to)} [label=${q(m.labels.join('\n'))}];`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
