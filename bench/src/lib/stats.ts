export interface Distribution {
  count: number
  p50: number
  p90: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank percentiles of unsorted samples; NaN when there are none. */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!)
  return { count: sorted.length, p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: sorted.at(-1) ?? Number.NaN }
}

export function formatRate(perSecond: number, unit: string): string {
  return `${Math.round(perSecond).toLocaleString('en-US')} ${unit}`
}

export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`
}
