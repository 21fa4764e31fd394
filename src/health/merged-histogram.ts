import type { Registry as PromRegistry } from 'prom-client';
import { DURATION_BUCKETS_S } from '../jobs/durations.js';

interface Series { labels: Record<string, string>; buckets: number[]; sum: number; count: number }

/**
 * A Prometheus histogram fed with bucket counts rather than observations. The workers count
 * their jobs into DURATION_BUCKETS_S themselves (worker/job-report.ts); prom-client's Histogram
 * takes only one observation at a time (and its AggregatorRegistry only Node's cluster module),
 * so this adds the reported counts and hands prom-client's registry the same shape its own
 * histograms give: cumulative `_bucket{le}` series, `_sum` and `_count`.
 */
export class MergedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(readonly name: string, readonly help: string, private readonly labelNames: readonly string[], registry: PromRegistry) {
    registry.registerMetric(this as never);
  }

  /** Adds one report's counts: `buckets[i]` jobs in bucket i (the last: above every bound), taking `sumSeconds` in all. */
  add(labels: Record<string, string>, buckets: readonly number[], sumSeconds: number): void {
    const key = this.labelNames.map((name) => labels[name] ?? '').join('\0');
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    buckets.forEach((n, i) => {
      if (i < series.buckets.length) series.buckets[i]! += n;
      series.count += n;
    });
    series.sum += sumSeconds;
  }

  /** What prom-client's registry renders (its metric `get()` contract). */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      DURATION_BUCKETS_S.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}
