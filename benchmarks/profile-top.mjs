/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, or `run.mjs --cpu-prof DIR`):
 * the functions with the most self time and the most inclusive time, as % of samples.
 *
 *   node benchmarks/profile-top.mjs FILE.cpuprofile [REGEX] [N] [UNDER] [AFTER_S]
 *
 * REGEX keeps only matching `function file:line` entries (e.g. 'dist/' for mandate's own);
 * UNDER counts only samples with a matching frame on the stack (e.g. 'onStreamReadable'
 * or 'measure' to leave start-up out), percentages then being of those samples; AFTER_S
 * skips the first seconds of the profile (start-up, policy loading).
 */
import fs from 'node:fs';

export function profileTop(file, filter = null, n = 25, under = null, afterS = 0) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const key = (x) => `${x.callFrame.functionName || '(anonymous)'} ${x.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules|benchmarks)\//, '$1/')}:${x.callFrame.lineNumber + 1}`;
  const inScope = new Map();
  const scoped = (id) => {
    if (under === null) return true;
    let v = inScope.get(id);
    if (v === undefined) {
      v = under.test(key(byId.get(id))) || (parent.has(id) && scoped(parent.get(id)));
      inScope.set(id, v);
    }
    return v;
  };
  const selfById = new Map();
  let total = 0;
  let clock = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    clock += d;
    if (clock < afterS * 1e6 || !scoped(p.samples[i])) continue;
    total += d;
    selfById.set(p.samples[i], (selfById.get(p.samples[i]) ?? 0) + d);
  }
  const self = new Map();
  const incl = new Map();
  for (const [id, t] of selfById) {
    const k = key(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + t);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur));
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + t);
    }
  }
  const top = (m) => [...m].filter(([k]) => filter === null || filter.test(k)).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => ({ fn: k, pct: (100 * t) / total }));
  return { totalMs: total / 1000, self: top(self), inclusive: top(incl) };
}

export function renderTop(t) {
  const lines = [`profile: ${t.totalMs.toFixed(0)} ms sampled`, 'self time:'];
  for (const x of t.self) lines.push(`  ${x.pct.toFixed(1).padStart(5)}%  ${x.fn}`);
  lines.push('inclusive time:');
  for (const x of t.inclusive) lines.push(`  ${x.pct.toFixed(1).padStart(5)}%  ${x.fn}`);
  return lines.join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, re, n, under, after] = process.argv.slice(2);
  process.stdout.write(renderTop(profileTop(file, re ? new RegExp(re) : null, n ? Number(n) : 25, under ? new RegExp(under) : null, after ? Number(after) : 0)));
}
