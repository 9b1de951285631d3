import type { ProgressSource } from './consistency'

/** How long a route waits for an asynchronous outcome before it answers `202` with where to look. */
export const DEFAULT_OUTCOME_WAIT_MS = 5_000
/** Another instance may be the one applying the outcome: re-read this often even without a local signal. */
const POLL_MS = 50

/**
 * Reads `read` until `settled` holds, re-reading whenever one of `progress` (the consumers that bring the
 * outcome) makes progress here, and every 50 ms besides; gives up after `timeoutMs` and returns the last
 * value read, settled or not. For a route that started something other services finish (a shipment the
 * order may refuse, a saga) and answers with its outcome when it comes soon, or `202` when it does not.
 */
export async function awaitOutcome<T>(read: () => Promise<T>, settled: (value: T) => boolean, options: { progress: readonly Pick<ProgressSource, 'onProgress'>[]; timeoutMs?: number }): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_OUTCOME_WAIT_MS)
  let wake: (() => void) | undefined
  let progressed = false
  const offs = options.progress.map((source) =>
    source.onProgress(() => {
      progressed = true
      wake?.()
    }),
  )
  try {
    for (;;) {
      progressed = false
      const value = await read()
      const remaining = deadline - Date.now()
      if (settled(value) || remaining <= 0) return value
      if (progressed) continue
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          wake = undefined
          resolve()
        }
        const timer = setTimeout(done, Math.min(POLL_MS, remaining))
        wake = done
      })
    }
  } finally {
    for (const off of offs) off()
  }
}
