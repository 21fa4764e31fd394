/** Summaries of repeated measurements: the median, and the spread as min–max. */
export function summarize(samples) {
  const sorted = [...samples].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0], max: sorted.at(-1), n: sorted.length, samples };
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function round(x) {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** "1234 (1200–1300)": median with the spread, for a table cell. */
export function cell(summary, unit = '') {
  if (!summary || summary.n === 0) return 'n/a';
  const u = unit ? ` ${unit}` : '';
  if (summary.n === 1 || summary.min === summary.max) return `${round(summary.median)}${u}`;
  return `${round(summary.median)}${u} (${round(summary.min)}–${round(summary.max)})`;
}

/** A ratio of medians, "0.93×" (two significant digits when it is far below 1). */
export function ratio(a, b) {
  if (!a || !b || !b.median) return 'n/a';
  const r = a.median / b.median;
  return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
}

/** A summary with `delta` added to every figure (e.g. a fixed delay taken out). */
export function shift(summary, delta) {
  return { ...summary, median: summary.median + delta, min: summary.min + delta, max: summary.max + delta };
}

/** A latency from autocannon, which counts whole milliseconds: 0 means under one. */
export function latencyCell(summary) {
  const ms = (x) => (x === 0 ? '<1' : String(x));
  if (summary.min === summary.max) return `${ms(summary.median)} ms`;
  return `${ms(summary.median)} ms (${ms(summary.min)}–${ms(summary.max)})`;
}
