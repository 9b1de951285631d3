import { partitionSource, type FeedPage, type PartitionReader, type Position, type Publisher, type ReadOptions, type Transport } from '@tidings/core'
import type { OutboxFeed } from './outbox-feed'

/**
 * The embedded default as a transport: the outbox is already the log consumers read by position, so
 * there is nothing to publish to and one partition per source (a feed is read in order by one active
 * consumer). It passes the same contract suite as the brokers.
 */
export function embeddedTransport(feeds: readonly OutboxFeed[]): Transport {
  const bySource = new Map(feeds.map((f) => [f.source, f]))
  const feedOf = (source: string): OutboxFeed => {
    const feed = bySource.get(source)
    if (!feed) throw new Error(`No outbox feed for ${source} in this process`)
    return feed
  }
  const nothingToPublish: Publisher = { partitions: 1, deduplicates: true, publish: async () => {}, close: async () => {} }
  return {
    name: 'embedded',
    partitions: 1,
    declare: async (source) => void feedOf(source),
    publisher: () => nothingToPublish,
    partition(source, partition): PartitionReader {
      if (partition !== 0) throw new RangeError(`The embedded transport has one partition, not ${partition}`)
      const feed = feedOf(source)
      return {
        source: partitionSource(source, 0),
        read: (after: Position, limit: number, options?: ReadOptions): Promise<FeedPage> => feed.read(after, limit, options),
        lag: (after: Position) => feed.lag(after),
        close: async () => {},
      }
    },
    close: async () => {},
  }
}
