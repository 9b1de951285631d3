import type { FeedPage, FeedReader, PartitionReader, Position, ReadOptions, Transport } from '@tidings/core'

/**
 * Sits between a subscription and the feeds it reads: notes when each message was first handed to the
 * consumer (`deliveredAt`, `performance.now()`), and while held, keeps every read waiting (without a
 * transaction or a connection) until `open()` — so competing instances can settle who applies which
 * partition before any of them applies anything.
 */
export class FeedTap {
  readonly deliveredAt = new Map<string, number>()
  private gate: Promise<void> | undefined
  private release = (): void => {}

  hold(): void {
    this.gate ??= new Promise((resolve) => (this.release = resolve))
  }

  open(): void {
    this.release()
    this.gate = undefined
  }

  reader(inner: FeedReader & { close?: () => Promise<void> }): PartitionReader {
    return {
      source: inner.source,
      read: async (after: Position, limit: number, options?: ReadOptions): Promise<FeedPage> => {
        if (this.gate && !(await opened(this.gate, options?.signal))) return { items: [], next: after }
        const page = await inner.read(after, limit, options)
        const now = performance.now()
        for (const item of page.items) if (!this.deliveredAt.has(item.id)) this.deliveredAt.set(item.id, now)
        return page
      },
      lag: (after) => inner.lag(after),
      close: async () => inner.close?.(),
    }
  }

  /** The transport with every partition reader tapped. */
  transport(inner: Transport): Transport {
    return {
      name: inner.name,
      partitions: inner.partitions,
      declare: (source) => inner.declare(source),
      publisher: () => inner.publisher(),
      partition: (source, partition, consumer) => this.reader(inner.partition(source, partition, consumer)),
      close: () => inner.close(),
    }
  }
}

/** True once the gate opens, false if the signal aborts first (a subscription stopping or handing a partition back). */
function opened(gate: Promise<void>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return gate.then(() => true)
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => resolve(false)
    signal.addEventListener('abort', onAbort, { once: true })
    void gate.then(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    })
  })
}
