/**
 * An in-process cache of rendered documents (as the JSON bytes served), for the posts everyone reads.
 *
 * The projection evicts a document after the transaction that changed it commits and before its progress
 * is reported. A fill that was started before an eviction never installs what it read: an eviction
 * forgets the fill in flight, and a fill installs only if it is still the one registered for its key.
 * So a reader that waited for its consistency token can never be served the older version.
 */
export class HotDocuments {
  private readonly entries = new Map<string, string>()
  private readonly fills = new Map<string, Promise<string | undefined>>()
  private hitCount = 0
  private missCount = 0

  constructor(private readonly capacity = 10_000) {}

  async read(id: string, load: () => Promise<string | undefined>): Promise<string | undefined> {
    const hit = this.peek(id)
    if (hit !== undefined) return hit
    this.missCount++
    const inFlight = this.fills.get(id)
    if (inFlight) return inFlight
    const fill = load().then(
      (value) => {
        if (this.fills.get(id) === fill) {
          this.fills.delete(id)
          if (value !== undefined) this.install(id, value)
        }
        return value
      },
      (error: unknown) => {
        if (this.fills.get(id) === fill) this.fills.delete(id)
        throw error
      },
    )
    this.fills.set(id, fill)
    return fill
  }

  /** The cached document, if there is one; never loads. */
  peek(id: string): string | undefined {
    const hit = this.entries.get(id)
    if (hit === undefined) return undefined
    this.hitCount++
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.delete(id)
    this.entries.set(id, hit)
    return hit
  }

  /** Forgets everything, fills in flight included: for when evictions may have been missed. */
  clear(): void {
    this.entries.clear()
    this.fills.clear()
  }

  evict(ids: Iterable<string>): void {
    for (const id of ids) {
      this.entries.delete(id)
      this.fills.delete(id)
    }
  }

  stats(): { size: number; hits: number; misses: number } {
    return { size: this.entries.size, hits: this.hitCount, misses: this.missCount }
  }

  private install(id: string, value: string): void {
    this.entries.set(id, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
  }
}
