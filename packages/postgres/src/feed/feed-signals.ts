/**
 * In-process wake-ups: a unit of work that commits to a feed signals it, and every subscription reading
 * that feed in the same process stops waiting. Signals may be lost or spurious; readers always re-read.
 */
export class FeedSignals {
  private readonly listeners = new Map<string, Set<() => void>>()
  private readonly counts = new Map<string, number>()

  notify(source: string): void {
    this.counts.set(source, (this.counts.get(source) ?? 0) + 1)
    for (const listener of this.listeners.get(source) ?? []) listener()
  }

  /** How many signals `source` has had: take it before reading, wait with it after (no signal is missed). */
  count(source: string): number {
    return this.counts.get(source) ?? 0
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

  /**
   * Resolves on the next signal for `source` — at once if one came since `seen` (a `count` taken earlier) —
   * after `timeoutMs`, or when `abort` fires, whichever is first.
   */
  wait(source: string, timeoutMs: number, abort?: AbortSignal, seen?: number): Promise<void> {
    return new Promise((resolve) => {
      if (abort?.aborted || (seen !== undefined && this.count(source) > seen)) return resolve()
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
