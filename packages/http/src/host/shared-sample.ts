/**
 * Runs `sample` at most once at a time: callers that arrive while a run is in flight share its result.
 * A Prometheus scrape collects every metric concurrently, so gauges fed by one query share one sample.
 */
export function sharedSample<T>(sample: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined
  return () => {
    inFlight ??= sample().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }
}
