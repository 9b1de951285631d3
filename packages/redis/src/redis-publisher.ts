import { partitionOf, type Envelope, type Publisher } from '@tidings/core'
import type { RedisLink } from './redis-connection'
import { attempt, brokerError, BrokerUnavailable } from './redis-errors'

/**
 * Publishes envelopes with XADD, each to its key's partition stream (field `e` the envelope as JSON, field
 * `id` its id), up to `maxInFlight` at a time: each such chunk goes as one MULTI/EXEC, sent in one
 * pipeline, and the next chunk only once Redis has answered every XADD of the one before.
 *
 * A chunk is stored whole or not at all, and chunks in order, so whatever a failed publish left on the
 * streams is a prefix of the batch: no key's later event is stored without its earlier ones. The relay
 * publishes a failed batch again, and Redis has no dedupe by message id: the events stored the first time
 * are then on the stream twice (as after a relay crash before it saved its progress), in per-key order, and
 * each consumer's inbox drops the repeats (the contract suite tests exactly that).
 *
 * Durability: Redis acknowledges an XADD once it is in memory and in the append-only file's buffer; only
 * with `appendfsync always` is that on disk. Under the default (`everysec`), a crash of the Redis host can
 * lose the last second of events the relay saw confirmed. (The shared test server keeps nothing on disk;
 * the throwaway server of the restart tests runs with `appendfsync always`.)
 */
export class RedisPublisher implements Publisher {
  /** Streams store what they are given: a repeat is a new entry (consumers' inboxes drop it). */
  readonly deduplicates = false
  constructor(
    private readonly redis: RedisLink,
    private readonly keyOf: (source: string, partition: number) => string,
    readonly partitions: number,
    private readonly maxInFlight: number,
    private readonly maxLen: number | undefined,
  ) {}

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return
    const keys = Array.from({ length: this.partitions }, (_, p) => this.keyOf(source, p))
    const trim = this.maxLen === undefined ? [] : ['MAXLEN', '~', this.maxLen]
    const operation = `publish to ${this.keyOf(source, 0).replace(/:0$/, ':*')}`
    for (let start = 0; start < events.length; start += this.maxInFlight) {
      const transaction = this.redis.multi()
      for (const event of events.slice(start, start + this.maxInFlight)) {
        transaction.xadd(keys[partitionOf(event.key, this.partitions)]!, ...trim, '*', 'e', JSON.stringify(event), 'id', event.id)
      }
      const results = await attempt(operation, () => transaction.exec())
      if (!results) throw new BrokerUnavailable(operation, 'the transaction was discarded')
      for (const [error] of results) if (error) throw brokerError(operation, error)
    }
  }

  async close(): Promise<void> {}
}
