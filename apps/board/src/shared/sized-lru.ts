export interface SizedLruOptions {
  /** The most entries kept, whatever their size (default: no limit but the size). */
  capacity?: number | undefined
  /** The total size kept at most; the least recently used entries go first. */
  maxSize: number
  /** An entry larger than this is not kept at all (default: `maxSize`), so that one cannot crowd out the rest. */
  maxEntrySize?: number | undefined
}

/**
 * A map bounded by the total size of what it holds (and perhaps a count), dropping the least recently
 * used entries first. A `Map` iterates in insertion order, so an entry read is re-inserted and the first
 * key is always the least recently used.
 */
export class SizedLru<V> {
  private readonly entries = new Map<string, V>()
  private total = 0
  private readonly capacity: number
  private readonly maxSize: number
  private readonly maxEntrySize: number

  constructor(
    private readonly sizeOf: (value: V) => number,
    options: SizedLruOptions,
  ) {
    this.capacity = options.capacity ?? Infinity
    this.maxSize = options.maxSize
    this.maxEntrySize = Math.min(options.maxEntrySize ?? options.maxSize, options.maxSize)
  }

  /** The value at `key`, now the most recently used. */
  get(key: string): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  /** Replaces what `key` held; a value over the entry limit is not kept (and the old one is gone). */
  set(key: string, value: V): void {
    this.delete(key)
    const size = this.sizeOf(value)
    if (size > this.maxEntrySize) return
    this.entries.set(key, value)
    this.total += size
    while (this.entries.size > this.capacity || this.total > this.maxSize) this.delete(this.entries.keys().next().value!)
  }

  delete(key: string): void {
    const value = this.entries.get(key)
    if (value === undefined) return
    this.entries.delete(key)
    this.total -= this.sizeOf(value)
  }

  clear(): void {
    this.entries.clear()
    this.total = 0
  }

  /** How many entries are held, and their total size. */
  usage(): { entries: number; size: number } {
    return { entries: this.entries.size, size: this.total }
  }
}
