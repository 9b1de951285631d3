import { etagOf } from '@tidings/http'
import { SizedLru } from '../shared/sized-lru'

/** A rendered document as served: its JSON as bytes (encoded once, not per answer) and their validator. */
export interface HotCopy {
  bytes: Buffer<ArrayBuffer>
  etag: string
}

export function hotCopy(json: string): HotCopy {
  const bytes = Buffer.from(json)
  return { bytes, etag: etagOf(bytes) }
}

export interface HotDocumentsOptions {
  /** How many documents it keeps (the least recently read go first). */
  capacity?: number | undefined
  /** The bytes it keeps at most, whatever the count (default 128 MiB); a copy over an eighth of them is served but not kept. */
  maxBytes?: number | undefined
  /**
   * The longest a copy is served, counted from when it was read: it bounds how stale a read without a
   * token can be on an instance whose eviction was lost (its sender crashed, or could not reach the bus).
   */
  maxAgeMs?: number | undefined
  /** The clock (ms), for tests. */
  now?: () => number
}

/**
 * An in-process cache of rendered documents (the JSON bytes served, with their ETag), for the posts
 * everyone reads and the first pages of the list.
 *
 * The projection evicts a document after the transaction that changed it commits and before its progress
 * is reported. A fill that was started before an eviction never installs what it read: an eviction
 * forgets the fill in flight, and a fill installs only if it is still the one registered for its key.
 * So a reader that waited for its consistency token can never be served the older version.
 */
export class HotDocuments {
  private readonly entries: SizedLru<{ copy: HotCopy; readAt: number }>
  private readonly fills = new Map<string, Promise<HotCopy | undefined>>()
  private readonly maxAgeMs: number
  private readonly now: () => number
  private hitCount = 0
  private missCount = 0

  constructor(options: HotDocumentsOptions = {}) {
    const maxSize = options.maxBytes ?? 128 * 1024 * 1024
    this.entries = new SizedLru((entry) => entry.copy.bytes.length, { capacity: options.capacity ?? 10_000, maxSize, maxEntrySize: maxSize / 8 })
    this.maxAgeMs = options.maxAgeMs ?? 10_000
    this.now = options.now ?? (() => performance.now())
  }

  /** The copy of `id`, from the cache or else from `load` (its JSON): one load at a time per id. */
  async read(id: string, load: () => Promise<string | undefined>): Promise<HotCopy | undefined> {
    const hit = this.peek(id)
    if (hit !== undefined) return hit
    this.missCount++
    const inFlight = this.fills.get(id)
    if (inFlight) return inFlight
    const readAt = this.now()
    const fill = load().then(
      (json) => {
        const copy = json === undefined ? undefined : hotCopy(json)
        if (this.fills.get(id) === fill) {
          this.fills.delete(id)
          if (copy !== undefined) this.entries.set(id, { copy, readAt })
        }
        return copy
      },
      (error: unknown) => {
        if (this.fills.get(id) === fill) this.fills.delete(id)
        throw error
      },
    )
    this.fills.set(id, fill)
    return fill
  }

  /** The cached document, if there is one not too old; never loads. */
  peek(id: string): HotCopy | undefined {
    const hit = this.entries.get(id)
    if (hit === undefined) return undefined
    if (this.now() - hit.readAt >= this.maxAgeMs) {
      this.entries.delete(id)
      return undefined
    }
    this.hitCount++
    return hit.copy
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

  stats(): { size: number; bytes: number; hits: number; misses: number } {
    const { entries, size } = this.entries.usage()
    return { size: entries, bytes: size, hits: this.hitCount, misses: this.missCount }
  }
}
