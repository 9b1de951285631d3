/** Waits `ms`, or less if `abort` fires first. Never rejects. */
export function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      abort?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    abort?.addEventListener('abort', done, { once: true })
  })
}
