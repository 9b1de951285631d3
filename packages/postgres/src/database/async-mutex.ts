/**
 * A FIFO lock: PGlite is one session, so its transactions and queries must never interleave. Each holder
 * starts on a fresh macrotask (`setImmediate`), so while a queue of work drains, timers and sockets still
 * get their turn between holders instead of waiting for the whole queue (lease heartbeats, HTTP).
 */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve()

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(work)
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
