/** Owns summarizing latency samples: p50, p99, max, nearest-rank. */

export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

export const summarize = (samples: readonly number[]): LatencySummary => {
  const sorted = Float64Array.from(samples).sort()
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1] ?? NaN }
}
