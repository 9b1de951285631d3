/** What happened when in a chaos test, in seconds since it began: printed at the end, pass or fail. */
export function chaosTimeline(): { mark(what: string): void; print(label: string): void } {
  const t0 = Date.now()
  const timeline: string[] = []
  return {
    mark: (what) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`),
    print: (label) => console.log(`[${label}] chaos:\n  ${timeline.join('\n  ')}`),
  }
}
