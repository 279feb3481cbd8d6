/**
 * Batch timing for in-process benchmarks. One sample is the mean cost of a batch of calls
 * timed with process.hrtime.bigint(); the batch is sized so a sample lasts about 50 µs,
 * far above the timer's own cost (~40 ns), and many samples give the distribution whose
 * median and p99 the table reports. Every call returns whether its answer was right;
 * a single wrong answer fails the benchmark.
 */

/** Percentile by nearest rank on a sorted copy. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * @param {(i: number) => boolean} call runs decision number i and returns true when it is right
 * @param {{ warmupMs?: number, minMs?: number, maxMs?: number, minSamples?: number, maxSamples?: number, targetSampleNs?: number }} opts
 */
export function measure(call, opts = {}) {
  const warmupMs = opts.warmupMs ?? 300;
  const minMs = opts.minMs ?? 1000;
  const maxMs = opts.maxMs ?? 4000;
  const minSamples = opts.minSamples ?? 30;
  const maxSamples = opts.maxSamples ?? 20000;
  const targetSampleNs = opts.targetSampleNs ?? 50_000;
  let i = 0;
  let wrong = 0;
  let firstWrong = -1;

  // Warm up (lets V8 optimise) and calibrate the batch size at the same time.
  const wStart = process.hrtime.bigint();
  let calls = 0;
  while (Number(process.hrtime.bigint() - wStart) < warmupMs * 1e6 || calls < 3) {
    if (!call(i)) { wrong++; if (firstWrong < 0) firstWrong = i; }
    i++;
    calls++;
  }
  // Calibrate on warm code: the warm-up's own average includes the first, slow calls.
  const cStart = process.hrtime.bigint();
  let cCalls = 0;
  while (Number(process.hrtime.bigint() - cStart) < 20e6 || cCalls < 3) {
    if (!call(i)) { wrong++; if (firstWrong < 0) firstWrong = i; }
    i++;
    cCalls++;
  }
  const perCallNs = Number(process.hrtime.bigint() - cStart) / cCalls;
  const batch = Math.max(1, Math.min(100_000, Math.round(targetSampleNs / perCallNs)));

  const samples = [];
  // CPU time of the thread's process over the whole run: unlike wall time it leaves out the
  // time the process waited for a core, which on a shared machine dominates the tail.
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsedNs = 0;
  while (samples.length < maxSamples) {
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) {
      if (!call(i)) { wrong++; if (firstWrong < 0) firstWrong = i; }
      i++;
    }
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / batch);
    elapsedNs = Number(t1 - start);
    if (elapsedNs >= maxMs * 1e6 && samples.length >= 3) break;
    if (elapsedNs >= minMs * 1e6 && samples.length >= minSamples) break;
  }
  const cpu = process.cpuUsage(cpu0);
  const sorted = samples.slice().sort((a, b) => a - b);
  const total = samples.length * batch;
  return {
    batch,
    samples: samples.length,
    calls: total,
    medianUs: percentile(sorted, 50) / 1000,
    p99Us: percentile(sorted, 99) / 1000,
    meanUs: sorted.reduce((s, x) => s + x, 0) / sorted.length / 1000,
    opsPerSec: total / (elapsedNs / 1e9),
    cpuMeanUs: (cpu.user + cpu.system) / total,
    wallMeanUs: elapsedNs / 1000 / total,
    wrong,
    firstWrong,
  };
}

export function memory() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const m = process.memoryUsage();
  return { heapUsedMB: m.heapUsed / 1048576, rssMB: m.rss / 1048576, externalMB: m.external / 1048576 };
}

/**
 * memory() once the resident set has settled: after a full GC, V8 hands freed pages back
 * to the system from a background thread, so right after loading a large policy the
 * resident set still counts the garbage of the load. Polls (with a GC each time) until
 * two readings 250 ms apart differ by under 1%, at most 20 times (5 s).
 */
export async function settledMemory() {
  let last = memory();
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = memory();
    const steady = Math.abs(now.rssMB - last.rssMB) < 0.01 * last.rssMB;
    last = now;
    if (steady) break;
  }
  return last;
}

/** A child benchmark hands its result to the runner (IPC) or prints it when run alone. */
export function report(result) {
  if (typeof process.send === 'function') process.send({ type: 'result', result }, () => process.disconnect());
  else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

export function fail(message) {
  if (typeof process.send === 'function') process.send({ type: 'error', message }, () => process.disconnect());
  else process.stderr.write(message + '\n');
  process.exitCode = 1;
}
