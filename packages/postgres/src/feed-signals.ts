/**
 * In-process wake-ups: a unit of work that commits to a feed signals it, and every subscription reading
 * that feed in the same process stops waiting. Signals may be lost or spurious; readers always re-read.
 */
export class FeedSignals {
  private readonly listeners = new Map<string, Set<() => void>>()

  notify(source: string): void {
    for (const listener of this.listeners.get(source) ?? []) listener()
  }

  on(source: string, listener: () => void): () => void {
    let set = this.listeners.get(source)
    if (!set) {
      set = new Set()
      this.listeners.set(source, set)
    }
    set.add(listener)
    return () => set.delete(listener)
  }

  /** Resolves on the next signal for `source`, after `timeoutMs`, or when `abort` fires, whichever is first. */
  wait(source: string, timeoutMs: number, abort?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (abort?.aborted) return resolve()
      const done = (): void => {
        clearTimeout(timer)
        off()
        abort?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      const off = this.on(source, done)
      abort?.addEventListener('abort', done, { once: true })
    })
  }
}
