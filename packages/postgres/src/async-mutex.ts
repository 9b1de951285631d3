/** A FIFO lock: PGlite is one session, so its transactions and queries must never interleave. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve()

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work)
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
