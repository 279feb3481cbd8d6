/**
 * Metrics whose series are all known when they are created, kept in typed arrays so that
 * recording one is an index and an add. prom-client's pre-bound children are not: every
 * `observe`/`inc` re-validates the label names, hashes the label values into a string key
 * and looks that up (histogram.js `observe`, counter.js `inc`), about 1.3 µs and 0.75 µs
 * per call on this machine, for every decision.
 *
 * How they reach /metrics: each object below is registered in the prom-client Registry as
 * is, and implements `get()`, the method the Registry formats its text from
 * (`getMetricsAsString` takes `getForPromString()` when a metric has one, else `get()`).
 * prom-client therefore still writes every byte (HELP/TYPE lines, escaping, label order,
 * value formatting); we only hand it the same values, in the same order, as its own
 * Histogram and Counter do. The alternative, a `collect()` hook on real prom-client
 * objects, would have to write our counts into their private `hashMap` (an undocumented
 * shape keyed by label hashes and stringified bucket bounds), and would leave their own
 * `observe`/`inc` callable and silently overwritten at the next scrape. `get()` is the
 * typed contract (index.d.ts) and needs no more code. test/metrics/fixed.test.ts checks
 * the text byte for byte against prom-client's own objects fed the same observations.
 */
import type { Metric, Registry } from 'prom-client';

interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName?: string;
}

interface Snapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram' | 'counter';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

/** What the Registry uses of a metric: name and type (metrics()), get(), reset() (resetMetrics()). */
interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram' | 'counter';
  readonly aggregator: 'sum';
  get(): Promise<Snapshot>;
  reset(): void;
}

function register(registry: Registry, metric: RegistryMetric): void {
  // The Registry's declared parameter is the union of prom-client's own classes, although
  // it only reads the members of RegistryMetric (see registry.js); hence the cast.
  registry.registerMetric(metric as unknown as Metric);
}

/**
 * A histogram with one label whose values are all known up front; every series exists from
 * the start, at zero, in the order of `labelValues` (as prom-client's `zero()` for each, in
 * that order, would make them).
 */
export class FixedHistogram implements RegistryMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  readonly #les: readonly string[];
  readonly #labelName: string;
  readonly #labelValues: readonly string[];
  /** Per label value: one non-cumulative count per bound (values above the last are only in #totals). */
  readonly #buckets: Float64Array;
  readonly #sums: Float64Array;
  readonly #totals: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    labelName: string,
    labelValues: readonly string[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = Float64Array.from(buckets);
    // prom-client prints a bound with String(number): 5e-6 as 0.000005, 1e-3 as 0.001.
    this.#les = buckets.map(String);
    this.#labelName = labelName;
    this.#labelValues = [...labelValues];
    this.#buckets = new Float64Array(labelValues.length * buckets.length);
    this.#sums = new Float64Array(labelValues.length);
    this.#totals = new Float64Array(labelValues.length);
    register(registry, this);
  }

  /**
   * One observation for the label value at `labelIndex`. A value that is not a finite number
   * is left out (prom-client throws a TypeError for it; a metric must not fail a decision).
   * Bounds are inclusive (`le`), as in prom-client; values at or below the first bound,
   * negative ones included, count in the first bucket.
   */
  observe(labelIndex: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    const n = bounds.length;
    // A linear scan: with 15 bounds and most checks in the low tens of microseconds it stops
    // after a few compares, cheaper than a binary search's unpredictable branches.
    let b = 0;
    while (b < n && value > bounds[b]!) b++;
    if (b < n) this.#buckets[labelIndex * n + b]!++;
    this.#sums[labelIndex]! += value;
    this.#totals[labelIndex]!++;
  }

  async get(): Promise<Snapshot> {
    const n = this.#bounds.length;
    const bucketName = `${this.name}_bucket`;
    const values: Sample[] = [];
    const name = this.#labelName;
    for (let l = 0; l < this.#labelValues.length; l++) {
      const v = this.#labelValues[l]!;
      const labels = { [name]: v };
      let acc = 0;
      // Label order as prom-client prints it: `le` first, then the series' own label.
      for (let b = 0; b < n; b++) {
        acc += this.#buckets[l * n + b]!;
        values.push({ labels: { le: this.#les[b]!, [name]: v }, value: acc, metricName: bucketName });
      }
      values.push({ labels: { le: '+Inf', [name]: v }, value: this.#totals[l]!, metricName: bucketName });
      values.push({ labels, value: this.#sums[l]!, metricName: `${this.name}_sum` });
      values.push({ labels, value: this.#totals[l]!, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Back to the start: every series at zero (prom-client's reset() would drop them). */
  reset(): void {
    this.#buckets.fill(0);
    this.#sums.fill(0);
    this.#totals.fill(0);
  }
}

/**
 * A counter over a fixed list of label sets. The series flagged in `initial` exist from the
 * start at zero, in list order; any other is printed from its first increment on, after
 * those that existed before it, as prom-client orders series by first appearance.
 */
export class FixedCounter implements RegistryMetric {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #labels: readonly Readonly<Record<string, string>>[];
  readonly #initial: readonly number[];
  readonly #values: Float64Array;
  readonly #present: Uint8Array;
  /** Indices of the series that exist, in the order they appeared. */
  #order: number[];

  constructor(
    readonly name: string,
    readonly help: string,
    series: readonly Readonly<Record<string, string>>[],
    initial: readonly boolean[],
    registry: Registry,
  ) {
    this.#labels = series.map((s) => Object.freeze({ ...s }));
    this.#initial = series.flatMap((_, i) => (initial[i] === true ? [i] : []));
    this.#values = new Float64Array(series.length);
    this.#present = new Uint8Array(series.length);
    this.#order = [];
    this.reset();
    register(registry, this);
  }

  /** Adds one to the series at `index`. */
  inc(index: number): void {
    if (this.#present[index] === 0) {
      this.#present[index] = 1;
      this.#order.push(index);
    }
    this.#values[index]!++;
  }

  async get(): Promise<Snapshot> {
    const values = this.#order.map((i): Sample => ({ labels: this.#labels[i]!, value: this.#values[i]! }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Back to the start: the initial series at zero, no other. */
  reset(): void {
    this.#values.fill(0);
    this.#present.fill(0);
    this.#order = [...this.#initial];
    for (const i of this.#initial) this.#present[i] = 1;
  }
}
