/**
 * `--format html`: one self-contained page (inline CSS and JS, no network) with the
 * access graph as an SVG laid out here, and the findings table. Clicking a finding
 * highlights its path (or its mandates and targets) in the graph; clicking a node
 * highlights its edges.
 *
 * Layout: layers by breadth-first distance from the subjects nobody reaches, ordered
 * within a layer by the mean position of their predecessors (one barycentre pass), which
 * keeps chains straight without a layout library.
 */
import { severityCounts } from '../findings.js';
import type { AnalysisReport } from '../analyze.js';
import type { AccessGraph } from '../graph.js';

/** Above this many nodes only the nodes that findings mention (and their neighbours) are drawn. */
const MAX_DRAWN_NODES = 400;
const COL_W = 300;
const ROW_H = 58;
const NODE_W = 220;
const NODE_H = 38;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n + 1)}`;
}

interface Placed {
  readonly index: number;
  readonly x: number;
  readonly y: number;
}

function chooseNodes(report: AnalysisReport): { drawn: Set<number>; note: string | null } {
  const g = report.graph;
  const all = new Set(g.nodes.map((n) => n.index));
  if (g.nodes.length <= MAX_DRAWN_NODES) return { drawn: all, note: null };
  const drawn = new Set<number>();
  const add = (id: string) => {
    const i = g.byId.get(id);
    if (i !== undefined && drawn.size < MAX_DRAWN_NODES) drawn.add(i);
  };
  for (const f of report.findings) {
    for (const id of f.path ?? []) add(id);
    for (const m of f.mandates) add(m.id);
    for (const t of f.targets) add(t.id);
  }
  return { drawn, note: `The graph has ${g.nodes.length} nodes; only the ${drawn.size} that findings mention are drawn.` };
}

function layout(g: AccessGraph, drawn: Set<number>): Map<number, Placed> {
  const layer = new Map<number, number>();
  const queue: number[] = [];
  for (const i of drawn) {
    if (g.pred[i]!.every((p) => !drawn.has(p))) {
      layer.set(i, 0);
      queue.push(i);
    }
  }
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h]!;
    for (const s of g.succ[v]!) {
      if (!drawn.has(s) || layer.has(s)) continue;
      layer.set(s, layer.get(v)! + 1);
      queue.push(s);
    }
  }
  for (const i of drawn) if (!layer.has(i)) layer.set(i, 0); // pure cycles
  const layers: number[][] = [];
  for (const [i, l] of layer) (layers[l] ??= []).push(i);
  const pos = new Map<number, Placed>();
  layers.forEach((members, l) => {
    const key = (i: number): number => {
      const ys = g.pred[i]!.map((p) => pos.get(p)?.y).filter((y): y is number => y !== undefined);
      return ys.length === 0 ? Number.MAX_SAFE_INTEGER : ys.reduce((a, b) => a + b, 0) / ys.length;
    };
    const sorted = members
      .map((i) => ({ i, k: key(i), id: g.nodes[i]!.id }))
      .sort((a, b) => a.k - b.k || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    sorted.forEach((m, row) => pos.set(m.i, { index: m.i, x: 20 + l * COL_W, y: 20 + row * ROW_H }));
  });
  return pos;
}

function svgOf(report: AnalysisReport, drawn: Set<number>): string {
  const g = report.graph;
  const pos = layout(g, drawn);
  let width = 0;
  let height = 0;
  for (const p of pos.values()) {
    width = Math.max(width, p.x + NODE_W + 20);
    height = Math.max(height, p.y + NODE_H + 20);
  }
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (a === undefined || b === undefined) continue;
    const key = `${e.from}>${e.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const labels = g.outEdges[e.from]!
      .map((i) => g.edges[i]!)
      .filter((x) => x.to === e.to)
      .map((x) => `${x.fn.name}: ${x.action.methods.join(',')} ${x.action.paths.join(' ')}`);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const d =
      x2 > x1
        ? `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`
        : `M${x1},${y1} C${x1 + 80},${y1 - 60} ${x2 - 80},${y2 - 60} ${x2},${y2}`;
    parts.push(
      `<path class="edge" data-from="${esc(g.nodes[e.from]!.id)}" data-to="${esc(g.nodes[e.to]!.id)}" d="${d}" marker-end="url(#arrow)"><title>${esc(labels.join('\n'))}</title></path>`,
    );
  }
  for (const p of pos.values()) {
    const n = g.nodes[p.index]!;
    const shape =
      n.mandate !== null
        ? `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="4"/>`
        : `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="19"/>`;
    const title = [n.id, `sensitivity ${n.sensitivity}`, n.environment === null ? null : `environment ${n.environment}`, n.capabilities.length > 0 ? `capabilities ${n.capabilities.join(', ')}` : null, n.mandate !== null ? `mandate ${n.mandate.name} (risk ${n.mandate.risk}, owner ${n.mandate.owner})` : null]
      .filter((x) => x !== null)
      .join('\n');
    parts.push(
      `<g class="node ${n.mandate !== null ? 'subject' : 'target'} s-${n.sensitivity}" data-id="${esc(n.id)}">${shape}` +
        `<text x="${p.x + 10}" y="${p.y + 16}" class="name">${esc(clip(n.name ?? n.ref.host ?? n.id, 30))}</text>` +
        `<text x="${p.x + 10}" y="${p.y + 30}" class="id">${esc(clip(n.id, 36))}</text><title>${esc(title)}</title></g>`,
    );
  }
  return (
    `<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, 200)}" height="${Math.max(height, 80)}" viewBox="0 0 ${Math.max(width, 200)} ${Math.max(height, 80)}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    parts.join('') +
    `</svg>`
  );
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{padding:14px 20px;background:#1d232a;color:#fff}header h1{margin:0;font-size:18px}header p{margin:4px 0 0;color:#c6ccd4}
main{padding:16px 20px}section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin-bottom:16px;padding:12px}
h2{font-size:15px;margin:0 0 8px}#graph-wrap{overflow:auto;max-height:70vh}
.node rect{fill:#fff;stroke-width:1.5}.node.subject rect{fill:#eef4fb}.node text.name{font-size:12px;font-weight:600}.node text.id{font-size:10px;fill:#5b6570}
.s-low rect{stroke:#4c9a2a}.s-medium rect{stroke:#b08d1f}.s-high rect{stroke:#d9641e}.s-critical rect{stroke:#c0182b;stroke-width:2.5}
.edge{fill:none;stroke:#9aa4ae;stroke-width:1.3}marker path{fill:#9aa4ae}
.node{cursor:pointer}.hl rect{stroke:#6d28d9 !important;stroke-width:4 !important}.edge.hl{stroke:#6d28d9;stroke-width:3.5}.dim{opacity:.25}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e8ec;vertical-align:top}
tbody tr{cursor:pointer}tbody tr:hover{background:#f1f4f8}tbody tr.sel{background:#ede9fe}
.sev{font-weight:700;text-transform:uppercase;font-size:12px}.sev-critical{color:#c0182b}.sev-high{color:#d9641e}.sev-medium{color:#9a7a12}.sev-low{color:#4c9a2a}.sev-info{color:#5b6570}
code{font-size:12px}.path{color:#5b6570;font-size:12px}.note{color:#5b6570}pre{background:#f6f7f9;padding:8px;overflow:auto}
`;

const JS = `
(function(){
  var svg=document.getElementById('graph');
  function clear(){
    document.querySelectorAll('.hl').forEach(function(e){e.classList.remove('hl')});
    document.querySelectorAll('.dim').forEach(function(e){e.classList.remove('dim')});
    document.querySelectorAll('tr.sel').forEach(function(e){e.classList.remove('sel')});
  }
  function node(id){return svg?svg.querySelector('.node[data-id="'+CSS.escape(id)+'"]'):null}
  function edge(a,b){return svg?svg.querySelector('.edge[data-from="'+CSS.escape(a)+'"][data-to="'+CSS.escape(b)+'"]'):null}
  function show(ids,pairs){
    if(!svg)return;
    svg.querySelectorAll('.node,.edge').forEach(function(e){e.classList.add('dim')});
    ids.forEach(function(id){var n=node(id);if(n){n.classList.add('hl');n.classList.remove('dim')}});
    pairs.forEach(function(p){var e=edge(p[0],p[1]);if(e){e.classList.add('hl');e.classList.remove('dim')}});
  }
  document.querySelectorAll('tbody tr[data-finding]').forEach(function(tr){
    tr.addEventListener('click',function(){
      var f=FINDINGS[Number(tr.getAttribute('data-finding'))];
      clear();tr.classList.add('sel');
      var ids=[],pairs=[];
      if(f.path){ids=f.path.slice();for(var i=0;i+1<f.path.length;i++)pairs.push([f.path[i],f.path[i+1]]);}
      else{f.mandates.forEach(function(m){ids.push(m.id)});f.targets.forEach(function(t){ids.push(t.id)});
        f.mandates.forEach(function(m){f.targets.forEach(function(t){pairs.push([m.id,t.id])})});}
      show(ids,pairs);
      var first=ids.length?node(ids[0]):null;if(first&&first.scrollIntoView)first.scrollIntoView({block:'nearest',inline:'nearest'});
    });
  });
  if(svg)svg.querySelectorAll('.node').forEach(function(n){
    n.addEventListener('click',function(){
      var id=n.getAttribute('data-id');clear();
      var ids=[id],pairs=[];
      svg.querySelectorAll('.edge').forEach(function(e){
        var a=e.getAttribute('data-from'),b=e.getAttribute('data-to');
        if(a===id||b===id){pairs.push([a,b]);ids.push(a===id?b:a);}
      });
      show(ids,pairs);
    });
  });
  var reset=document.getElementById('reset');if(reset)reset.addEventListener('click',clear);
})();
`;

export function formatHtml(report: AnalysisReport): string {
  const s = report.summary;
  const { drawn, note } = chooseNodes(report);
  const rows = report.findings
    .map(
      (f, i) =>
        `<tr data-finding="${i}" data-code="${f.code}"><td>${i + 1}</td><td class="sev sev-${f.severity}">${f.severity}</td>` +
        `<td><code>${f.code}</code></td><td>${f.owasp}</td><td>${esc(f.message)}` +
        (f.path !== null ? `<div class="path">${esc(f.path.join(' → '))}</div>` : '') +
        `<div class="note">${esc(f.remedy)}</div></td><td><code>${esc(`${f.location.file}:${f.location.line}:${f.location.column}`)}</code></td></tr>`,
    )
    .join('\n');
  const data = JSON.stringify(report.findings.map((f) => ({ code: f.code, path: f.path, mandates: f.mandates, targets: f.targets })))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  const suggestions = s.suggestedMandates
    .map((m) => `<h3>${esc(m.subject)}</h3><pre>${esc(m.yaml)}</pre>`)
    .join('\n');
  const sev = severityCounts(s.bySeverity).join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>mandate analysis</title><style>${CSS}</style></head>
<body><header><h1>mandate analysis</h1><p>${s.mandates} mandates · ${s.edges} actions · ${s.findings} findings (${esc(sev)}) · now ${esc(s.now)} · revision <code>${esc(s.revision.slice(0, 12))}</code></p></header>
<main>
<section><h2>Who can reach what</h2><p class="note">Boxes are mandate subjects, rounded boxes other targets; the border colour is the sensitivity. Click a finding or a node to highlight. <button id="reset" type="button">Clear</button>${note === null ? '' : ` ${esc(note)}`}</p>
<div id="graph-wrap">${svgOf(report, drawn)}</div></section>
<section><h2>Findings</h2>
<table id="findings"><thead><tr><th>#</th><th>Severity</th><th>Code</th><th>OWASP</th><th>Finding</th><th>Location</th></tr></thead>
<tbody>
${rows}
</tbody></table>${report.findings.length === 0 ? '<p>No findings.</p>' : ''}</section>
${suggestions === '' ? '' : `<section><h2>Suggested mandates</h2>${suggestions}</section>`}
</main>
<script>var FINDINGS=${data};${JS}</script>
</body></html>
`;
}
