// Small helpers shared by the benchmarks.
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/** The middle value; for an even count, the mean of the two middle values (not the lower one). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** p50 is the true median; p99 the nearest-rank percentile. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { p50: median(sorted), p99: percentile(sorted, 99), min: sorted[0], max: sorted.at(-1) }
}

/** One JSON line per figure: {"bench": ..., "value": ..., "unit": ...}. */
export function report(bench, value, unit, extra = {}) {
  process.stdout.write(JSON.stringify({ bench, value: Number.isFinite(value) ? Number(value.toFixed(4)) : value, unit, ...extra }) + '\n')
}

export const round = (v, d = 3) => Number(v.toFixed(d))
