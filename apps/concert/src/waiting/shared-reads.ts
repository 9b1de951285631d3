/**
 * A read by key that callers at the same moment share (a thousand joins of one concert make one query, not
 * a thousand), and whose answers are kept while `keep` approves them (e.g. only once found). At most
 * `capacity` are kept; beyond, the oldest go first.
 */
export function sharedReads<T>(read: (key: string) => Promise<T>, keep: (value: T) => boolean, capacity = 10_000): (key: string) => Promise<T> {
  const reads = new Map<string, Promise<T>>()
  return (key) => {
    const known = reads.get(key)
    if (known) return known
    const reading = read(key).then(
      (value) => {
        if (!keep(value)) reads.delete(key)
        return value
      },
      (error: unknown) => {
        reads.delete(key)
        throw error
      },
    )
    if (reads.size >= capacity) reads.delete(reads.keys().next().value!)
    reads.set(key, reading)
    return reading
  }
}
