/** Loopback helpers for the end-to-end benchmarks: free ports, readiness polling, metrics text. */
import net from 'node:net';
import http from 'node:http';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function httpGet(url, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/** Polls until cond() is truthy, at most timeoutMs; returns the last value. */
export async function waitFor(cond, timeoutMs, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Prometheus text → Map of `name{labels}` → value (labels as written). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Sum of a histogram's buckets over all label sets but `le`, as sorted [le, cumulative]. */
export function histogramBuckets(metrics, name) {
  const byLe = new Map();
  for (const [k, v] of metrics) {
    if (!k.startsWith(name + '_bucket{')) continue;
    const m = /le="([^"]+)"/.exec(k);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    byLe.set(le, (byLe.get(le) ?? 0) + v);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
}

/** Quantile from cumulative bucket counts (the difference of two scrapes), linear within a bucket. */
export function histogramQuantile(buckets, q) {
  const total = buckets.length === 0 ? 0 : buckets[buckets.length - 1][1];
  if (total === 0) return { value: NaN, upperBound: NaN, count: 0 };
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of buckets) {
    if (c >= rank) {
      const upper = le === Infinity ? prevLe : le;
      const frac = c === prevCount ? 1 : (rank - prevCount) / (c - prevCount);
      return { value: le === Infinity ? prevLe : prevLe + (upper - prevLe) * frac, upperBound: upper, count: total };
    }
    prevLe = le;
    prevCount = c;
  }
  return { value: prevLe, upperBound: Infinity, count: total };
}

export function diffBuckets(after, before) {
  const b = new Map(before);
  return after.map(([le, c]) => [le, c - (b.get(le) ?? 0)]);
}

/** Counter values by one label, summed over the others. */
export function counterBy(metrics, name, label) {
  const out = {};
  const re = new RegExp(`${label}="([^"]*)"`);
  for (const [k, v] of metrics) {
    if (!k.startsWith(name + '{')) continue;
    const m = re.exec(k);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + v;
  }
  return out;
}
